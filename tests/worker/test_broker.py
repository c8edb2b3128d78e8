"""The worker's Redis transport survives the teardown Celery's consumer does when the broker
connection is lost: closing the channel after the transport is gone leaves the unacked
message in Redis (for the visibility timeout to restore) instead of raising."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from kombu import Connection, Exchange, Queue

from tests.support.redis_server import private_redis
from worker import broker

QUEUE = Queue("jobs", Exchange("jobs", type="direct"), routing_key="jobs")


@pytest.fixture
def redis_url() -> Iterator[str]:
    with private_redis() as server:
        yield server.url


def close_after_teardown(url: str, transport: str) -> int:
    """Take a message without acknowledging it, tear the transport down as the consumer does
    on a lost connection, then close; the messages left unacknowledged in Redis."""
    with Connection(url) as producer:
        producer.Producer().publish({"job": 1}, exchange=QUEUE.exchange, routing_key="jobs",
                                    declare=[QUEUE])  # fmt: skip
    connection = Connection(url, transport=transport)
    message = QUEUE(connection.default_channel).get(no_ack=False)
    assert message is not None and message.payload == {"job": 1}
    connection._do_close_transport()  # what Connection.collect() ends with
    connection.close()
    return int(redis.Redis.from_url(url).hlen("unacked"))


def test_closing_after_the_transport_is_gone_keeps_the_message(redis_url: str) -> None:
    assert close_after_teardown(redis_url, f"{broker.__name__}:Transport") == 1


def test_kombus_own_transport_still_needs_the_repair(redis_url: str) -> None:
    """When this starts failing, kombu has fixed the close and worker.broker can go."""
    with pytest.raises(AttributeError):
        close_after_teardown(redis_url, "kombu.transport.redis:Transport")


def test_the_worker_app_uses_it_for_redis_urls(redis_url: str) -> None:
    from worker.app import app

    for url in (redis_url, redis_url.replace("redis://", "rediss://", 1)):
        with app.connection_for_write(url) as connection:
            assert isinstance(connection.transport, broker.Transport)
