"""Worker processes die mid-job: a pool process killed with SIGKILL (what the OOM killer does)
and the whole worker killed (a node lost). Every job still ends `done` exactly once, and its
`attempts` count the deliveries it took."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.support import (
    UNACKED,
    assert_settled,
    copies,
    data_requests,
    metrics_of,
    result_documents,
    running_on,
    wait_for_pool,
    wait_until_gone,
)
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from worker.jobs import State

pytestmark = pytest.mark.reliability

JOBS = 50
SEED = 20261127
#: Kills are aimed at running jobs until this many are seen to land mid-job (some land just
#: after a job finished, more so on a loaded machine, which is fine too) ...
LANDED = 10
#: ... or this many were sent.
MAX_KILLS = 40


def runs(fleet: Fleet, job_id: str, pid: int) -> bool:
    state = fleet.store.job_state(job_id)
    return state.get("state") == "running" and state.get("worker", "").endswith(f":{pid}")


def test_pool_processes_killed_mid_job_leave_every_job_done_once(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    fleet = fleet_factory("--latency-ms", "150")
    worker = fleet.start_worker(concurrency=2, FLEET_MAX_ATTEMPTS="20")
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", JOBS), "kill-children")
    rng = random.Random(SEED)
    aimed: Counter[str] = Counter()  # kills sent while the store had the job running there
    landed: Counter[str] = Counter()  # those after which it still had, once the dust settled
    kills = 0

    fleet.submit(jobs)
    deadline = time.monotonic() + 120
    while fleet.store.counts("kill-children")[State.DONE] < JOBS:
        assert time.monotonic() < deadline, fleet.store.counts("kill-children")
        pids = wait_for_pool(worker, 2)
        running = running_on(fleet, "kill-children", pids)
        if not running or kills >= MAX_KILLS or sum(landed.values()) >= LANDED:
            time.sleep(0.02)
            continue
        job_id, pid = rng.choice(running)
        time.sleep(rng.uniform(0.0, 0.35))  # a random moment inside the job (~0.5 s)
        if not runs(fleet, job_id, pid):
            continue
        os.kill(pid, signal.SIGKILL)
        kills += 1
        aimed[job_id] += 1
        wait_until_gone(worker, pid)
        # A finish the process sent just before it died may still be on its way to Redis.
        time.sleep(0.02)
        if runs(fleet, job_id, pid):
            landed[job_id] += 1

    results = assert_settled(fleet, "kill-children", jobs)
    redelivered = Counter({j: r.attempts - 1 for j, r in results.items() if r.attempts > 1})
    assert sum(landed.values()) >= LANDED // 2, f"only {landed} of {kills} kills landed mid-job"
    for job in jobs:
        result = results[job.job_id]
        assert result.status is State.DONE
        # One more delivery per kill that caught the job unfinished: at least every kill
        # seen to land, at most every kill sent at it (a kill in the instant its finish was
        # on the wire costs no delivery; a redelivery may hide a landed kill from the check).
        assert landed[job.job_id] <= redelivered[job.job_id] <= aimed[job.job_id], (
            job.uri, result.attempts, aimed[job.job_id], landed[job.job_id]
        )  # fmt: skip
        assert fleet.store.job_state(job.job_id)["attempts"] == str(result.attempts)
    assert result_documents(fleet) == JOBS

    # The service saw each payload of an undisturbed job once, and a killed job's again.
    sent = data_requests(fleet.emulator.events())
    for job in jobs:
        payloads = sum(c.payloads for c in results[job.job_id].channels)
        if redelivered[job.job_id]:
            assert sent[job.job_id] >= payloads
        else:
            assert sent[job.job_id] == payloads, (job.uri, sent[job.job_id], payloads)

    # No job ran to its end twice: the pool counted at most one `done` per job (a kill
    # between a job's finish and its count costs the count), and the worker's log names
    # each lost process.
    counted = metrics_of(worker).value("hume_fleet_jobs_total", status="done", backend="v0")
    assert JOBS - kills <= counted <= JOBS
    assert worker.logs().count("exited with 'signal 9 (SIGKILL)'") == kills


def test_a_worker_killed_whole_has_its_jobs_delivered_again_after_the_visibility_timeout(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    # visibility timeout = hard limit + margin = 6 s; a job here takes about 1 s
    env = {"FLEET_TASK_HARD_LIMIT_S": "4", "FLEET_VISIBILITY_MARGIN_S": "2"}
    visibility_s = 6.0
    fleet = fleet_factory("--latency-ms", "250")
    first = fleet.start_worker(concurrency=2, **env)
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", 6, seconds=6.0), "node-lost")
    fleet.submit(jobs)

    deadline = time.monotonic() + 30
    pool = {p.pid for p in first.children()}
    while len(orphans := running_on(fleet, "node-lost", pool)) < 2:
        assert time.monotonic() < deadline, fleet.store.counts("node-lost")
        time.sleep(0.02)
    # The node goes: the main process and its pool at once, so nobody gives the jobs back.
    for pid in [first.pid, *pool]:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    assert first.proc is not None and first.proc.wait(10) == -signal.SIGKILL

    orphaned = {job_id for job_id, _ in orphans}
    assert fleet.client.hlen(UNACKED) == 2, "the running jobs' messages wait unacknowledged"
    assert fleet.client.llen(fleet.queue) == len(jobs) - 2
    for job_id in orphaned:
        assert fleet.store.job_state(job_id)["state"] == "running"

    # Redis hands the messages out again once they have been invisible for the timeout; a
    # worker restores them when it starts (and every ~100 s while it runs).
    time.sleep(max(0.0, visibility_s + 0.5 - (time.monotonic() - killed_at)))
    second = fleet.start_worker(concurrency=2, **env)
    fleet.wait("node-lost", len(jobs), timeout=60)

    results = assert_settled(fleet, "node-lost", jobs)
    for job in jobs:
        result = results[job.job_id]
        assert result.status is State.DONE, result.error
        assert result.attempts == (2 if job.job_id in orphaned else 1), job.uri
        assert result.worker.endswith(tuple(f":{p.pid}" for p in second.children()))
    assert result_documents(fleet) == len(jobs)
