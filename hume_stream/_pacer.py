"""`RealtimePacer`: release audio no faster than real time (PROTOCOL-v1.md §3, pacing).

The v1 service accepts at most one second of audio per wall-clock second per session. The
pacer keeps a *theoretical arrival time* (the moment all audio released so far would have
finished playing) and lets the next frame go once that moment is at most `burst_ms` away:
a frame of `d` ms released at `t` moves it to `max(it, t) + d / speed`. With no burst a
client never runs ahead of real time; a small burst lets a sender that fell behind (a busy
event loop) catch up instead of losing the time for good, as long as it stays within the
server's own tolerance. Audio the server rejected is handed back with
`refund`, so the stream's clock stays equal to the audio actually accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["RealtimePacer"]


class RealtimePacer:
    """Paces one session's audio at `speed` x real time (1.0: the service's limit)."""

    def __init__(
        self,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        burst_ms: float = 0.0,
    ) -> None:
        """Args:
        speed: Audio seconds released per wall second; above 1.0 the service rejects
            frames (tests use that on purpose).
        clock: Monotonic seconds; `time.monotonic` unless a test needs another.
        burst_ms: How far (ms) the released audio may run ahead of real time when catching
            up; 0 never runs ahead.
        """
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if burst_ms < 0:
            raise ValueError(f"burst_ms must be at least 0, got {burst_ms}")
        self.speed = speed
        self.burst_s = burst_ms / 1000.0
        self._clock = clock
        self._due: float | None = None
        #: Seconds spent waiting so far (how far ahead of real time the caller was).
        self.waited_s = 0.0

    def delay_s(self) -> float:
        """Seconds until the next frame may go (0 when it may go now)."""
        if self._due is None:
            return 0.0
        return max(0.0, self._due - self.burst_s - self._clock())

    async def wait(self, audio_ms: float) -> None:
        """Sleep until a frame of `audio_ms` may be sent, then count it as sent."""
        if audio_ms <= 0:
            raise ValueError(f"a frame holds audio, got {audio_ms} ms")
        delay = self.delay_s()
        if delay > 0:
            self.waited_s += delay
            await asyncio.sleep(delay)
        now = self._clock()
        start = now if self._due is None else max(self._due, now)
        self._due = start + audio_ms / 1000.0 / self.speed

    def refund(self, audio_ms: float) -> None:
        """A frame of `audio_ms` was rejected: its audio did not advance the stream."""
        if self._due is not None:
            self._due -= audio_ms / 1000.0 / self.speed
