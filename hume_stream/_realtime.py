"""`RealtimeClient` and `RealtimeSession`: the v1 realtime audio API (PROTOCOL-v1.md).

One session is one WebSocket connection: `session.created` on open, `session.update`
before any audio, binary PCM frames paced at no more than real time, results arriving
asynchronously (`utterance.start`, `measurement.result`, `utterance.end`), and
`session.close` answered by the last results and `session.closed` with totals.

Accepted frames are not acknowledged, and times count only accepted audio, so a frame the
server rejects as `rate_limited` must be sent again or every later offset shifts. The
server answers frames in order and answers a rejected one at once; the session therefore
keeps at most one frame *unsettled*: after sending a frame it waits a settle window (a few
round trips, measured with a ping when the session opens) for a rejection before it takes
the frame as accepted. A rejection in that window is the frame's: it is resent after a
short wait, with its audio handed back to the pacer. A rejection that arrives later cannot
be placed, so the session fails (retryable) rather than return shifted times. Frames are
at least as long as the settle window, so waiting for it never slows the stream below
real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import ssl as ssl_lib
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from hume_stream._pacer import RealtimePacer
from hume_stream._transport import (
    PING_INTERVAL_S,
    PING_TIMEOUT_S,
    Secret,
    open_websocket,
    shown_url,
)
from hume_stream.errors import HumeClientException, RealtimeCode, realtime_exception
from hume_stream.limits import (
    MEASUREMENT_TIMER_MS_MAX,
    MEASUREMENT_TIMER_MS_MIN,
    REALTIME_BYTES_PER_MS,
    REALTIME_CHANNELS,
    REALTIME_FRAME_MAX_BYTES,
    REALTIME_FRAME_MS_DEFAULT,
    REALTIME_MESSAGE_MAX_BYTES,
    REALTIME_SAMPLE_RATE,
)
from hume_stream.models.realtime import (
    AudioFormatUpdate,
    MeasurementResult,
    RealtimeError,
    RealtimeEvent,
    SessionClose,
    SessionClosed,
    SessionCreated,
    SessionUpdate,
    SessionUpdated,
    parse_realtime_event,
)

__all__ = [
    "DEFAULT_REALTIME_URL",
    "INVALID_CREDENTIALS",
    "REALTIME_URL_ENV",
    "RealtimeClient",
    "RealtimeSession",
]

DEFAULT_REALTIME_URL: Final = "wss://api.cloud.hume.ai/v1/expression/audio/realtime"
#: Environment variable with the full WebSocket URL of the realtime endpoint.
REALTIME_URL_ENV: Final = "HUME_REALTIME_URL"
#: The SDK's messages for a refused handshake (PROTOCOL-v1.md §1).
INVALID_CREDENTIALS: Final = "Websocket initialized with invalid credentials."
UNEXPECTED_CONNECT: Final = "Unexpected error when initializing websocket connection."

# The settle window: this many round trips plus a margin, never below the floor (the
# server's own processing time is in it as well as the network's).
_SETTLE_RTTS: Final = 3.0
_SETTLE_MARGIN_S: Final = 0.01
_SETTLE_FLOOR_S: Final = 0.05
# A rejected frame is resent after this pause (the docs: "wait briefly"), at most this often.
_RESEND_PAUSE_S: Final = 0.05
_MAX_RESENDS: Final = 20
_SESSION_ENDING: Final = frozenset(
    {RealtimeCode.CONFIG_INVALID, RealtimeCode.MESSAGE_TOO_LARGE, RealtimeCode.INTERNAL_ERROR}
)
_FRAME_ERRORS: Final = frozenset({RealtimeCode.RATE_LIMITED, RealtimeCode.INVALID_AUDIO_FRAME})


class RealtimeClient:
    """Client for the v1 realtime audio endpoint; opens one `RealtimeSession` per connect.

    Example:
        ```python
        client = RealtimeClient("<your-api-key>")
        async with client.connect(measurement_timer_ms=3000) as session:
            reader = asyncio.create_task(collect(session.events()))
            await session.send_audio(pcm_s16le_16k_mono)
            closed = await session.close()
        ```

    The endpoint is the ``url=`` keyword, else ``HUME_REALTIME_URL``, else
    ``wss://api.cloud.hume.ai/v1/expression/audio/realtime``. The credential is an API key
    (``X-Hume-Api-Key``) or an access token (``Authorization: Bearer``), exactly one.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        access_token: str | None = None,
        url: str | None = None,
        open_timeout: float | None = 10,
        close_timeout: float | None = 10,
        ping_interval: float | None = PING_INTERVAL_S,
        ping_timeout: float | None = PING_TIMEOUT_S,
        ssl: ssl_lib.SSLContext | None = None,
    ) -> None:
        """Build a client; nothing is opened until `connect`.

        Args:
            api_key: Hume API key, sent as ``X-Hume-Api-Key`` on the handshake.
            access_token: An access token instead, sent as ``Authorization: Bearer``.
            url: Full WebSocket URL of the endpoint, path included.
            open_timeout: Seconds allowed for the handshake and `session.created`.
            close_timeout: Seconds allowed for the closing handshake.
            ping_interval: Seconds between keepalive pings (None: none).
            ping_timeout: Seconds to wait for a pong before the connection is dropped.
            ssl: TLS context for a ``wss://`` endpoint (e.g. one trusting a private CA).

        Raises:
            ValueError: Neither or both credentials, a URL that is not ws:// or wss://, or
                ``ssl`` with a ``ws://`` URL.
        """
        if bool(api_key) == bool(access_token):
            raise ValueError("Give exactly one credential: api_key or access_token.")
        if api_key:
            header, value = "X-Hume-Api-Key", api_key
        else:
            header, value = "Authorization", f"Bearer {access_token}"
        self._header = header
        self._credential = Secret(value)
        self._url = _realtime_endpoint(url)
        if ssl is not None and urlsplit(self._url).scheme != "wss":
            raise ValueError(f"ssl= needs a wss:// URL, got {self._url!r}")
        self._ssl = ssl
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout

    @property
    def url(self) -> str:
        """The endpoint this client connects to."""
        return self._url

    def __repr__(self) -> str:
        return f"RealtimeClient(url={shown_url(self._url)!r}, credential=***)"

    @asynccontextmanager
    async def connect(
        self,
        measurement_timer_ms: int | None = None,
        *,
        frame_ms: int = REALTIME_FRAME_MS_DEFAULT,
        speed: float = 1.0,
        settle_s: float | None = None,
        burst_ms: float = 0.0,
    ) -> AsyncIterator[RealtimeSession]:
        """Open a session, configure it, and yield it; on exit it is closed.

        A `session.update` naming the audio format (and the timer, when given) is sent and
        its `session.updated` awaited before the session is yielded, so the configuration
        is locked in before any audio. Leaving the block without `close()` sends
        `session.close` and waits for `session.closed`; leaving it on an error drops the
        connection.

        Args:
            measurement_timer_ms: Speech between measurements, 3000 to 10 000 ms (default
                3000, the service's).
            frame_ms: Audio per binary frame (100 recommended); raised to the settle window
                when the network is slow.
            speed: Pacing in audio seconds per wall second; 1.0 is the service's limit.
            settle_s: How long a frame may still be rejected after it was sent (default:
                three round trips measured when the session opens, at least 50 ms).
            burst_ms: How far the audio may run ahead of real time to catch up after a
                delay (`RealtimePacer`); keep it under the service's tolerance.

        Raises:
            HumeClientException: ``Websocket initialized with invalid credentials.`` on 401;
                ``Unexpected error when initializing websocket connection.`` for any other
                refused handshake (``retryable`` for 5xx, 408, 429); an error in answer to
                the configuration (``config_invalid``).
            OSError: The endpoint cannot be reached.
            TimeoutError: No handshake or no `session.created` within ``open_timeout``.
        """
        _check_timer(measurement_timer_ms)
        if not 1 <= frame_ms <= REALTIME_FRAME_MAX_BYTES // REALTIME_BYTES_PER_MS:
            raise ValueError(f"frame_ms must be 1 to 10 000, got {frame_ms}")
        protocol = await self._open()
        session: RealtimeSession | None = None
        try:
            async with asyncio.timeout(self._open_timeout):
                created = await _first_message(protocol)
                rtt = await (await protocol.ping())
            settle = settle_s if settle_s is not None else _settle_window(rtt)
            session = RealtimeSession(
                protocol,
                created,
                frame_ms=max(frame_ms, math.ceil(settle * 1000)),
                pacer=RealtimePacer(speed, burst_ms=burst_ms),
                settle_s=settle,
            )
            await session._configure(measurement_timer_ms, self._open_timeout)
            yield session
            if not session.closed:
                await session.close(wait_s=self._close_timeout)
        finally:
            if session is not None:
                await session._shutdown()
            await protocol.close()

    async def _open(self) -> ClientConnection:
        return await open_websocket(
            self._url,
            {self._header: self._credential.reveal()},
            ssl=self._ssl,
            open_timeout=self._open_timeout,
            close_timeout=self._close_timeout,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            # The service sends small JSON messages; 1 MiB is its own message limit.
            max_size=REALTIME_MESSAGE_MAX_BYTES,
            invalid_key_message=INVALID_CREDENTIALS,
            unexpected_message=UNEXPECTED_CONNECT,
        )


class RealtimeSession:
    """One open realtime session, as yielded by `RealtimeClient.connect`.

    Sending (`send_audio`) and receiving (`events`) run side by side: read the events in a
    task of their own while audio is sent. Every failure is a `HumeClientException` whose
    `code` is a `RealtimeCode` value (or the service's own code) and whose `retryable`
    says whether a new session can succeed.

    Attributes:
        session_id: The service's id of the session (also its run id).
        measurement_timer_ms: The timer in force.
        frame_ms: Audio per binary frame.
        settle_s: How long after sending a frame a rejection is still taken as its own.
        accepted_ms: Audio accepted so far (sent and not rejected), in ms.
        frames: Frames accepted so far.
        resends: Frames sent again after `rate_limited`.
    """

    def __init__(
        self,
        protocol: ClientConnection,
        created: SessionCreated,
        *,
        frame_ms: int,
        pacer: RealtimePacer,
        settle_s: float,
    ) -> None:
        """Wrap an open connection whose `session.created` has been read (see `connect`)."""
        self._protocol = protocol
        self.session_id = created.session_id
        self.measurement_timer_ms = created.measurement_timer_ms
        self.frame_ms = frame_ms
        self.settle_s = settle_s
        self.pacer = pacer
        self.accepted_ms = 0.0
        self.frames = 0
        self.resends = 0
        self._events: asyncio.Queue[RealtimeEvent | None] = asyncio.Queue()
        self._updated: asyncio.Future[SessionUpdated] | None = None
        self._closed: asyncio.Future[SessionClosed] = asyncio.get_running_loop().create_future()
        self._verdict: asyncio.Future[str] | None = None
        self._failure: HumeClientException | None = None
        self._last_error: RealtimeError | None = None
        self._close_sent = False
        self._audio_sent = False
        # (end of the frame in accepted ms, when it was sent): for result latencies.
        self._sent_at: deque[tuple[float, float]] = deque()
        self._latency: dict[int, float] = {}
        self._reader = asyncio.create_task(self._read(), name=f"realtime-{self.session_id}")

    @property
    def closed(self) -> bool:
        """Whether `session.closed` has arrived."""
        return self._closed.done() and not self._closed.cancelled()

    # ------------------------------------------------------------ sending

    async def send_audio(self, pcm: bytes) -> None:
        """Send s16le 16 kHz mono PCM, cut into frames and paced at no more than real time.

        Returns once every frame is accepted (sent and settled). A frame rejected as
        `rate_limited` is resent, so the stream and its times stay continuous.

        Raises:
            HumeClientException: Audio that is empty or an odd number of bytes
                (``invalid_audio_frame``, before sending); a frame the service refused; the
                session ending early (``internal_error``, ``idle_timeout``, …).
        """
        if not pcm or len(pcm) % 2:
            raise realtime_exception(
                RealtimeCode.INVALID_AUDIO_FRAME,
                f"audio must be whole 16-bit samples, got {len(pcm)} bytes (checked before "
                "sending)",
            )
        step = self.frame_ms * REALTIME_BYTES_PER_MS
        view = memoryview(pcm)
        for start in range(0, len(pcm), step):
            await self._send_frame(bytes(view[start : start + step]))

    async def _send_frame(self, frame: bytes) -> None:
        audio_ms = len(frame) / REALTIME_BYTES_PER_MS
        for attempt in range(_MAX_RESENDS + 1):
            await self.pacer.wait(audio_ms)
            self._raise_if_failed()
            loop = asyncio.get_running_loop()
            self._verdict = verdict = loop.create_future()
            try:
                await self._protocol.send(frame)
            except ConnectionClosed:
                await asyncio.wait({self._reader}, timeout=self.settle_s)
                self._raise_if_failed(wait=True)
                raise realtime_exception(
                    RealtimeCode.CONNECTION_LOST, "the connection closed while sending audio"
                ) from None
            self._audio_sent = True
            sent = time.monotonic()
            try:
                code = await asyncio.wait_for(asyncio.shield(verdict), self.settle_s)
            except TimeoutError:
                code = None
            finally:
                self._verdict = None
            self._raise_if_failed()
            if code is None:
                self.accepted_ms += audio_ms
                self.frames += 1
                self._sent_at.append((self.accepted_ms, sent))
                return
            self.pacer.refund(audio_ms)
            if code != RealtimeCode.RATE_LIMITED:
                raise realtime_exception(code, self._error_text(f"frame of {len(frame)} bytes"))
            self.resends += 1
            if attempt < _MAX_RESENDS:
                await asyncio.sleep(_RESEND_PAUSE_S)
        raise realtime_exception(
            RealtimeCode.RATE_LIMITED,
            f"a frame was rejected {_MAX_RESENDS + 1} times in a row; giving up",
        )

    async def close(self, wait_s: float | None = 30.0) -> SessionClosed:
        """Send `session.close` and wait for `session.closed` (the results before it arrive
        through `events`).

        Raises:
            HumeClientException: The session ended otherwise (error, timeout, shutdown, a
                dropped connection).
            TimeoutError: No `session.closed` within `wait_s` seconds.
        """
        if not self.closed and not self._close_sent:
            self._raise_if_failed()
            self._close_sent = True
            with contextlib.suppress(ConnectionClosed):
                await self._protocol.send(json.dumps(SessionClose().to_wire()))
        pending: set[asyncio.Future[Any]] = {self._reader, self._closed}
        async with asyncio.timeout(wait_s):
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if self.closed:
            closed = self._closed.result()
            if closed.reason == "client_request":
                return closed
        self._raise_if_failed(wait=True)
        raise realtime_exception(RealtimeCode.CONNECTION_LOST, "the session ended unexpectedly")

    # ------------------------------------------------------------ receiving

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        """The server's messages after `session.created`/`session.updated`, in order, up to
        and including `session.closed` (rejections of frames are handled by the session
        and not yielded).

        Raises:
            HumeClientException: The session ended without a `session.closed` for the
                client's own request.
        """
        while (event := await self._events.get()) is not None:
            yield event
        if not self.closed or self._closed.result().reason != "client_request":
            self._raise_if_failed(wait=True)
            raise realtime_exception(RealtimeCode.CONNECTION_LOST, "the session ended early")

    def latency_s(self, result: MeasurementResult) -> float | None:
        """Seconds from sending the frame that completed `result`'s window to receiving
        `result`, or None when unknown."""
        return self._latency.get(result.measurement_id)

    async def _read(self) -> None:
        try:
            async for frame in self._protocol:
                event = _decode(frame)
                if event is None:
                    continue  # a message type this client does not know: tolerated
                self._dispatch(event)
                if isinstance(event, SessionClosed):
                    break
        except ConnectionClosed:
            pass
        except HumeClientException as exc:
            self._fail(exc)
        finally:
            if not self.closed:
                self._fail(self._ending_exception())
            self._events.put_nowait(None)

    def _dispatch(self, event: RealtimeEvent) -> None:
        if isinstance(event, RealtimeError):
            self._on_error(event)
            return
        if isinstance(event, SessionUpdated):
            if self._updated is not None and not self._updated.done():
                self._updated.set_result(event)
            return
        if isinstance(event, MeasurementResult):
            self._note_latency(event)
        elif isinstance(event, SessionClosed):
            self._closed.set_result(event)
            if event.reason != "client_request":
                self._fail(self._ending_exception(event.reason))
        self._events.put_nowait(event)

    def _on_error(self, error: RealtimeError) -> None:
        self._last_error = error
        if error.code in _FRAME_ERRORS:
            if self._verdict is not None and not self._verdict.done():
                self._verdict.set_result(error.code)
                return
            self._fail(
                realtime_exception(
                    error.code,
                    f"{error.message} (arrived more than {self.settle_s * 1000:.0f} ms after "
                    "its frame, which was taken as accepted: later times would shift)",
                    error.retryable,
                )
            )
            return
        exc = realtime_exception(error.code, error.message or error.code, error.retryable)
        # `message_invalid` leaves the session open, but a message of ours was lost: the
        # client is wrong, and carrying on would hide it.
        ends = error.code in _SESSION_ENDING or not error.retryable
        if ends or error.code == RealtimeCode.MESSAGE_INVALID:
            self._fail(exc)

    def _note_latency(self, result: MeasurementResult) -> None:
        now = time.monotonic()
        while self._sent_at and self._sent_at[0][0] < result.audio_end_ms:
            self._sent_at.popleft()
        if self._sent_at:
            self._latency[result.measurement_id] = now - self._sent_at[0][1]

    # ------------------------------------------------------------ internals

    async def _configure(self, measurement_timer_ms: int | None, limit_s: float | None) -> None:
        update = SessionUpdate(
            measurement_timer_ms=measurement_timer_ms,
            audio=AudioFormatUpdate(
                type="audio/pcm",
                encoding="s16le",
                sample_rate=REALTIME_SAMPLE_RATE,
                channels=REALTIME_CHANNELS,
            ),
        )
        self._updated = asyncio.get_running_loop().create_future()
        await self._protocol.send(json.dumps(update.to_wire()))
        pending: set[asyncio.Future[Any]] = {self._updated, self._reader}
        async with asyncio.timeout(limit_s):
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if self._updated.done():
            self.measurement_timer_ms = self._updated.result().measurement_timer_ms
            return
        # The reader ended first: the configuration was refused (config_invalid) or the
        # connection was lost.
        self._raise_if_failed(wait=True)
        raise realtime_exception(RealtimeCode.CONNECTION_LOST, "no session.updated")

    def _fail(self, exc: HumeClientException) -> None:
        if self._failure is None:
            self._failure = exc
        # Wake a frame waiting for its verdict; it finds the failure and raises it.
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result("")

    def _raise_if_failed(self, wait: bool = False) -> None:
        if self._failure is not None:
            raise self._failure
        if wait and self._reader.done():
            raise self._ending_exception()

    def _ending_exception(self, reason: str | None = None) -> HumeClientException:
        """Why the session ended early: its last error, the close reason, or a lost line."""
        if self._last_error is not None and self._last_error.code not in _FRAME_ERRORS:
            error = self._last_error
            return realtime_exception(error.code, error.message or error.code, error.retryable)
        if reason in (RealtimeCode.IDLE_TIMEOUT, RealtimeCode.SERVER_SHUTDOWN):
            return realtime_exception(reason, f"the service ended the session ({reason})")
        close = self._protocol.close_code
        return realtime_exception(
            RealtimeCode.CONNECTION_LOST,
            f"the connection ended without session.closed (close code {close or 1006})",
        )

    def _error_text(self, what: str) -> str:
        message = self._last_error.message if self._last_error else ""
        return f"{message} ({what})" if message else what

    async def _shutdown(self) -> None:
        if not self._reader.done():
            if not self.closed:
                self._protocol.transport.abort()
            self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        if not self._closed.done():
            self._closed.cancel()

    def __repr__(self) -> str:
        return (
            f"RealtimeSession(session_id={self.session_id!r}, accepted_ms={self.accepted_ms:.0f}, "
            f"closed={self.closed})"
        )


async def _first_message(protocol: ClientConnection) -> SessionCreated:
    event = _decode(await protocol.recv())
    if isinstance(event, RealtimeError):
        raise realtime_exception(event.code, event.message or event.code, event.retryable)
    if not isinstance(event, SessionCreated):
        kind = type(event).__name__ if event is not None else "an unknown message"
        raise realtime_exception(
            RealtimeCode.CONNECTION_LOST, f"expected session.created first, got {kind}"
        )
    return event


def _decode(frame: str | bytes) -> RealtimeEvent | None:
    if isinstance(frame, bytes):
        return None  # the service sends no binary frames; nothing to read in one
    try:
        return parse_realtime_event(json.loads(frame))
    except (ValueError, ValidationError) as exc:
        raise realtime_exception(
            RealtimeCode.CONNECTION_LOST, f"unreadable message from the service: {exc}"
        ) from exc


def _settle_window(rtt_s: float) -> float:
    return max(_SETTLE_FLOOR_S, _SETTLE_RTTS * rtt_s + _SETTLE_MARGIN_S)


def _check_timer(measurement_timer_ms: int | None) -> None:
    if measurement_timer_ms is None:
        return
    if isinstance(measurement_timer_ms, bool) or not isinstance(measurement_timer_ms, int):
        raise realtime_exception(
            RealtimeCode.CONFIG_INVALID,
            f"measurement_timer_ms must be an int, got {type(measurement_timer_ms).__name__} "
            "(checked before sending)",
        )
    if not MEASUREMENT_TIMER_MS_MIN <= measurement_timer_ms <= MEASUREMENT_TIMER_MS_MAX:
        raise realtime_exception(
            RealtimeCode.CONFIG_INVALID,
            f"measurement_timer_ms must be {MEASUREMENT_TIMER_MS_MIN} to "
            f"{MEASUREMENT_TIMER_MS_MAX}, got {measurement_timer_ms} (checked before sending)",
        )


def _realtime_endpoint(url: str | None) -> str:
    url = url or os.environ.get(REALTIME_URL_ENV) or DEFAULT_REALTIME_URL
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"Realtime URL must be ws://HOST/… or wss://HOST/…, got {url!r}")
    return url
