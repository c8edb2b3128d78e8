"""`ReconnectingStream`: a `StreamSocket` that survives dropped connections and stalls.

A request that fails for a reason on the service's side or the network's is sent again,
on a fresh connection when the old one is gone, after an exponential backoff with jitter,
a bounded number of times. Errors that would repeat (a bad key, `E01xx`/`E02xx`, `E0300`,
limits checked before sending) are raised at once.

After a reconnect the service has forgotten the sliding-window context of the old
connection; payloads are self-contained, so only `stream_window_ms` aggregation is lost.
"""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from websockets.exceptions import ConnectionClosed

from hume_stream._client import HumeStreamClient
from hume_stream._socket import StreamSocket
from hume_stream.errors import HumeClientException
from hume_stream.models.config import ModelConfigBase
from hume_stream.models.messages import PredictionsMessage, WarningMessage

__all__ = ["ReconnectingStream", "RetryPolicy"]

T = TypeVar("T")
#: ``on_retry(error, attempt, delay_s)``: attempt `attempt` failed with `error`; the next
#: starts after `delay_s` seconds.
RetryHook = Callable[[BaseException, int, float], None]
#: ``on_reconnect(reconnects)``: a new connection replaced a lost one (running total).
ReconnectHook = Callable[[int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is tried again.

    The n-th retry waits ``min(max_delay_s, initial_delay_s * multiplier**(n-1))``, of
    which the fraction `jitter` is drawn at random, so that many clients dropped at once
    do not come back in step.
    """

    #: Tries per request, the first included (1 = never retry).
    max_attempts: int = 5
    initial_delay_s: float = 0.5
    max_delay_s: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError(
                "need 0 <= initial_delay_s <= max_delay_s, got "
                f"{self.initial_delay_s} and {self.max_delay_s}"
            )
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        ceiling = min(self.max_delay_s, self.initial_delay_s * self.multiplier ** (retry - 1))
        # Jitter only spreads clients apart; it needs no cryptographic randomness.
        return ceiling * (1 - self.jitter) + ceiling * self.jitter * random.random()  # noqa: S311


class ReconnectingStream:
    """A streaming connection that reopens itself and resends the request in flight.

    Use as an async context manager; it offers the methods of `StreamSocket`::

        async with ReconnectingStream(client, [ProsodyConfig()], request_timeout=30) as stream:
            reply = await stream.predict_bytes(wav_chunk)

    Retried (after backoff, up to ``policy.max_attempts`` tries per request): the connection
    closing (`ConnectionClosed`, e.g. the service's idle timeout), network errors
    (`OSError`), an open timeout, a request taking longer than `request_timeout`, a refused
    handshake with 5xx/429, a reply for another payload, and retryable API errors such as
    ``I0100``. A retryable API error keeps the connection; everything else opens a new one.
    Never retried: a 401, ``E01xx``/``E02xx``/``E03xx`` replies, limits checked before
    sending, and any other exception.

    Attributes:
        reconnects: New connections opened to replace a lost or discarded one.
        retries: Tries beyond the first, over all requests (initial connect included).
    """

    def __init__(
        self,
        client: HumeStreamClient,
        configs: Iterable[ModelConfigBase],
        stream_window_ms: int | None = None,
        *,
        policy: RetryPolicy | None = None,
        request_timeout: float | None = None,
        check_limits: bool = True,
        on_retry: RetryHook | None = None,
        on_reconnect: ReconnectHook | None = None,
    ) -> None:
        """Prepare the stream; the connection opens on ``async with``.

        Args:
            client: Client with the key and endpoint.
            configs: Model configs sent with every data message.
            stream_window_ms: Sliding-window length in ms (see `HumeStreamClient.connect`).
            policy: Retry bounds and backoff; `RetryPolicy()` when not given.
            request_timeout: Seconds to wait for one reply before the connection is
                treated as stalled, dropped and the request resent (None: wait forever).
            check_limits: Check media and text limits before sending.
            on_retry: Called before each backoff sleep, e.g. to count errors by type.
            on_reconnect: Called after each successful reconnect.
        """
        if request_timeout is not None and request_timeout <= 0:
            raise ValueError(f"request_timeout must be positive, got {request_timeout}")
        self._client = client
        self._configs = list(configs)
        self._stream_window_ms = stream_window_ms
        self._policy = policy or RetryPolicy()
        self._request_timeout = request_timeout
        self._check_limits = check_limits
        self._on_retry = on_retry
        self._on_reconnect = on_reconnect
        self._lock = asyncio.Lock()
        self._socket: StreamSocket | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._opened_before = False
        self.reconnects = 0
        self.retries = 0

    @property
    def socket(self) -> StreamSocket | None:
        """The current connection, if one is open."""
        return self._socket

    async def __aenter__(self) -> ReconnectingStream:
        await self._call(_connected)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the current connection; a later request opens a new one."""
        stack, self._exit_stack, self._socket = self._exit_stack, None, None
        if stack is not None:
            await stack.aclose()

    # ------------------------------------------------------------ StreamSocket's methods

    async def send_file(
        self, filepath: str | Path, configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """`StreamSocket.send_file`, retried."""
        raw = await asyncio.to_thread(Path(filepath).read_bytes)
        return await self.send_bytes(base64.b64encode(raw), configs)

    async def send_bytes(
        self, bytes_data: bytes, configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """`StreamSocket.send_bytes` (base64 input), retried."""
        chosen = _frozen(configs)
        return await self._call(lambda s: s.send_bytes(bytes_data, chosen))

    async def send_text(self, text: str, configs: Iterable[ModelConfigBase] | None = None) -> Any:
        """`StreamSocket.send_text`, retried."""
        chosen = _frozen(configs)
        return await self._call(lambda s: s.send_text(text, chosen))

    async def send_facemesh(
        self, landmarks: list[list[list[float]]], configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """`StreamSocket.send_facemesh`, retried."""
        chosen = _frozen(configs)
        return await self._call(lambda s: s.send_facemesh(landmarks, chosen))

    async def reset_stream(self) -> Any:
        """`StreamSocket.reset_stream`, retried."""
        return await self._call(lambda s: s.reset_stream())

    async def get_job_details(self) -> Any:
        """`StreamSocket.get_job_details`, retried (the job id changes with the connection)."""
        return await self._call(lambda s: s.get_job_details())

    async def predict_file(
        self,
        filepath: str | Path,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """`StreamSocket.predict_file`, retried with the same payload_id."""
        raw = await asyncio.to_thread(Path(filepath).read_bytes)
        return await self.predict_bytes(raw, configs, payload_id=payload_id)

    async def predict_bytes(
        self,
        data: bytes,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """`StreamSocket.predict_bytes` (raw input), retried with the same payload_id."""
        chosen, pid = _frozen(configs), payload_id or str(uuid.uuid4())
        return await self._call(lambda s: s.predict_bytes(data, chosen, payload_id=pid))

    async def predict_text(
        self,
        text: str,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """`StreamSocket.predict_text`, retried with the same payload_id."""
        chosen, pid = _frozen(configs), payload_id or str(uuid.uuid4())
        return await self._call(lambda s: s.predict_text(text, chosen, payload_id=pid))

    async def predict_facemesh(
        self,
        landmarks: list[list[list[float]]],
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """`StreamSocket.predict_facemesh`, retried with the same payload_id."""
        chosen, pid = _frozen(configs), payload_id or str(uuid.uuid4())
        return await self._call(lambda s: s.predict_facemesh(landmarks, chosen, payload_id=pid))

    # ------------------------------------------------------------ retry loop

    async def _call(self, operation: Callable[[StreamSocket], Awaitable[T]]) -> T:
        async with self._lock:
            attempt = 0
            while True:
                attempt += 1
                try:
                    socket = await self._open_socket()
                    async with asyncio.timeout(self._request_timeout):
                        return await operation(socket)
                except Exception as exc:
                    if not _is_retryable(exc):
                        raise
                    if not _keeps_connection(exc, self._socket):
                        await self.aclose()
                    if attempt >= self._policy.max_attempts:
                        raise _gave_up(exc, attempt) from exc
                    delay = self._policy.delay(attempt)
                    self.retries += 1
                    if self._on_retry is not None:
                        self._on_retry(exc, attempt, delay)
                    await asyncio.sleep(delay)

    async def _open_socket(self) -> StreamSocket:
        if self._socket is not None and self._socket.is_open:
            return self._socket
        await self.aclose()
        stack = AsyncExitStack()
        self._socket = await stack.enter_async_context(
            self._client.connect(
                self._configs, self._stream_window_ms, check_limits=self._check_limits
            )
        )
        self._exit_stack = stack
        if self._opened_before:
            self.reconnects += 1
            if self._on_reconnect is not None:
                self._on_reconnect(self.reconnects)
        self._opened_before = True
        return self._socket


async def _connected(socket: StreamSocket) -> None:
    """The no-op request that opens the first connection under the retry policy."""


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, HumeClientException):
        return exc.retryable
    # OSError covers refused/reset connections; TimeoutError both open and request timeouts.
    return isinstance(exc, ConnectionClosed | OSError | TimeoutError)


def _keeps_connection(exc: Exception, socket: StreamSocket | None) -> bool:
    """An API error reply (e.g. I0100) leaves a healthy connection; anything else does not."""
    return (
        isinstance(exc, HumeClientException)
        and exc.code is not None
        and socket is not None
        and socket.is_open
    )


def _frozen(configs: Iterable[ModelConfigBase] | None) -> list[ModelConfigBase] | None:
    # An iterator would be spent by the first try; a list can be sent again.
    return None if configs is None else list(configs)


def _gave_up(last: Exception, attempts: int) -> HumeClientException:
    """The exception after the last retry: what went wrong, the code and HTTP status of a
    refused handshake kept."""
    code = status = None
    if isinstance(last, HumeClientException):
        code, status = last.code, last.status
    refused = "" if status is None else f" (HTTP {status})"
    return HumeClientException(
        f"Streaming request failed after {attempts} attempts; last error: "
        f"{type(last).__name__}: {last}{refused}",
        code=code,
        retryable=True,
        status=status,
    )
