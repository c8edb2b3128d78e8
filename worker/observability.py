"""Metrics, health and queue-depth sampling wired into the Celery worker's life cycle.

`install(app, settings)` connects the signals; everything else follows from them:

    celeryd_after_setup      (main process, logging configured, pool not yet forked) clear
                             stale multiprocess files, start the alerted series at 0, serve
                             /metrics /healthz /readyz on METRICS_PORT, start the
                             queue-depth sampler
    worker_process_init      (each child) close the inherited listening socket
    worker_process_shutdown  (each child, clean exit) mark_process_dead for its live gauges;
                             children that die uncleanly are handled at every scrape
    worker_shutdown          (main process) stop the sampler and the server

Multiprocess mode itself is switched on when the `worker` package is imported (see
`worker.metrics_dir`), long before any of these signals.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import prometheus_client.values
from celery import Celery
from celery.signals import (
    celeryd_after_setup,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)
from prometheus_client.multiprocess import mark_process_dead

from worker import health, metrics, metrics_dir, runtime
from worker.logs import get_logger
from worker.queue_depth import QueueDepthSampler
from worker.settings import FleetSettings
from worker.status_server import StatusServer, make_app

log = get_logger(__name__)


class MultiprocessModeOff(RuntimeError):
    """prometheus-client was imported before PROMETHEUS_MULTIPROC_DIR was set."""


class Observability:
    """The worker's metrics endpoint and sampler, started and stopped by Celery signals."""

    def __init__(self, app: Celery, settings: FleetSettings) -> None:
        self.app = app
        self.settings = settings
        self.server: StatusServer | None = None
        self.sampler: QueueDepthSampler | None = None

    def on_worker_setup(self, instance: Any = None, **_: Any) -> None:
        if getattr(instance, "app", self.app) is not self.app:
            return  # another app's worker in the same process
        try:
            self.start()
        except (OSError, MultiprocessModeOff) as exc:
            # A worker nobody can scrape or probe must not run: the orchestrator would see
            # a dead pod anyway, so say why and stop here. (SystemExit passes Celery's
            # signal dispatch, which swallows ordinary exceptions.)
            log.critical(
                "observability.start_failed",
                metrics_port=self.settings.metrics_port,
                error=str(exc),
            )
            raise SystemExit(1) from exc

    def start(self) -> None:
        """Serve the endpoint and start sampling (the main process, before forking)."""
        if not prometheus_client.values.ValueClass._multiprocess:
            raise MultiprocessModeOff(
                f"prometheus-client runs in single-process mode: {metrics_dir.ENV} was not "
                "set when it was imported (import the worker package before anything that "
                "imports prometheus_client, or set the variable in the environment)"
            )
        path = metrics_dir.current()
        stale = metrics_dir.clear_stale(path)
        # In the main process's own file: there for every pool kind (solo and threads
        # run jobs in this process; prefork children inherit the series).
        metrics.start_series(self.settings.hume_api)
        secrets = tuple(runtime.secrets(self.settings))
        checks = {
            "broker": health.broker_check(self.settings.broker),
            "redis": health.redis_check(self.settings.store_url),
        }
        self.server = StatusServer(
            make_app(path, checks, secrets), self.settings.metrics_port
        ).start()
        log.info(
            "observability.serving",
            port=self.server.port,
            multiproc_dir=str(path),
            stale_files_removed=len(stale),
        )
        if urlsplit(self.settings.broker).scheme in ("redis", "rediss", "unix"):
            self.sampler = QueueDepthSampler(self.settings.broker, [self.settings.fleet_queue])
            self.sampler.start()
        else:
            log.info("queue_depth.not_sampled", reason="broker is not Redis")

    def on_process_init(self, **_: Any) -> None:
        if self.server is not None:
            self.server.close_inherited()

    def on_process_shutdown(self, pid: int | None = None, **_: Any) -> None:
        mark_process_dead(pid or os.getpid(), str(metrics_dir.current()))

    def on_worker_shutdown(self, **_: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        if self.server is not None:
            self.server.stop()
            self.server = None


def install(app: Celery, settings: FleetSettings) -> Observability:
    """Connect the worker's metrics, health endpoint and queue sampling to `app`'s signals.

    Call once, where the app is defined; it does nothing until a worker starts.
    """
    obs = Observability(app, settings)
    uid = f"hume-fleet-observability-{id(app)}"
    celeryd_after_setup.connect(obs.on_worker_setup, weak=False, dispatch_uid=uid)
    worker_process_init.connect(obs.on_process_init, weak=False, dispatch_uid=uid)
    worker_process_shutdown.connect(obs.on_process_shutdown, weak=False, dispatch_uid=uid)
    worker_shutdown.connect(obs.on_worker_shutdown, weak=False, dispatch_uid=uid)
    return obs
