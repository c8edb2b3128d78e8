"""What one worker process owns: settings, the job store, the connection limiter and the
socket runner. Created once per process (at prefork child init, or lazily on the first
job under `--pool solo`/`threads`), closed at process shutdown."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError
from redis.retry import Retry

from hume_stream import HumeStreamClient, ReconnectingStream, RetryPolicy
from worker import metrics
from worker.limiter import ConnectionLimiter, wait_for_slot
from worker.runner import SocketRunner
from worker.settings import FleetSettings
from worker.store import JobStore

#: The service's sliding window, at its minimum. Payloads are self-contained chunks of a
#: file, so no earlier audio should be prepended: a payload at least this long gets none.
STREAM_WINDOW_MS = 500
#: Store commands are retried through a Redis outage (a restart, a failover, loading its
#: data) for about two minutes, at most 5 s apart: a job that started or finished meanwhile
#: would otherwise raise out of the task, and Celery would drop its message, leaving the
#: job `running` for ever. Every store write is idempotent or counted on purpose.
STORE_RETRY = Retry(ExponentialBackoff(cap=5.0, base=0.1), retries=30)


@dataclass
class Runtime:
    settings: FleetSettings
    store: JobStore
    limiter: ConnectionLimiter
    runner: SocketRunner
    worker_id: str


_current: Runtime | None = None
_lock = threading.Lock()


def secrets(settings: FleetSettings) -> list[str]:
    """Values that must never reach a log line."""
    out = [settings.hume_api_key.get_secret_value()] if settings.hume_api_key else []
    for url in (settings.redis_url, settings.broker_url):
        password = urlsplit(url.get_secret_value()).password if url else None
        if password:
            # as written in the URL and decoded (a client may quote either form)
            out += [password, unquote(password)]
    return out


def start(settings: FleetSettings) -> Runtime:
    """Build this process's runtime (idempotent). Opens no connection: fast enough for
    Celery's process-init deadline."""
    global _current
    with _lock:
        if _current is None:
            worker_id = f"{socket.gethostname()}:{os.getpid()}"
            client = redis.Redis.from_url(
                settings.store_url,
                health_check_interval=30,
                retry=STORE_RETRY,
                retry_on_error=[BusyLoadingError],
            )
            limiter = ConnectionLimiter(client, settings.fleet_max_api_connections)
            runner = SocketRunner(
                lambda: _open_stream(settings, limiter, worker_id),
                on_close=lambda: limiter.release(worker_id),
            )
            runner.start()
            _current = Runtime(
                settings=settings,
                store=JobStore(client, settings.fleet_result_ttl_s),
                limiter=limiter,
                runner=runner,
                worker_id=worker_id,
            )
        return _current


def get() -> Runtime:
    """This process's runtime, built from the app's settings on first use."""
    if _current is not None:
        return _current
    from worker.app import settings  # the app module owns the process's settings

    return start(settings)


def stop() -> None:
    """Close the socket and stop the loop thread."""
    global _current
    with _lock:
        if _current is not None:
            _current.runner.stop()
            _current.limiter.release(_current.worker_id)
            _current = None


async def _open_stream(
    settings: FleetSettings, limiter: ConnectionLimiter, holder: str
) -> ReconnectingStream:
    await wait_for_slot(limiter, holder)
    if settings.hume_api_key is None:
        raise RuntimeError("HUME_API_KEY (or HUME_API_KEY_FILE) is not set")
    client = HumeStreamClient(
        settings.hume_api_key.get_secret_value(),
        url=settings.hume_stream_url,
        ssl=settings.hume_ssl_context(),
    )
    stream = ReconnectingStream(
        client,
        [],
        STREAM_WINDOW_MS,
        policy=RetryPolicy(max_attempts=5),
        request_timeout=settings.fleet_api_request_timeout_s,
        on_retry=lambda exc, attempt, delay: metrics.API_ERRORS.labels(_error_code(exc)).inc(),
        on_reconnect=lambda total: metrics.RECONNECTS.inc(),
    )
    await stream.__aenter__()
    return stream


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return str(code) if code else type(exc).__name__
