"""Opening a WebSocket to a Hume endpoint, shared by the v0 stream and v1 realtime clients:
handshake headers, TLS, keepalive, and refused handshakes mapped to `HumeClientException`,
with credentials kept out of every log line and repr."""

from __future__ import annotations

import logging
import re
import ssl as ssl_lib
from collections.abc import Collection, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from hume_stream.errors import HumeClientException

__all__ = ["WS_LOGGER", "Secret", "open_websocket", "redact", "shown_url"]

# Handshake headers whose values are credentials (v1 also takes a bearer token).
_SECRET_HEADERS: Final = frozenset({"x-hume-api-key", "authorization"})
_APIKEY_QUERY = re.compile(r"(?i)(apikey=)[^&\s]*")
#: Keepalive: the `websockets` defaults, which the SDK relies on; a dead peer is noticed
#: within ping interval + ping timeout even while no request is in flight.
PING_INTERVAL_S: Final = 20.0
PING_TIMEOUT_S: Final = 20.0
#: Refused handshakes worth retrying besides 5xx: rate limited, request timeout.
RETRYABLE_STATUSES: Final = frozenset({408, 429})


def _client_version() -> str:
    """This distribution's version, for the informational client headers."""
    try:
        return version("hume-fleet")
    except PackageNotFoundError:
        return "0+unknown"


def shown_url(url: str) -> str:
    """The URL as a repr shows it: no user-info, and a query (which may carry a credential,
    whatever its name) as ``?***``."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" + ("?***" if parts.query else "")


def redact(text: str) -> str:
    """Hide an ``apikey=`` query value (the browser way of passing the key)."""
    return _APIKEY_QUERY.sub(r"\1***", text)


class _RedactKeyFilter(logging.Filter):
    """`websockets` logs every handshake header at DEBUG; never let the key through."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if len(args) == 2 and str(args[0]).lower() in _SECRET_HEADERS:
                record.args = (args[0], "***")
            else:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


WS_LOGGER = logging.getLogger("hume_stream.websocket")
WS_LOGGER.addFilter(_RedactKeyFilter())
_LOG = logging.getLogger("hume_stream")


class Secret:
    """A string that never shows itself in a repr, str or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__


async def open_websocket(
    url: str,
    headers: Mapping[str, str],
    *,
    ssl: ssl_lib.SSLContext | None,
    open_timeout: float | None,
    close_timeout: float | None,
    ping_interval: float | None,
    ping_timeout: float | None,
    max_size: int,
    invalid_key_message: str,
    unexpected_message: str,
    retryable_statuses: Collection[int] = RETRYABLE_STATUSES,
) -> ClientConnection:
    """Open the connection, with `headers` (the credential) and the client's name and
    version; a refused handshake raises `HumeClientException` with its HTTP
    `status`: the `invalid_key_message` on 401, else `unexpected_message`, retryable for 5xx
    and `retryable_statuses`. Network errors and an open timeout propagate as they are."""
    tls: dict[str, Any] = {}
    if ssl is not None:
        tls["ssl"] = ssl
        if ssl.verify_mode == ssl_lib.CERT_NONE:
            _LOG.warning("TLS certificate verification is OFF for %s: test endpoints only",
                         shown_url(url))  # fmt: skip
    try:
        return await ws_connect(
            url,
            **tls,
            additional_headers={
                **headers,
                "X-Hume-Client-Name": "hume_stream",
                "X-Hume-Client-Version": _client_version(),
            },
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_size=max_size,
            # Payloads are base64 of compressed media or raw PCM: deflate costs more CPU
            # than it saves in bytes.
            compression=None,
            logger=WS_LOGGER,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise HumeClientException(invalid_key_message, status=status) from exc
        retryable = status >= 500 or status in retryable_statuses
        raise HumeClientException(unexpected_message, retryable=retryable, status=status) from exc
    except InvalidHandshake as exc:
        # The server answered something that is not a handshake, or hung up mid-way.
        raise HumeClientException(unexpected_message, retryable=True) from exc
