"""The worker's Redis broker transport: kombu's, with one repair.

When the broker connection is lost, Celery's consumer tears down the transport and then
closes the connection. Closing the channel restores its unacknowledged messages, which
builds a Redis client from the transport that is already gone: kombu raises
AttributeError there, which Celery treats as unrecoverable, so the worker's main process
stops instead of reconnecting. Here that restore is skipped when the transport is gone:
the messages stay in Redis's unacked hash, and a worker restores them after the
visibility timeout (a job that finished meanwhile is then acknowledged without running).
"""

from __future__ import annotations

from typing import Any

import kombu.transport
from kombu.transport import redis as kombu_redis

from worker.logs import get_logger

__all__ = ["Transport", "install"]

log = get_logger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self.channel.connection.client is None:
            log.warning(
                "broker.restore_deferred",
                unacked=len(self._delivered),
                detail="the broker connection is gone: unacked messages come back after "
                "the visibility timeout",
            )
            return
        super().restore_unacked(client)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make redis:// and rediss:// broker URLs use this transport in this process."""
    for scheme in ("redis", "rediss"):
        kombu.transport.TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
        # kombu caches the class an alias resolved to: forget one resolved before this call
        kombu.transport._transport_cache.pop(scheme, None)
