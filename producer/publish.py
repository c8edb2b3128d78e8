"""Publishing jobs as Celery task messages, a page of them per round trip.

Each message is built by Celery and kombu themselves — Celery's `as_task_v2` (headers, body)
and the broker channel's `prepare_message`/`basic_publish` (envelope, delivery tag,
priority list) — with the worker app's serializer, so the worker consumes it like any
`apply_async` message. Only the transport is different:

* Redis broker: the channel routes each message into a collector standing in for kombu's
  own Redis publish batch, and the page goes out as one LPUSH per list in one pipeline —
  one round trip per page instead of one per message, and none of `send_task_message`'s
  per-message routing, signals and declarations (the queue is declared once).
* any other broker: `send_task_message` inside kombu's `Producer.batch()`, which batches
  where the transport can.

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
from kombu.serialization import dumps

from producer.errors import InputError, ProducerError
from worker.jobs import TASK_NAME, Job
from worker.media.redact import redact_text

#: The priorities kombu accepts.
PRIORITY_RANGE: Final = range(10)
_REDIS_SCHEMES: Final = ("redis", "rediss", "redis+socket", "sentinel")
#: AMQP delivery mode 2: the broker keeps the message on disk (what `apply_async` sends).
_PERSISTENT: Final = 2


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
        self._declared = False
        self._sent = 0

    def publish(self, jobs: Sequence[Job]) -> None:
        """Send one message per job; all of them reach the broker or `ProducerError` says
        that delivery of this page is uncertain."""
        if not jobs:
            return
        try:
            if not self._declared:
                self._producer.maybe_declare(self.app.amqp.queues[self.queue])
                self._declared = True
            channel = self._producer.channel
            if getattr(channel, "supports_batch_publish", False):
                self._publish_redis(channel, jobs)
            else:
                self._publish_generic(jobs)
        except Exception as exc:
            raise ProducerError(
                f"publishing {len(jobs)} jobs to queue {self.queue!r} failed: "
                + redact_text(f"{type(exc).__name__}: {exc}")
            ) from exc
        self._sent += len(jobs)

    def _task_message(self, job: Job) -> Any:
        """Celery's own protocol-2 message for the job: (headers, properties, body, _)."""
        return self.app.amqp.as_task_v2(
            str(uuid.uuid4()),
            TASK_NAME,
            args=(job.model_dump(mode="json"),),
            # the default repr of the whole Job is costly and says little
            argsrepr=f"(job {job.job_id},)",
            kwargsrepr="{}",
        )

    def _publish_redis(self, channel: Any, jobs: Sequence[Job]) -> None:
        serializer = self.app.conf.task_serializer
        priority = self.priority or 0
        page = _Commands()
        for job in jobs:
            headers, properties, body, _ = self._task_message(job)
            content_type, encoding, data = dumps(body, serializer=serializer)
            properties["delivery_mode"] = _PERSISTENT
            message = channel.prepare_message(
                data, priority, content_type, encoding, headers, properties
            )
            # anonymous exchange, routing key = queue: how Celery sends to a direct queue
            channel.basic_publish(message, exchange="", routing_key=self.queue, _publish_batch=page)
        with channel.conn_or_acquire() as client:
            pipe = client.pipeline(transaction=False)
            page.replay(pipe, self.batch_size)
            pipe.execute()

    def _publish_generic(self, jobs: Sequence[Job]) -> None:
        options: dict[str, Any] = {"queue": self.queue, "retry": False, "declare": ()}
        if self.priority is not None:
            options["priority"] = self.priority
        send = self.app.amqp.send_task_message
        with self._producer.batch(max_size=self.batch_size):
            for job in jobs:
                send(self._producer, TASK_NAME, self._task_message(job), **options)

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


class _Commands:
    """The Redis commands kombu's Redis channel issues for a publish, collected as its own
    publish batch collects them (`add(name, *args)`), then replayed in order with each run
    of LPUSHes to one list merged into one command of up to `per_command` messages."""

    def __init__(self) -> None:
        self._commands: list[tuple[str, tuple[Any, ...]]] = []

    def add(self, name: str, *args: Any) -> None:
        self._commands.append((name, args))

    def replay(self, pipe: Any, per_command: int) -> None:
        run_key: Any = None
        run: list[Any] = []
        for name, args in self._commands:
            if name == "lpush" and len(args) == 2 and args[0] == run_key and len(run) < per_command:
                run.append(args[1])
                continue
            if run:
                # LPUSH k a b c leaves c at the head and the consumer pops the tail: a is
                # delivered first, as with one LPUSH per message in this order
                pipe.lpush(run_key, *run)
            if name == "lpush" and len(args) == 2:
                run_key, run = args[0], [args[1]]
            else:
                run_key, run = None, []
                getattr(pipe, name)(*args)
        if run:
            pipe.lpush(run_key, *run)
