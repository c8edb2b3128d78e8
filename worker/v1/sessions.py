"""Realtime sessions of one worker process: the client, the per-process session cap, and the
coroutine that streams one channel of one recording through one session.

Everything that touches a WebSocket runs on the process's one event loop (the runner's);
a job's thread decodes and hands PCM over through a bounded queue per channel, so memory
stays bounded while each session sends at real time. Sessions are cheap on the loop (a
frame every 100 ms, a few small JSON messages back), which is why one process can keep
many of them open: `FLEET_V1_SESSIONS_PER_PROCESS` caps how many.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

from hume_stream import (
    MeasurementResult,
    RealtimeClient,
    RealtimeSession,
    SessionClosed,
    UtteranceStart,
)
from hume_stream.errors import RealtimeCode
from hume_stream.limits import MIN_BILLED_SECONDS
from worker import metrics
from worker.settings import FleetSettings
from worker.v1.timemap import StreamMap

__all__ = ["ChannelOutcome", "Piece", "ProcessSessions", "SessionSlots", "stream_channel"]

#: Audio handed from the decoding thread to one session before the thread waits (seconds):
#: enough to ride out a slow decode, little memory (32 KB per second).
QUEUE_SECONDS = 10
#: A session that fell behind real time (a busy loop, a slow decode) may run this far ahead
#: to catch up, instead of losing the time for good; well under the service's tolerance
#: ("close to real time"; the emulator allows 500 ms), and a frame refused anyway is resent.
PACING_BURST_MS = 200
BACKEND = "v1"


@dataclass(frozen=True)
class Piece:
    """PCM (s16le, 16 kHz mono) for a session, and where it starts in the file (samples)."""

    pcm: bytes
    file_start: int


@dataclass
class ChannelOutcome:
    """What one channel's session produced; `session_id` is None when the channel was
    silent throughout and no session was opened."""

    label: str
    stream: StreamMap
    session_id: str | None = None
    measurements: list[MeasurementResult] = field(default_factory=list)
    utterances: int = 0
    closed: SessionClosed | None = None
    frames: int = 0


class SessionSlots:
    """A counting semaphore that takes several slots at once (a job's channels), so a job
    starts only when all of its sessions can run: no job holds half its slots while
    waiting for the rest."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"FLEET_V1_SESSIONS_PER_PROCESS must be at least 1, got {size}")
        self.size = size
        self._free = size
        self._cond = threading.Condition()

    def acquire(self, n: int, timeout: float | None = None) -> bool:
        """Take `n` slots (n ≤ size), waiting up to `timeout` s; False if none came."""
        if n > self.size:
            raise ValueError(
                f"a job needs {n} sessions at once but FLEET_V1_SESSIONS_PER_PROCESS is {self.size}"
            )
        with self._cond:
            return self._cond.wait_for(lambda: self._free >= n, timeout) and self._take(n)

    def _take(self, n: int) -> bool:
        self._free -= n
        return True

    def release(self, n: int) -> None:
        with self._cond:
            self._free += n
            self._cond.notify_all()

    @property
    def in_use(self) -> int:
        return self.size - self._free


class ProcessSessions:
    """This process's realtime client and session cap (one per process, built lazily)."""

    _current: ProcessSessions | None = None
    _lock = threading.Lock()

    def __init__(self, settings: FleetSettings) -> None:
        if settings.hume_api_key is None:
            raise RuntimeError("HUME_API_KEY (or HUME_API_KEY_FILE) is not set")
        self.client = RealtimeClient(
            settings.hume_api_key.get_secret_value(),
            url=settings.hume_realtime_url,
            ssl=settings.hume_ssl_context(),
        )
        self.slots = SessionSlots(settings.fleet_v1_sessions_per_process)

    @classmethod
    def get(cls, settings: FleetSettings) -> ProcessSessions:
        with cls._lock:
            if cls._current is None:
                cls._current = cls(settings)
            return cls._current


async def stream_channel(
    client: RealtimeClient,
    label: str,
    queue: asyncio.Queue[Piece | None],
    rate: int,
    measurement_timer_ms: int | None = None,
) -> ChannelOutcome:
    """Stream the pieces put on `queue` (None ends them) through one session, opened on
    the first piece: a channel that is silent throughout costs no session."""
    outcome = ChannelOutcome(label=label, stream=StreamMap(rate))
    piece = await queue.get()
    if piece is None:
        return outcome
    async with client.connect(measurement_timer_ms, burst_ms=PACING_BURST_MS) as session:
        outcome.session_id = session.session_id
        metrics.REALTIME_SESSIONS.inc()
        reader = asyncio.create_task(_collect(session, outcome))
        try:
            while piece is not None:
                outcome.stream.add(piece.file_start, len(piece.pcm) // 2)
                await session.send_audio(piece.pcm)
                piece = await queue.get()
            outcome.closed = await session.close()
            await reader
        finally:
            metrics.REALTIME_SESSIONS.dec()
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await reader
        outcome.frames = session.frames
        if session.resends:
            # Frames the service refused as too fast and that were sent again.
            metrics.API_ERRORS.labels(RealtimeCode.RATE_LIMITED.value).inc(session.resends)
    _count_billing(outcome)
    return outcome


async def _collect(session: RealtimeSession, outcome: ChannelOutcome) -> None:
    async for event in session.events():
        if isinstance(event, MeasurementResult):
            outcome.measurements.append(event)
            latency = session.latency_s(event)
            if latency is not None:
                metrics.PAYLOAD_LATENCY.labels("audio", BACKEND).observe(latency)
        elif isinstance(event, UtteranceStart):
            outcome.utterances += 1


def _count_billing(outcome: ChannelOutcome) -> None:
    """Accepted audio, and what the service bills for it (at least 10 s per session)."""
    if outcome.closed is None:
        return
    seconds = outcome.closed.received.audio_duration_ms / 1000.0
    metrics.AUDIO_SECONDS.labels(BACKEND).inc(seconds)
    if seconds > 0:
        metrics.BILLED_SECONDS.labels(BACKEND).inc(max(MIN_BILLED_SECONDS, seconds))
