"""Redis — the broker and the job store at once — crashes (SIGKILL) mid-batch and comes back
a few seconds later. The workers reconnect by themselves. With persistence (AOF, fsync on
every write) nothing is lost and the batch finishes as if nothing happened. Without it the
restarted Redis is empty: the queue, the job states, the finished results and the batch
record are gone; the producer no longer knows the batch (`status` and `retry` say so), and
submitting the same files again under the same batch name redoes exactly what was lost."""

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


def settled_count(fleet: Fleet, batch: str, quiet_s: float = 1.5) -> int:
    """The batch's job count once it has not changed for quiet_s (the running jobs done)."""
    deadline = time.monotonic() + 30
    last, since = -1, time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, fleet.store.counts(batch)
        now = sum(fleet.store.counts(batch).values())
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.1)
    return last


def assert_all_done_once(fleet: Fleet, batch: str, directory: Path) -> dict[str, Result]:
    """Every file of the directory done once in the batch. (A job that finished after the
    store was emptied has a state and a result, but its hash no longer holds its Job.)"""
    job_ids = sorted(set().union(*(fleet.store.job_ids(batch, s) for s in State)))
    results = assert_settled(fleet, batch, job_ids)
    assert sorted(Path(r.source.uri).name for r in results.values()) == sorted(
        p.name for p in directory.iterdir()
    )
    assert {r.status for r in results.values()} == {State.DONE}
    return results


@pytest.mark.parametrize("redis_server", [AOF], indirect=True, ids=["aof"])
def test_a_persistent_redis_restarted_mid_batch_loses_nothing(
    redis_server: RedisServer,
    fleet_factory: Callable[..., Fleet],
    media: MediaFactory,
    tmp_path: Path,
) -> None:
    fleet = fleet_factory("--latency-ms", "200")
    worker = fleet.start_worker(concurrency=2)
    pool = wait_for_pool(worker, 2)
    calls = tmp_path / "calls"
    copies(media, calls, FILES)
    assert submit(fleet, calls, "redis-aof")["enqueued"] == FILES

    old_run = crash_mid_batch(fleet, redis_server, "redis-aof")
    assert fleet.client.info("server")["run_id"] != old_run, "the same server: no restart"
    watched = fleet.producer("status", "redis-aof", "--watch", "--json", "--interval", "0.5",
                             "--timeout", "90")  # fmt: skip
    assert watched.returncode == 0, watched.stderr + fleet.logs()[-3000:]

    results = assert_all_done_once(fleet, "redis-aof", calls)
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
    fleet = fleet_factory("--latency-ms", "200")
    worker = fleet.start_worker(concurrency=2)
    pool = wait_for_pool(worker, 2)
    calls = tmp_path / "calls"
    copies(media, calls, FILES)
    assert submit(fleet, calls, "redis-lost")["enqueued"] == FILES

    crash_mid_batch(fleet, redis_server, "redis-lost")
    # What survives is what finished after the restart: the jobs that were running.
    survivors = settled_count(fleet, "redis-lost")
    counts = fleet.store.counts("redis-lost")
    assert counts[State.DONE] == survivors <= 2 and sum(counts.values()) == survivors, counts
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
