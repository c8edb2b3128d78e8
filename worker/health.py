"""Readiness: can this worker reach its broker and its store right now?

Each check is a PING with short timeouts, so a probe answers well inside Kubernetes'
probe timeout even when a server is black-holed. Failure reasons are redacted: a
connection error may quote the URL, password included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.forkguard import FORK_GUARD
from worker.logs import redact

#: Seconds one check may take (connect and reply, each).
CHECK_TIMEOUT_S = 1.0

_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})

Check = Callable[[], None]
"""Returns when the dependency answers; raises otherwise."""


def redis_check(url: str, timeout: float = CHECK_TIMEOUT_S) -> Check:
    """PING the Redis at `url`."""

    def check() -> None:
        # No retries: a probe reports the state now; the next probe is the retry.
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.ping()
        finally:
            client.close()

    return check


def broker_check(url: str, timeout: float = CHECK_TIMEOUT_S) -> Check:
    """PING a Redis broker; for other transports (AMQP), open and close a connection
    (one attempt: max_retries=0 means no retry to kombu)."""
    if urlsplit(url).scheme in _REDIS_SCHEMES:
        return redis_check(url, timeout)

    def check() -> None:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)

    return check


@dataclass(frozen=True)
class Readiness:
    """The outcome of every check: `ready`, and per dependency "ok" or why not."""

    checks: Mapping[str, str]

    @property
    def ready(self) -> bool:
        return all(result == "ok" for result in self.checks.values())

    @property
    def reason(self) -> str:
        """The failed checks, `name: error; …` (empty when ready)."""
        return "; ".join(f"{name}: {res}" for name, res in self.checks.items() if res != "ok")


def check_all(checks: Mapping[str, Check], secrets: tuple[str, ...] = ()) -> Readiness:
    """Run every check; an exception becomes its redacted `Type: message`."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            with FORK_GUARD:  # a TLS handshake must not be half-done when the pool forks
                check()
        except Exception as exc:  # any failure means not ready, whatever the client raised
            results[name] = redact(f"{type(exc).__name__}: {exc}", secrets)
        else:
            results[name] = "ok"
    return Readiness(results)
