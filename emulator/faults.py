"""Injected latency and faults, drawn from a seeded random stream per connection.

Only data requests (those with `data`) are ever faulted or delayed; `reset_stream` and
`job_details`-only requests, and requests refused as malformed, are answered at once.
Each data request draws one number: below `drop_rate` it is dropped (the connection is
aborted without an answer, an abnormal close 1006 for the client); in the next
`stall_rate` it stalls (never answered, and the connection answers nothing more, since
answering later requests would pair them with the wrong replies); in the next
`error_rate` it is answered with the retryable `I0100`. The stream of draws is seeded from
`(seed, connection number)`, so a run with the same seed and the same traffic on each
connection injects the same faults. On the v1 endpoint the same draws and latency apply to
each binary audio frame.
"""

from __future__ import annotations

import asyncio
import random
from typing import Literal

from emulator.settings import EmulatorSettings

__all__ = ["INTERNAL_ERROR", "Fault", "FaultPlan", "wait_until"]

Fault = Literal["drop", "stall", "error"]

#: The text of the injected service error (PROTOCOL.md §6, `I0100`).
INTERNAL_ERROR = "Unexpected service error occurred."


class FaultPlan:
    """The faults and latency of one connection."""

    def __init__(self, settings: EmulatorSettings, connection: int) -> None:
        self._settings = settings
        # Reproducible fault injection, not security: a seeded PRNG is the point.
        self._random = random.Random(f"{settings.seed}:{connection}")  # noqa: S311

    def draw(self) -> Fault | None:
        """The fault for the next data request, or None."""
        s = self._settings
        if not (s.drop_rate or s.stall_rate or s.error_rate):
            return None
        u = self._random.random()
        if u < s.drop_rate:
            return "drop"
        if u < s.drop_rate + s.stall_rate:
            return "stall"
        if u < s.drop_rate + s.stall_rate + s.error_rate:
            return "error"
        return None

    def latency_s(self, audio_ms: float | None) -> float:
        """Seconds to wait before answering a data request with this much audio."""
        s = self._settings
        per_audio = s.latency_ms_per_audio_s * (audio_ms or 0.0) / 1000.0
        return (s.latency_ms + per_audio) / 1000.0


#: asyncio's timers wake up to about a millisecond late (epoll's resolution, rounded up).
_TIMER_SLACK_S = 0.002


async def wait_until(deadline: float) -> None:
    """Return at `deadline` (loop time), not a millisecond after: sleep to just short of it,
    then yield to the loop until it passes, so the injected latency is the one asked for."""
    loop = asyncio.get_running_loop()
    if (early := deadline - _TIMER_SLACK_S - loop.time()) > 0:
        await asyncio.sleep(early)
    while loop.time() < deadline:  # noqa: ASYNC110 - a timer is what is too coarse here
        await asyncio.sleep(0)
