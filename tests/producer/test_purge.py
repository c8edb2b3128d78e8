"""`producer purge`: a batch's results, states and sets deleted, asked for with --yes."""

from __future__ import annotations

from tests.producer.conftest import FinishedBatch, ProducerEnv, Run, done_result
from worker import keys


def fleet_keys(env: ProducerEnv) -> set[str]:
    return {k.decode() for k in env.client.keys(f"{keys.PREFIX}*") if isinstance(k, bytes)}


def test_purge_refuses_while_jobs_are_pending_and_without_yes(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    pending = run("purge", "calls", "--yes")
    assert pending.exit_code == 1 and "still has 2 queued or running jobs" in pending.stderr
    for job in finished_batch.queued:
        producer_env.store.finish(done_result(job))
    before = fleet_keys(producer_env)
    unconfirmed = run("purge", "calls")
    assert unconfirmed.exit_code == 2
    assert "purge deletes the results and states of 8 jobs of batch calls" in unconfirmed.stderr
    assert "--yes" in unconfirmed.stderr
    assert fleet_keys(producer_env) == before


def test_purge_deletes_everything_of_the_batch_and_nothing_else(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    for job in finished_batch.queued:
        producer_env.store.finish(done_result(job))
    # another batch, and a job of "calls" since forced into it, must survive
    moved = finished_batch.done[0]
    forced = run("submit", moved.uri, "-m", "prosody,burst", "-b", "other", "--force")
    assert forced.exit_code == 0, forced.stderr
    producer_env.store.finish(done_result(moved.model_copy(update={"batch_id": "other"})))
    other_keys = {keys.job(moved.job_id), keys.result(moved.job_id), keys.batch("other")}

    result = run("purge", "calls", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "batch calls: purged 7 jobs" in result.stdout
    left = fleet_keys(producer_env)
    assert other_keys <= left
    assert not any(k.startswith(keys.batch("calls")) for k in left)
    all_calls = [*finished_batch.done[1:], *finished_batch.failed, *finished_batch.dead]
    for job in [*all_calls, *finished_batch.queued]:
        assert keys.job(job.job_id) not in left and keys.result(job.job_id) not in left
    assert producer_env.client.llen(keys.DEAD) == 0  # its dead-letter entry went too
    assert [b for b, _ in producer_env.store.batches()] == ["other"]
    assert run("status", "calls").exit_code == 2


def test_purge_of_an_unknown_batch_exits_2(run: Run, producer_env: ProducerEnv) -> None:
    result = run("purge", "nope", "--yes")
    assert result.exit_code == 2 and "no batch named 'nope'" in result.stderr
