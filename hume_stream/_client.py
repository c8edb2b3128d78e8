"""`HumeStreamClient`: holds the key and endpoint, opens `StreamSocket` connections."""

from __future__ import annotations

import os
import ssl as ssl_lib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection

from hume_stream._api_type import ApiType
from hume_stream._checks import check_stream_window_ms
from hume_stream._socket import StreamSocket
from hume_stream._transport import (
    PING_INTERVAL_S,
    PING_TIMEOUT_S,
    Secret,
    open_websocket,
    shown_url,
)
from hume_stream.limits import MAX_RESPONSE_BYTES
from hume_stream.models.config import ModelConfigBase, serialize_configs

__all__ = ["DEFAULT_STREAM_URL", "STREAM_URL_ENV", "HumeStreamClient"]

DEFAULT_STREAM_URL: Final = "wss://api.hume.ai/v0/stream/models"
#: Environment variable with the full WebSocket URL of the endpoint, path included.
STREAM_URL_ENV: Final = "HUME_STREAM_URL"

#: The SDK's messages for a refused handshake.
INVALID_KEY: Final = "HumeStreamClient initialized with invalid API key."
UNEXPECTED_CONNECT: Final = "Unexpected error when creating streaming connection"

_API_KEY_HEADER: Final = "X-Hume-Api-Key"

# Positional extras of the SDK's constructor, in its order (`ClientBase.__init__`).
_SDK_EXTRAS: Final = ("_api_version", "_api_http_base_url", "_api_ws_base_uri")


class HumeStreamClient:
    """Client for Hume's Expression Measurement streaming API (v0), SDK 0.4.x compatible.

    Example:
        ```python
        client = HumeStreamClient("<your-api-key>")
        async with client.connect([BurstConfig(), ProsodyConfig()]) as socket:
            result = await socket.send_file("<your-audio-filepath>")
        ```

    The endpoint is, first found: the ``url=`` keyword (full WebSocket URL, path
    included); the SDK's ``_api_ws_base_uri``/``_api_version`` (``{base}/{version}/stream/
    models``); the ``HUME_STREAM_URL`` environment variable (full URL); else
    ``wss://api.hume.ai/v0/stream/models``.
    """

    def __init__(
        self,
        api_key: str,
        *args: Any,
        open_timeout: float | None = 10,
        close_timeout: float | None = 10,
        url: str | None = None,
        ping_interval: float | None = PING_INTERVAL_S,
        ping_timeout: float | None = PING_TIMEOUT_S,
        ssl: ssl_lib.SSLContext | None = None,
        **kwargs: Any,
    ) -> None:
        """Build a client; nothing is opened until `connect`.

        Args:
            api_key: Hume API key, sent as the ``X-Hume-Api-Key`` handshake header.
            *args: The SDK's positional ``_api_version``, ``_api_http_base_url`` (unused by
                the stream) and ``_api_ws_base_uri``.
            open_timeout: Seconds allowed for the opening handshake (None: no limit).
            close_timeout: Seconds allowed for the closing handshake (None: no limit).
            url: Full WebSocket URL of the endpoint, overriding everything else.
            ping_interval: Seconds between keepalive pings (None: no pings).
            ping_timeout: Seconds to wait for a pong before the connection is dropped.
            ssl: TLS context for a ``wss://`` endpoint (e.g. one trusting a private CA).
                None: the default context, which verifies the server's certificate. A
                context that does not verify is logged as a WARNING on every connect.
            **kwargs: The SDK's ``_api_version``, ``_api_http_base_url``,
                ``_api_ws_base_uri`` by keyword.

        Raises:
            ValueError: An empty key, a URL that is not ``ws://`` or ``wss://``, or
                ``ssl`` with a ``ws://`` URL.
            TypeError: An argument the SDK's constructor does not take either.
        """
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("An API key is required to connect to the streaming API.")
        if len(args) > len(_SDK_EXTRAS):
            raise TypeError(
                f"HumeStreamClient takes at most {len(_SDK_EXTRAS) + 1} positional "
                f"arguments ({len(args) + 1} given)"
            )
        extras = dict(zip(_SDK_EXTRAS, args, strict=False))
        for name, value in kwargs.items():
            if name not in _SDK_EXTRAS:
                raise TypeError(f"HumeStreamClient got an unexpected keyword argument {name!r}")
            if name in extras:
                raise TypeError(f"HumeStreamClient got multiple values for argument {name!r}")
            extras[name] = value
        self._api_key = Secret(api_key)
        self._url = _endpoint(url, extras)
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        if ssl is not None and urlsplit(self._url).scheme != "wss":
            raise ValueError(f"ssl= needs a wss:// URL, got {shown_url(self._url)!r}")
        self._ssl = ssl

    @classmethod
    def get_api_type(cls) -> ApiType:
        """The API this client talks to: `ApiType.STREAM`."""
        return ApiType.STREAM

    @property
    def url(self) -> str:
        """The endpoint this client connects to."""
        return self._url

    def __repr__(self) -> str:
        return f"HumeStreamClient(url={shown_url(self._url)!r}, api_key=***)"

    @asynccontextmanager
    async def connect(
        self,
        configs: Iterable[ModelConfigBase],
        stream_window_ms: int | None = None,
        *,
        check_limits: bool = True,
    ) -> AsyncIterator[StreamSocket]:
        """Open a connection and yield a `StreamSocket`; it is closed on exit, also on error.

        Only the last config of each model type is used. Configs and the window are checked
        before anything is opened.

        Args:
            configs: Model configs sent with every data message.
            stream_window_ms: Sliding-window length in ms (500 to 10 000) for audio context.
            check_limits: Check media and text limits before sending (see `StreamSocket`).

        Raises:
            HumeClientException: ``HumeStreamClient initialized with invalid API key.`` on
                HTTP 401; ``Unexpected error when creating streaming connection`` for any
                other refused handshake (``retryable`` for 5xx and 429); a config the
                stream does not run (e.g. `NerConfig`).
            OSError: The endpoint cannot be reached.
            TimeoutError: The handshake took longer than ``open_timeout``.
        """
        configs = list(configs)
        serialize_configs(configs)
        check_stream_window_ms(stream_window_ms)
        protocol = await self._open()
        try:
            yield StreamSocket(protocol, configs, stream_window_ms, check_limits=check_limits)
        finally:
            await protocol.close()

    async def _open(self) -> ClientConnection:
        return await open_websocket(
            self._url,
            {_API_KEY_HEADER: self._api_key.reveal()},
            ssl=self._ssl,
            open_timeout=self._open_timeout,
            close_timeout=self._close_timeout,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            max_size=MAX_RESPONSE_BYTES,
            invalid_key_message=INVALID_KEY,
            unexpected_message=UNEXPECTED_CONNECT,
        )


def _endpoint(url: str | None, extras: dict[str, Any]) -> str:
    if url is None and ("_api_ws_base_uri" in extras or "_api_version" in extras):
        base = str(extras.get("_api_ws_base_uri") or "wss://api.hume.ai").rstrip("/")
        url = f"{base}/{extras.get('_api_version') or 'v0'}/{ApiType.STREAM.value}/models"
    if url is None:
        url = os.environ.get(STREAM_URL_ENV) or DEFAULT_STREAM_URL
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(
            f"Streaming URL must be ws://HOST/… or wss://HOST/…, got {shown_url(url)!r}"
        )
    return url
