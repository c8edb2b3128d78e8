"""The same job delivered twice at once (a redelivery while the first delivery still runs,
or a message sent twice): both deliveries run, one result is kept and counted."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.support import assert_settled, data_requests, metrics_of
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from worker.jobs import TASK_NAME, State

pytestmark = pytest.mark.reliability


def test_two_deliveries_running_at_once_store_and_count_one_result(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    fleet = fleet_factory("--latency-ms", "300")
    worker = fleet.start_worker(concurrency=2)
    call = media.call([Utterance(0, 0.5, "Hello there."), Utterance(1, 5.5, "Hi.")], seconds=8.0)
    [job] = fleet.jobs_for([call], "twice")
    fleet.store.mark_queued([job])
    for _ in range(2):
        fleet.sender.send_task(TASK_NAME, args=[job.model_dump(mode="json")], queue=fleet.queue)

    deadline = time.monotonic() + 60
    while worker.logs().count(" succeeded in ") < 2:
        assert time.monotonic() < deadline, worker.logs()[-3000:]
        time.sleep(0.05)

    [result] = assert_settled(fleet, "twice", [job]).values()
    assert (result.status, result.attempts) in {(State.DONE, 1), (State.DONE, 2)}
    # both deliveries sent the whole call (two payloads each): neither was skipped
    assert data_requests(fleet.emulator.events())[job.job_id] == 4
    metrics = metrics_of(worker)
    assert metrics.value("hume_fleet_jobs_total", status="done", backend="v0") == 1
    assert worker.logs().count('"job.already_finished"') == 1
    assert worker.logs().count('"job.done"') == 1
