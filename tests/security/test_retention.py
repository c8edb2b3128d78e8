"""How long the fleet keeps what it stores: a finished job's result and state expire after
FLEET_RESULT_TTL_S; purging a batch deletes everything of that batch — and nothing of
another. (`producer purge` on the command line: tests/producer/test_purge.py.)"""

from __future__ import annotations

import json
import time

import redis

from worker import keys
from worker.jobs import ErrorInfo, Job, Result, SourceIdentity, State, Timings
from worker.store import JobStore

TTL_S = 321


def job_of(batch: str, name: str) -> Job:
    return Job(
        job_id=f"{batch}-{name}",
        batch_id=batch,
        source=SourceIdentity(uri=f"s3://calls/{batch}/{name}.wav"),
        models={"burst": {}},
        submitted_at=time.time(),
    )


def result_of(job: Job, status: State) -> Result:
    error = ErrorInfo(code="timeout", message="no reply") if status is State.DEAD else None
    return Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=status,
        source=job.source,
        error=error,
        timings=Timings(started_at=1.0, finished_at=2.0),
        attempts=1,
        worker="w:1",
    )


def record_batch(store: JobStore, batch: str) -> list[Job]:
    """A batch with one done and one dead job."""
    done, dead = job_of(batch, "done"), job_of(batch, "dead")
    store.create_batch(batch, {"total": 2})
    store.mark_queued([done, dead])
    store.finish(result_of(done, State.DONE))
    store.dead_letter(result_of(dead, State.DEAD))
    return [done, dead]


def test_a_finished_job_expires_after_the_result_ttl(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, result_ttl_s=TTL_S)
    for job in record_batch(store, "ttl"):
        for key in (keys.result(job.job_id), keys.job(job.job_id)):
            assert 0 < redis_client.ttl(key) <= TTL_S, key


def test_purge_deletes_the_batch_and_leaves_another_batch_whole(
    redis_client: redis.Redis,
) -> None:
    store = JobStore(redis_client, result_ttl_s=TTL_S)
    purged, kept = record_batch(store, "purged"), record_batch(store, "kept")
    before = {k for k in redis_client.keys("fleet:*") if b"purged" not in k}

    assert store.purge("purged") == 2

    left = set(redis_client.keys("fleet:*"))
    assert left == before  # nothing of "purged" is left, everything of "kept" is
    for job in purged:
        assert store.result(job.job_id) is None and store.job_state(job.job_id) == {}
    for job in kept:
        assert store.result(job.job_id) is not None
    dead = [json.loads(e) for e in redis_client.lrange(keys.DEAD, 0, -1)]
    assert [e["batch_id"] for e in dead] == ["kept"]
    assert [b for b, _ in store.batches()] == ["kept"]
