"""Poison jobs: a job whose every delivery costs its worker process. Late acknowledgement
delivers it again each time; the store's delivery counter ends it `dead` after
FLEET_MAX_ATTEMPTS, with an entry in the dead-letter list `fleet:dead`, while the rest of the
batch is done.

Two real ways a process dies with its job: killed from outside (SIGKILL, as the kernel's OOM
killer does to a process a recording blows up), and killed by Celery when the job outlives
the hard time limit (here: an API that never answers, so the job's soft deadline passes and
the reset after it hangs too)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.support import (
    assert_settled,
    copies,
    live_children,
    metrics_of,
    running_on,
    wait_for_pool,
    wait_until_gone,
)
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from worker import keys
from worker.jobs import Result, State

pytestmark = pytest.mark.reliability

MAX_ATTEMPTS = 3


def dead_letters(fleet: Fleet) -> list[dict[str, object]]:
    return [json.loads(e) for e in fleet.client.lrange(keys.DEAD, 0, -1)]


def assert_dead_after_max_attempts(fleet: Fleet, result: Result) -> None:
    assert result.status is State.DEAD
    assert result.error is not None and result.error.code == "max_attempts"
    assert f"gave up after {MAX_ATTEMPTS} deliveries" in result.error.message
    assert "did the job kill its worker?" in result.error.message
    assert result.attempts == MAX_ATTEMPTS + 1  # the delivery that declared it dead counts
    [entry] = dead_letters(fleet)
    assert entry["job_id"] == result.job_id and entry["batch_id"] == result.batch_id
    assert entry["attempts"] == MAX_ATTEMPTS + 1
    assert entry["error"] == result.error.model_dump()


def test_a_job_killed_with_its_process_every_time_ends_dead(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    # 400 ms per payload: a delivery of the poison job lasts about a second, long enough to
    # be caught on a busy machine
    fleet = fleet_factory("--latency-ms", "400")
    worker = fleet.start_worker(concurrency=2, FLEET_MAX_ATTEMPTS=str(MAX_ATTEMPTS))
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", 12), "poison-oom")
    poison = jobs[3]
    fleet.submit(jobs)

    kills = 0
    deadline = time.monotonic() + 60
    while fleet.store.job_state(poison.job_id)["state"] not in ("done", "failed", "dead"):
        assert time.monotonic() < deadline, fleet.store.job_state(poison.job_id)
        # The stand-in for the OOM killer: whenever the poison job runs, its process dies.
        # (Not the delivery past the limit, which only records the verdict.)
        for job_id, pid in running_on(fleet, "poison-oom", live_children(worker)):
            attempts = int(fleet.store.job_state(job_id).get("attempts", "0"))
            if job_id == poison.job_id and attempts <= MAX_ATTEMPTS:
                os.kill(pid, signal.SIGKILL)
                kills += 1
                wait_until_gone(worker, pid)
        time.sleep(0.01)
    fleet.wait("poison-oom", len(jobs), timeout=60)

    results = assert_settled(fleet, "poison-oom", jobs)
    assert kills == MAX_ATTEMPTS
    assert_dead_after_max_attempts(fleet, results[poison.job_id])
    others = [r for job_id, r in results.items() if job_id != poison.job_id]
    assert {(r.status, r.attempts) for r in others} == {(State.DONE, 1)}
    metrics = metrics_of(worker)
    assert metrics.value("hume_fleet_jobs_total", status="dead", backend="v0") == 1
    assert metrics.value("hume_fleet_jobs_total", status="done", backend="v0") == len(others)


def test_a_job_stopped_by_the_hard_time_limit_every_time_ends_dead(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    # A hard limit of 4 s: soft limit 3.6 s, job deadline at most 3.8 s (worker.settings).
    env = {"FLEET_TASK_HARD_LIMIT_S": "4", "FLEET_MAX_ATTEMPTS": str(MAX_ATTEMPTS)}
    healthy = fleet_factory("--latency-ms", "100")
    hung = fleet_factory("--stall-rate", "1")  # answers nothing, not even reset_stream
    healthy.start_worker(concurrency=2, **env)
    hung_worker = hung.start_worker(concurrency=1, **env)
    paths = copies(media, tmp_path / "calls", 9)
    jobs = healthy.jobs_for(paths[:8], "poison-hard-limit")
    poison = hung.jobs_for(paths[8:], "poison-hard-limit")[0]
    healthy.submit(jobs)
    hung.submit([poison])
    first_pool = wait_for_pool(hung_worker, 1)

    healthy.wait("poison-hard-limit", len(jobs) + 1, timeout=90)
    results = assert_settled(healthy, "poison-hard-limit", [*jobs, poison])
    assert_settled(hung, "poison-hard-limit", [*jobs, poison])  # its own queue is empty too
    assert_dead_after_max_attempts(healthy, results[poison.job_id])
    assert {(r.status, r.attempts) for j, r in results.items() if j != poison.job_id} == {
        (State.DONE, 1)
    }
    logs = hung_worker.logs()
    assert logs.count("Hard time limit (4s) exceeded") == MAX_ATTEMPTS, logs[-3000:]
    assert not first_pool & live_children(hung_worker), "Celery replaced the killed process"
