"""Queue depth: how many messages wait in the broker, sampled by the worker's main process.

With the Redis broker a Celery queue is a Redis list whose key is the queue name, plus one
list per priority step (`producer submit --priority`): kombu files a message of priority
3-5 under `<queue>\x06\x163`, 6-8 under `…\x06\x166`, 9 under `…\x06\x169`. The depth is
the sum of their LLENs: the messages no worker has taken yet. Messages a process has
taken are not in it: that is `jobs_in_progress`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from worker import metrics
from worker.forkguard import FORK_GUARD
from worker.logs import get_logger

log = get_logger(__name__)


def queue_keys(queue: str) -> list[str]:
    """The Redis lists holding `queue`'s waiting messages, one per priority step."""
    return [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step]


#: Seconds between samples: well under a usual 30 s scrape interval.
SAMPLE_INTERVAL_S = 15.0


class QueueDepthSampler:
    """Sets `hume_fleet_queue_depth{queue}` from LLEN every `interval_s` in a daemon thread."""

    def __init__(
        self, broker_url: str, queues: Sequence[str], interval_s: float = SAMPLE_INTERVAL_S
    ) -> None:
        if not queues:
            raise ValueError("QueueDepthSampler needs at least one queue name")
        self.queues = tuple(queues)
        self.interval_s = interval_s
        self._client = redis.Redis.from_url(
            broker_url, socket_connect_timeout=2.0, socket_timeout=2.0
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-queue-depth", daemon=True)
        self._failing = False

    def sample(self) -> dict[str, int]:
        """Waiting messages of every queue, written to the gauge; returns the depths."""
        with FORK_GUARD:
            pipe = self._client.pipeline(transaction=False)
            for queue in self.queues:
                for key in queue_keys(queue):
                    pipe.llen(key)
            lengths = iter(pipe.execute())
            depths = {q: sum(int(next(lengths)) for _ in queue_keys(q)) for q in self.queues}
            for queue, depth in depths.items():
                metrics.QUEUE_DEPTH.labels(queue).set(depth)
        return depths

    def start(self) -> QueueDepthSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while True:
            try:
                self.sample()
            except redis.RedisError as exc:
                # The last value stays: /readyz reports the broker, and one line per outage
                # is enough here.
                if not self._failing:
                    log.warning("queue_depth.unavailable", error=str(exc))
                self._failing = True
            else:
                if self._failing:
                    log.info("queue_depth.recovered")
                self._failing = False
            if self._stop.wait(self.interval_s):
                return
