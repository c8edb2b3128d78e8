"""Redis — the broker and the job store at once — crashes (SIGKILL) mid-batch and comes back
a few seconds later. The workers reconnect by themselves.

With persistence (AOF, fsync on every write) the store keeps every state and result; the
only loss is a message the worker took off the queue in the instant of the crash, before
the Redis transport recorded it as delivered: its job stays `queued`, and `producer retry
--queued` sends it again. Without persistence the restarted Redis is empty: the queue, the
job states, the finished results and the batch record are gone; the producer no longer
knows the batch (`status` and `retry` say so), and submitting the same files again under
the same batch name redoes exactly what was lost."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.support import assert_settled, copies, live_children, wait_for_pool
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from tests.support.redis_server import RedisServer
from tests.support.worker import WorkerProcess
from worker.jobs import Result, State

pytestmark = pytest.mark.reliability

FILES = 20
AOF = ("--appendonly", "yes", "--appendfsync", "always")
DOWN_S = 3.0  # longer than redis-py's own default retries (about 1 s) ride out


def submit(fleet: Fleet, directory: Path, batch: str) -> dict[str, object]:
    done = fleet.producer("submit", str(directory), "-m", "prosody,burst", "-b", batch, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def start_batch(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path, batch: str
) -> tuple[Fleet, WorkerProcess, set[int], Path]:
    """A 2-process worker (its pool's pids) running FILES calls (in the returned directory)
    submitted as `batch`, against an API with 200 ms per payload."""
    fleet = fleet_factory("--latency-ms", "200")
    worker = fleet.start_worker(concurrency=2)
    pool = wait_for_pool(worker, 2)
    calls = tmp_path / "calls"
    copies(media, calls, FILES)
    assert submit(fleet, calls, batch)["enqueued"] == FILES
    return fleet, worker, pool, calls


def crash_mid_batch(fleet: Fleet, server: RedisServer, batch: str) -> str:
    """Kill Redis once a few jobs are done, keep it down DOWN_S, start it again; returns the
    run id of the server that died."""
    deadline = time.monotonic() + 60
    while fleet.store.counts(batch)[State.DONE] < 5:
        assert time.monotonic() < deadline, fleet.store.counts(batch)
        time.sleep(0.02)
    run_id = str(fleet.client.info("server")["run_id"])
    server.kill()
    time.sleep(DOWN_S)
    server.start()
    return run_id


def wait_until_idle(fleet: Fleet, batch: str, quiet_s: float = 6.0) -> dict[State, int]:
    """The batch's counts once nothing runs, the queue is empty and no count has changed
    for quiet_s (a start that waited for the store retries up to 5 s apart)."""
    deadline = time.monotonic() + 60
    last: dict[State, int] = {}
    since = time.monotonic()
    while True:
        counts = fleet.store.counts(batch)
        busy = counts[State.RUNNING] or fleet.client.llen(fleet.queue)
        if counts != last or busy:
            last, since = counts, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return counts
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)


def assert_all_done_once(
    fleet: Fleet, batch: str, directory: Path, unacked_ok: bool = False
) -> dict[str, Result]:
    """Every file of the directory done once in the batch. (A job that finished after the
    store was emptied has a state and a result, but its hash no longer holds its Job.)"""
    job_ids = sorted(set().union(*(fleet.store.job_ids(batch, s) for s in State)))
    results = assert_settled(fleet, batch, job_ids, unacked_ok)
    assert sorted(Path(r.source.uri).name for r in results.values()) == sorted(
        p.name for p in directory.iterdir()
    )
    assert {r.status for r in results.values()} == {State.DONE}
    return results


@pytest.mark.parametrize("redis_server", [AOF], indirect=True, ids=["aof"])
def test_a_persistent_redis_restarted_mid_batch_keeps_every_job(
    redis_server: RedisServer,
    fleet_factory: Callable[..., Fleet],
    media: MediaFactory,
    tmp_path: Path,
) -> None:
    fleet, worker, pool, calls = start_batch(fleet_factory, media, tmp_path, "redis-aof")
    old_run = crash_mid_batch(fleet, redis_server, "redis-aof")
    assert fleet.client.info("server")["run_id"] != old_run, "the same server: no restart"
    # The fleet resumes by itself. Redis kept every write, but a message the worker took off
    # the queue in the instant of the crash, before kombu recorded it as delivered, is gone
    # with the connection: its job stays queued, and `producer retry --queued` sends it again.
    counts = wait_until_idle(fleet, "redis-aof")
    lost = counts[State.QUEUED]
    assert lost <= 2 and counts[State.DONE] + lost == FILES, counts
    retried = fleet.producer("retry", "redis-aof", "--queued")
    assert retried.returncode == 0 and f"re-enqueued {lost} ({lost} queued)" in retried.stdout
    watched = fleet.producer("status", "redis-aof", "--watch", "--json", "--interval", "0.5",
                             "--timeout", "90")  # fmt: skip
    assert watched.returncode == 0, watched.stderr + fleet.logs()[-3000:]

    # A job that finished while the broker connection was down may not get its
    # acknowledgement through: its message waits in Redis for the visibility timeout.
    results = assert_all_done_once(fleet, "redis-aof", calls, unacked_ok=True)
    # A job that was running during the outage waited for the store and kept its delivery.
    assert {r.attempts for r in results.values()} == {1}
    assert json.loads(watched.stdout.splitlines()[-1])["counts"]["done"] == FILES
    assert live_children(worker) == pool, "the fleet recovered without losing a process"


def test_a_redis_without_persistence_restarted_mid_batch_is_recovered_by_a_resubmit(
    redis_server: RedisServer,
    fleet_factory: Callable[..., Fleet],
    media: MediaFactory,
    tmp_path: Path,
) -> None:
    fleet, worker, pool, calls = start_batch(fleet_factory, media, tmp_path, "redis-lost")
    crash_mid_batch(fleet, redis_server, "redis-lost")
    # What survives is what finished after the restart: the jobs that were running.
    counts = wait_until_idle(fleet, "redis-lost")
    survivors = counts[State.DONE]
    assert survivors <= 2 and sum(counts.values()) == survivors, counts
    assert fleet.client.llen(fleet.queue) == 0, "the queue went with the data"

    # The producer's view: the batch record is gone, so status and retry cannot help ...
    for command in (["status", "redis-lost"], ["retry", "redis-lost", "--queued"]):
        lost = fleet.producer(*command)
        assert lost.returncode == 2 and "no batch named 'redis-lost'" in lost.stderr, lost

    # ... and a resubmit of the same files redoes exactly the jobs the store forgot.
    again = submit(fleet, calls, "redis-lost")
    skipped = {"done": survivors} if survivors else {}
    assert (again["enqueued"], again["skipped"]) == (FILES - survivors, skipped), again
    watched = fleet.producer("status", "redis-lost", "--watch", "--json", "--interval", "0.5",
                             "--timeout", "90")  # fmt: skip
    assert watched.returncode == 0, watched.stderr + fleet.logs()[-3000:]
    results = assert_all_done_once(fleet, "redis-lost", calls)
    assert {r.attempts for r in results.values()} == {1}
    assert live_children(worker) == pool, "the fleet recovered without losing a process"
