"""Queue depth: how many messages wait in the broker, sampled by the worker's main process.

With the Redis broker a Celery queue is a Redis list whose key is the queue name (the
fleet does not use message priorities, which would add `<queue>\\x06\\x16<n>` lists), so
LLEN is the number of messages not yet taken by any worker — the same figure KEDA's Redis
list scaler reads. Messages a process has taken are not in it: that is `jobs_in_progress`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import redis

from worker import metrics
from worker.logs import get_logger

log = get_logger(__name__)

#: Seconds between samples: well under a usual 30 s scrape interval.
SAMPLE_INTERVAL_S = 15.0

# prometheus-client's multiprocess values share one lock per process. A fork while this
# thread holds it would leave the child's copy locked for good, and the child's first
# metric update would hang; so a fork waits for a sample write to finish.
_FORK_GUARD = threading.Lock()
os.register_at_fork(
    before=_FORK_GUARD.acquire,
    after_in_parent=_FORK_GUARD.release,
    after_in_child=_FORK_GUARD.release,
)


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
        """LLEN of every queue, written to the gauge; returns the depths."""
        pipe = self._client.pipeline(transaction=False)
        for queue in self.queues:
            pipe.llen(queue)
        depths = dict(zip(self.queues, (int(n) for n in pipe.execute()), strict=True))
        with _FORK_GUARD:
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
