"""JobStore against a real Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis

from worker import keys
from worker.jobs import (
    ErrorInfo,
    Job,
    JobOptions,
    Result,
    SourceIdentity,
    State,
    Timings,
    job_id_for,
)
from worker.store import JobStore


def make_job(uri: str = "s3://calls/a.wav", batch: str = "b1") -> Job:
    source = SourceIdentity(uri=uri, size=10, etag="e1")
    models: dict[str, dict[str, object]] = {"prosody": {}}
    return Job(
        job_id=job_id_for(source, models, JobOptions()),
        batch_id=batch,
        source=source,
        models=models,
        submitted_at=time.time(),
    )


def make_result(job: Job, status: State = State.DONE, error: ErrorInfo | None = None) -> Result:
    now = time.time()
    return Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=status,
        source=job.source,
        timings=Timings(started_at=now, finished_at=now),
        attempts=1,
        worker="w1",
        error=error,
    )


@pytest.fixture
def store(redis_client: redis.Redis) -> JobStore:
    return JobStore(redis_client, result_ttl_s=60)


def test_job_id_is_deterministic_and_depends_on_configs() -> None:
    source = SourceIdentity(uri="s3://a/b.wav", size=1, etag="x")
    a = job_id_for(source, {"prosody": {}}, JobOptions())
    assert a == job_id_for(source, {"prosody": {}}, JobOptions())
    assert a != job_id_for(source, {"burst": {}}, JobOptions())
    assert a != job_id_for(source.model_copy(update={"etag": "y"}), {"prosody": {}}, JobOptions())
    assert len(a) == 32


def test_job_refuses_models_the_stream_cannot_run() -> None:
    source = SourceIdentity(uri="s3://a/b.wav")
    with pytest.raises(ValueError, match="NerConfig is not supported by the streaming API"):
        Job(job_id="x", batch_id="b", source=source, models={"ner": {}}, submitted_at=0)
    with pytest.raises(ValueError, match="Unknown model type 'nope'"):
        Job(job_id="x", batch_id="b", source=source, models={"nope": {}}, submitted_at=0)


def test_queued_running_done_moves_between_batch_sets(store: JobStore) -> None:
    job = make_job()
    store.mark_queued([job])
    assert store.counts("b1")[State.QUEUED] == 1
    attempts, before = store.start(job, "w1")
    assert (attempts, before) == (1, State.QUEUED)
    assert store.counts("b1")[State.RUNNING] == 1
    assert store.counts("b1")[State.QUEUED] == 0
    assert store.finish(make_result(job))
    counts = store.counts("b1")
    assert counts[State.DONE] == 1 and counts[State.RUNNING] == 0
    assert store.job_state(job.job_id)["state"] == "done"
    result = store.result(job.job_id)
    assert result is not None and result.job_id == job.job_id


def test_a_job_finishes_once(store: JobStore, redis_client: redis.Redis) -> None:
    job = make_job()
    store.mark_queued([job])
    store.start(job, "w1")
    assert store.finish(make_result(job))
    failed = make_result(job, State.FAILED, ErrorInfo(code="E0200", message="bad"))
    assert not store.finish(failed)
    result = store.result(job.job_id)
    assert result is not None and result.status is State.DONE
    # stored compressed, with a TTL
    assert redis_client.ttl(keys.result(job.job_id)) > 0
    blob = redis_client.get(keys.result(job.job_id))
    assert isinstance(blob, bytes) and not blob.startswith(b"{")


def test_start_of_a_finished_job_reports_it_without_counting(store: JobStore) -> None:
    job = make_job()
    store.mark_queued([job])
    store.start(job, "w1")
    store.finish(make_result(job))
    attempts, before = store.start(job, "w2")
    assert before is State.DONE and attempts == 1


def test_dead_letter_keeps_the_last_error(store: JobStore, redis_client: redis.Redis) -> None:
    job = make_job()
    store.mark_queued([job])
    store.start(job, "w1")
    error = ErrorInfo(code="I0100", message="Unexpected service error occurred", retryable=True)
    assert store.dead_letter(make_result(job, State.DEAD, error))
    entry = json.loads(redis_client.lindex(keys.DEAD, 0))  # type: ignore[arg-type]
    assert entry["job_id"] == job.job_id and entry["error"]["code"] == "I0100"
    assert store.counts("b1")[State.DEAD] == 1


def test_requeue_forgets_the_old_result(store: JobStore) -> None:
    job = make_job()
    store.mark_queued([job])
    store.start(job, "w1")
    store.finish(make_result(job, State.FAILED, ErrorInfo(code="corrupt", message="x")))
    store.mark_queued([job])
    assert store.result(job.job_id) is None
    assert store.counts("b1") == {
        State.QUEUED: 1,
        State.RUNNING: 0,
        State.DONE: 0,
        State.FAILED: 0,
        State.DEAD: 0,
    }
    assert store.states([job.job_id, "unknown"]) == [State.QUEUED, None]
