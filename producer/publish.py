"""Publishing jobs as Celery task messages, many per round trip.

Each message is what `apply_async` would send (Celery's own `as_task_v2` and
`send_task_message`, the worker app's serializer and routing), so the worker consumes it
like any other. The difference is the transport: one connection and one producer for the
whole submit, and kombu's publish batch, which on Redis buffers the LPUSHes of a chunk in
one pipeline — one round trip per chunk instead of one (or two) per message.

Priority on the Redis transport: kombu keeps one list per priority step (0, 3, 6, 9 by
default; a message's priority is rounded down to a step) and the worker pops the lists in
step order, so with Redis **0 is served first** and is also what unprioritised messages
get — `--priority` can only move jobs back. RabbitMQ orders the other way round and needs
a queue declared with `x-max-priority`, which this fleet does not declare, so a priority
is refused on any broker but Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final

from celery import Celery

from producer.errors import InputError, ProducerError
from worker.jobs import TASK_NAME, Job
from worker.media.redact import redact_text

#: The priorities kombu accepts.
PRIORITY_RANGE: Final = range(10)
_REDIS_SCHEMES: Final = ("redis", "rediss", "redis+socket", "sentinel")


def check_priority(priority: int | None, broker_url: str) -> None:
    """`InputError` if the priority cannot be honoured on this broker."""
    if priority is None:
        return
    if priority not in PRIORITY_RANGE:
        raise InputError(f"--priority {priority} is out of range: use 0 (first) … 9 (last)")
    scheme = broker_url.split("://", 1)[0].lower()
    if scheme not in _REDIS_SCHEMES:
        raise InputError(
            f"--priority needs the Redis broker here; the {scheme}:// broker would need "
            f"its queue declared with x-max-priority"
        )


class Publisher:
    """Sends jobs to the fleet's queue over one broker connection."""

    def __init__(
        self,
        app: Celery,
        broker_url: str,
        queue: str,
        priority: int | None = None,
        batch_size: int = 1000,
    ) -> None:
        self.app = app
        self.queue = queue
        self.priority = priority
        self.batch_size = batch_size
        self._connection = app.connection_for_write(url=broker_url)
        self._producer = app.amqp.Producer(self._connection, auto_declare=False)
        self._send = app.amqp.send_task_message
        self._sent = 0

    def publish(self, jobs: Sequence[Job]) -> None:
        """Send one message per job; all of them reach the broker or `ProducerError` says
        that delivery of this chunk is uncertain."""
        if not jobs:
            return
        options: dict[str, Any] = {"queue": self.queue, "retry": False}
        if self.priority is not None:
            options["priority"] = self.priority
        try:
            with self._producer.batch(max_size=self.batch_size):
                for job in jobs:
                    message = self.app.amqp.as_task_v2(
                        str(uuid.uuid4()),
                        TASK_NAME,
                        args=(job.model_dump(mode="json"),),
                        # the default repr of the whole Job is costly and says little
                        argsrepr=f"(job {job.job_id},)",
                        kwargsrepr="{}",
                    )
                    self._send(self._producer, TASK_NAME, message, **options)
        except Exception as exc:
            raise ProducerError(
                f"publishing {len(jobs)} jobs to queue {self.queue!r} failed: "
                + redact_text(f"{type(exc).__name__}: {exc}")
            ) from exc
        self._sent += len(jobs)

    @property
    def sent(self) -> int:
        return self._sent

    def close(self) -> None:
        self._connection.release()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
