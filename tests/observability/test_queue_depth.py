"""Queue depth sampling against a real Redis broker."""

from __future__ import annotations

import time
import uuid

import redis
from celery import Celery
from prometheus_client import REGISTRY

from tests.observability.support import configured_logs, log_lines
from tests.support.net import free_port
from worker.queue_depth import QueueDepthSampler, queue_keys


def gauge(queue: str) -> float | None:
    return REGISTRY.get_sample_value("hume_fleet_queue_depth", {"queue": queue})


def test_sample_reads_llen_of_each_queue(redis_url: str, redis_client: redis.Redis) -> None:
    waiting, empty = f"q-{uuid.uuid4().hex[:6]}", f"q-{uuid.uuid4().hex[:6]}"
    redis_client.rpush(waiting, *range(7))
    sampler = QueueDepthSampler(redis_url, [waiting, empty])
    try:
        assert sampler.sample() == {waiting: 7, empty: 0}
        assert (gauge(waiting), gauge(empty)) == (7, 0)
        redis_client.lpop(waiting, 3)
        sampler.sample()
        assert gauge(waiting) == 4
    finally:
        sampler.stop()


def test_priority_lists_count_too(redis_url: str) -> None:
    queue = f"q-{uuid.uuid4().hex[:6]}"
    sender = Celery("sender", broker=redis_url)
    try:
        for priority in (None, 0, 4, 7, 9, 9):
            options = {} if priority is None else {"priority": priority}
            sender.send_task("hume_fleet.process_recording", args=[{}], queue=queue, **options)
        assert queue_keys(queue) == [
            queue,
            f"{queue}\x06\x163",
            f"{queue}\x06\x166",
            f"{queue}\x06\x169",
        ]
        sampler = QueueDepthSampler(redis_url, [queue])
        assert sampler.sample() == {queue: 6}
        sampler.stop()
    finally:
        sender.close()


def test_the_thread_samples_at_start_and_stops(redis_url: str, redis_client: redis.Redis) -> None:
    queue = f"q-{uuid.uuid4().hex[:6]}"
    redis_client.rpush(queue, "a", "b")
    sampler = QueueDepthSampler(redis_url, [queue], interval_s=30).start()
    deadline = time.monotonic() + 10
    while gauge(queue) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    sampler.stop()  # returns at once: the wait between samples is interruptible
    assert gauge(queue) == 2
    assert not sampler._thread.is_alive()


def test_an_unreachable_broker_is_survived_and_logged_once() -> None:
    queue = f"q-{uuid.uuid4().hex[:6]}"
    with configured_logs("json") as output:
        sampler = QueueDepthSampler(f"redis://127.0.0.1:{free_port()}/0", [queue], 0.02)
        sampler.start()
        deadline = time.monotonic() + 10
        while "queue_depth.unavailable" not in output.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # more failed samples
        alive = sampler._thread.is_alive()
        sampler.stop()
    assert alive
    events = [line["event"] for line in log_lines(output)]
    assert events == ["queue_depth.unavailable"]
    assert gauge(queue) is None
