"""Helpers of the reliability suite: media for many jobs, where jobs run, and what must hold
after any fault (every job settled once, the store agreeing with itself, nothing left behind
in the broker), with the worker's and the emulator's own counts of what happened."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from tests.observability.support import Scrape, scrape
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.worker import WorkerProcess
from worker import keys
from worker.jobs import FINAL_STATES, Job, Result, State

#: kombu's Redis key for delivered, unacknowledged messages (its default).
UNACKED = "unacked"
CALL = [Utterance(0, 0.2, "Thanks for calling, how can I help?"), Utterance(1, 1.6, "My bill.")]


def copies(media: MediaFactory, directory: Path, n: int, seconds: float = 3.0) -> list[Path]:
    """n files holding the same stereo call: distinct paths, so distinct jobs."""
    directory.mkdir(exist_ok=True)
    call = media.call(CALL, seconds=seconds)
    paths = [directory / f"call-{i:03d}.wav" for i in range(n)]
    for path in paths:
        shutil.copy(call, path)
    return paths


def running_on(fleet: Fleet, batch_id: str, pids: set[int]) -> list[tuple[str, int]]:
    """(job id, pid) of the batch's running jobs whose process is one of `pids`."""
    job_ids = sorted(fleet.store.job_ids(batch_id, State.RUNNING))
    found = []
    for job_id, (worker,) in zip(job_ids, fleet.store.job_fields(job_ids, "worker"), strict=True):
        pid = int(worker.rsplit(":", 1)[1]) if worker else 0
        if pid in pids:
            found.append((job_id, pid))
    return found


def live_children(worker: WorkerProcess) -> set[int]:
    return {p.pid for p in worker.children() if p.is_running() and p.status() != "zombie"}


def wait_until_gone(worker: WorkerProcess, pid: int, timeout: float = 10.0) -> None:
    """Until the killed pool process is no longer among the live ones (SIGKILL takes a moment)."""
    deadline = time.monotonic() + timeout
    while pid in live_children(worker):
        assert time.monotonic() < deadline, f"process {pid} survived SIGKILL"
        time.sleep(0.005)


def wait_for_pool(worker: WorkerProcess, size: int, timeout: float = 30.0) -> set[int]:
    """The pool's pids once it has `size` live processes again (Celery replaces the dead)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(pids := live_children(worker)) == size:
            return pids
        time.sleep(0.02)
    raise TimeoutError(f"pool not back to {size} processes:\n{worker.logs()[-3000:]}")


def assert_settled(
    fleet: Fleet, batch_id: str, jobs: Sequence[Job | str], unacked_ok: bool = False
) -> dict[str, Result]:
    """Every job (a Job or a job id) final with exactly one result, in exactly one of its
    batch's state sets, the one its hash names; the queue empty, and no message delivered
    and unacknowledged (with unacked_ok: none but of finished jobs). Returns the results by
    job id."""
    store = fleet.store
    members = {state: store.job_ids(batch_id, state) for state in State}
    results: dict[str, Result] = {}
    for job in jobs:
        job_id, name = (job, job) if isinstance(job, str) else (job.job_id, job.uri)
        sets = [state for state, ids in members.items() if job_id in ids]
        hashed = store.job_state(job_id)
        assert len(sets) == 1, f"{name}: in state sets {sets}, hash {hashed}"
        assert hashed.get("state") == sets[0].value, f"{name}: hash {hashed}, set {sets[0]}"
        assert sets[0] in FINAL_STATES, f"{name} not settled: {hashed}"
        result = store.result(job_id)
        assert result is not None, f"{name}: {sets[0]} without a result document"
        assert result.status is sets[0], (name, result.status, sets[0])
        results[job_id] = result
    assert sum(len(ids) for ids in members.values()) == len(jobs), {
        s.value: len(ids) for s, ids in members.items()
    }
    assert fleet.client.llen(fleet.queue) == 0, "messages left in the queue"
    unacked = unacked_jobs(fleet)
    if unacked_ok:
        # Redis hands these out again after the visibility timeout; the worker then finds
        # each one finished and acknowledges it without running it.
        assert unacked <= results.keys(), unacked - results.keys()
    else:
        assert not unacked, f"{len(unacked)} delivered messages never acknowledged"
    return results


def unacked_jobs(fleet: Fleet) -> set[str]:
    """The job ids of messages delivered and not acknowledged (kombu keeps each as JSON
    [message, exchange, routing key], the body base64 of Celery's [args, kwargs, embed])."""
    ids = set()
    for raw in fleet.client.hvals(UNACKED):
        message = json.loads(raw)[0]
        args = json.loads(base64.b64decode(message["body"]))[0]
        ids.add(args[0]["job_id"])
    return ids


def result_documents(fleet: Fleet) -> int:
    """How many result documents the store holds, whatever their job."""
    return sum(1 for _ in fleet.client.scan_iter(match=keys.result("*"), count=500))


def metrics_of(worker: WorkerProcess) -> Scrape:
    """One scrape of the worker's /metrics (its main process merges every pool process)."""
    return scrape(int(worker.env["METRICS_PORT"]))


def data_requests(events: Sequence[dict[str, object]]) -> dict[str, int]:
    """Data requests the emulator received per job (payload ids are JOB_ID/CHUNK)."""
    counts: dict[str, int] = {}
    for e in events:
        if e.get("event") == "request" and e.get("kind") == "data":
            job = str(e.get("payload_id") or "").split("/")[0]
            counts[job] = counts.get(job, 0) + 1
    return counts
