"""The messages the producer publishes are Celery task messages a worker consumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kombu.message import Message

from producer.errors import InputError
from producer.publish import check_priority
from tests.producer.conftest import ProducerEnv, Run
from worker import keys
from worker.app import app as celery_app
from worker.jobs import TASK_NAME, Job


def test_messages_are_read_back_by_celerys_own_consumer(
    run: Run, producer_env: ProducerEnv, tmp_path: Path
) -> None:
    for name in ("a.wav", "b.flac"):
        (tmp_path / name).write_bytes(b"RIFF....")
    assert run("submit", tmp_path, "-m", "prosody", "-b", "consume").exit_code == 0

    received: list[Job] = []
    with celery_app.connection_for_read(producer_env.redis_url) as connection:
        queue = celery_app.amqp.queues[producer_env.queue]

        def on_message(body: tuple[list[Any], dict[str, Any], object], message: Message) -> None:
            assert message.headers["task"] == TASK_NAME
            args, kwargs, _embed = body
            assert kwargs == {}
            received.append(Job.model_validate(args[0]))
            message.ack()

        consumer = celery_app.amqp.TaskConsumer(connection, queues=[queue], callbacks=[on_message])
        with consumer:
            while len(received) < 2:
                connection.drain_events(timeout=10)
    assert sorted(j.uri for j in received) == [
        f"file://{tmp_path}/a.wav",
        f"file://{tmp_path}/b.flac",
    ]
    assert {j.batch_id for j in received} == {"consume"}
    assert producer_env.messages() == []


def test_broker_failure_exits_1_and_leaves_no_half_submitted_jobs(
    run: Run, producer_env: ProducerEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF....")
    monkeypatch.setenv("BROKER_URL", "redis://:hunter2@127.0.0.1:1/0")
    result = run("submit", tmp_path, "-m", "prosody", "-b", "nobroker")
    assert result.exit_code == 1
    assert "publishing 1 jobs to queue" in result.stderr
    assert "hunter2" not in result.stderr
    # the job is unknown again (a re-submit will send it) and no empty batch is left
    assert producer_env.client.keys(f"{keys.PREFIX}*") == []


def test_priority_is_checked_against_the_broker() -> None:
    check_priority(None, "amqp://host//")
    check_priority(0, "redis://host/0")
    check_priority(9, "rediss://host/0")
    with pytest.raises(InputError, match="out of range"):
        check_priority(-1, "redis://host/0")
    with pytest.raises(InputError, match="needs the Redis broker here; the amqp:// broker"):
        check_priority(3, "amqp://host//")
