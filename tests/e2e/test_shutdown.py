"""Warm shutdown: SIGTERM to a worker in the middle of a job (what Kubernetes sends on
scale-in) lets the job finish; its result is written once and nothing is left queued."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from worker.jobs import State


def test_sigterm_mid_job_finishes_the_job_and_writes_it_once(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    # 20 s mono speech-and-silence call: 4 payloads at 400 ms each, so ~1.6 s of API time.
    call = media.call(
        [
            Utterance(0, t, "We are still talking about your account.")
            for t in (0.5, 5.5, 10.5, 15.5)
        ],
        seconds=20.0,
        channels=1,
    )
    fleet = fleet_factory("--latency-ms", "400")
    worker = fleet.start_worker(concurrency=1)
    jobs = fleet.jobs_for([call], "drain")
    fleet.submit(jobs)

    deadline = time.monotonic() + 30
    while fleet.store.job_state(jobs[0].job_id).get("state") != "running":
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.02)
    time.sleep(0.3)  # inside the first payload's round trip
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(60) == 0, worker.logs()[-2000:]

    result = fleet.store.result(jobs[0].job_id)
    assert result is not None and result.status is State.DONE, fleet.store.job_state(jobs[0].job_id)
    assert result.attempts == 1
    assert sum(c.payloads for c in result.channels) == 4
    assert "Warm shutdown" in worker.logs()
    assert fleet.client.llen(fleet.queue) == 0, "nothing re-queued"

    # A new worker on the same queue finds nothing to redo.
    fleet.start_worker(concurrency=1)
    time.sleep(1.0)
    assert fleet.store.job_state(jobs[0].job_id)["attempts"] == "1"
    data = [e for e in fleet.emulator.events() if e.get("kind") == "data"]
    assert len(data) == 4, "every payload sent exactly once"
