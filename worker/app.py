"""The Celery application: `celery -A worker.app worker -Q hume`.

Reliability settings are chosen on purpose; each says why.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_init, worker_process_init, worker_process_shutdown

from worker import broker, logs, observability, runtime
from worker.settings import FleetSettings

settings = FleetSettings()
# A Redis restart must not stop the worker (see worker.broker).
broker.install()

app = Celery("hume_fleet", broker=settings.broker, include=["worker.tasks"])
app.conf.update(
    # JSON only: a message is data, never code (no pickle).
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    # Results live in our own store (worker.store); Celery's result backend is not used.
    task_ignore_result=True,
    task_default_queue=settings.fleet_queue,
    # Acknowledge after the job, so a job whose process dies is delivered again; the store's
    # attempt counter turns a job that kills its process every time into `dead`.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One job per process at a time and nothing reserved behind it: work waiting in the queue
    # stays visible to the autoscaler and to idle processes.
    worker_prefetch_multiplier=1,
    worker_disable_prefetch=True,
    # Backstop for a job that hangs beyond any media-derived limit (the pipeline enforces a
    # tighter, duration-based deadline itself).
    task_time_limit=settings.fleet_task_hard_limit_s,
    task_soft_time_limit=settings.soft_time_limit_s,
    # A job stopped by the hard limit (its process killed) goes back to the queue like one
    # whose process died otherwise, so the attempt counter can make it `dead`. Celery's
    # default acknowledges it, which leaves the job `running` for ever.
    task_acks_on_failure_or_timeout=False,
    # Redis redelivers unacked messages after visibility_timeout: it must exceed the hard
    # limit or long jobs run twice.
    broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
    result_backend_transport_options={"visibility_timeout": settings.visibility_timeout_s},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
)


def _setup_logging(**_: Any) -> None:
    logs.configure(settings.log_level, settings.log_format, secrets=runtime.secrets(settings))
    for warning in settings.tls_warnings():
        logs.get_logger(__name__).warning("settings.insecure_transport", detail=warning)


def _worker_init(sender: Any, **_: Any) -> None:
    # Celery's disable-prefetch gate counts pool processes; the solo and threads pools stop
    # fetching after their first job under it, so they keep prefetch at its minimum instead.
    pool = getattr(sender.pool_cls, "__module__", str(sender.pool_cls))
    if "prefork" not in pool:
        sender.app.conf.worker_disable_prefetch = False


def _process_init(**_: Any) -> None:
    # Celery gives this handler ~4 s: only start the loop thread; the socket opens lazily.
    runtime.start(settings)


def _process_shutdown(**_: Any) -> None:
    runtime.stop()


setup_logging.connect(_setup_logging)
worker_init.connect(_worker_init)
worker_process_init.connect(_process_init)
worker_process_shutdown.connect(_process_shutdown)
observability.install(app, settings)
