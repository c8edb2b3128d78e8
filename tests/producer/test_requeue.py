"""`producer retry`: failed and dead jobs back on the queue, as they were first sent."""

from __future__ import annotations

import json

from tests.producer.conftest import FinishedBatch, ProducerEnv, Run
from worker import keys
from worker.jobs import Job, State


def sent(env: ProducerEnv) -> set[str]:
    return {j["job_id"] for j in env.jobs_sent()}


def test_retry_defaults_to_failed_and_dead(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    assert producer_env.store.job_state(finished_batch.dead[0].job_id)["attempts"] == "5"
    result = run("retry", "calls")
    assert result.exit_code == 0, result.stderr
    assert "re-enqueued 3 (2 failed, 1 dead)" in result.stdout
    retried = finished_batch.failed + finished_batch.dead
    assert sent(producer_env) == {j.job_id for j in retried}
    # sent as first queued: same job, same batch, same configs
    by_id = {j["job_id"]: Job.model_validate(j) for j in producer_env.jobs_sent()}
    assert all(by_id[j.job_id] == j for j in retried)
    counts = producer_env.store.counts("calls")
    assert (counts[State.QUEUED], counts[State.FAILED], counts[State.DEAD]) == (5, 0, 0)
    for job in retried:
        assert producer_env.store.result(job.job_id) is None
        assert producer_env.store.job_state(job.job_id)["attempts"] == "0"


def test_retry_only_dead_then_only_failed(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    dry = run("retry", "calls", "--dead", "--dry-run")
    assert "would re-enqueue 1 (1 dead)" in dry.stdout and producer_env.messages() == []
    assert "re-enqueued 1 (1 dead)" in run("retry", "calls", "--dead").stdout
    assert sent(producer_env) == {finished_batch.dead[0].job_id}
    assert "re-enqueued 2 (2 failed)" in run("retry", "calls", "--failed").stdout
    assert "re-enqueued 0 (0 failed, 0 dead)" in run("retry", "calls").stdout


def test_retry_queued_resends_jobs_recorded_as_queued(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    result = run("retry", "calls", "--queued")
    assert "re-enqueued 2 (2 queued)" in result.stdout
    assert sent(producer_env) == {j.job_id for j in finished_batch.queued}


def test_retry_of_an_unknown_batch_exits_2(run: Run, producer_env: ProducerEnv) -> None:
    result = run("retry", "nope")
    assert result.exit_code == 2 and "no batch named 'nope'" in result.stderr


def test_a_job_this_version_cannot_run_is_left_and_named(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    """A failed job recorded by a newer producer (a model this one does not know) would
    only fail again: retry re-sends the others and says which it left."""
    newer = finished_batch.failed[0]
    recorded = newer.model_dump(mode="json") | {"models": {"colour": {}}}
    producer_env.client.hset(keys.job(newer.job_id), "job", json.dumps(recorded))

    result = run("retry", "calls")

    assert result.exit_code == 0, result.stderr
    assert "re-enqueued 2 (1 failed, 1 dead)" in result.stdout
    assert (
        f"left 1 this version cannot run (re-sending would fail them again), e.g. "
        f"{newer.job_id}: models: " in " ".join(result.stdout.split())
    )
    assert "colour" in result.stdout
    assert sent(producer_env) == {finished_batch.failed[1].job_id, finished_batch.dead[0].job_id}
    assert producer_env.store.job_state(newer.job_id)["state"] == State.FAILED.value
