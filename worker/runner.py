"""The per-process socket runner: ONE asyncio loop in its own thread, ONE long-lived stream.

Celery runs a job on the process's main thread; everything that touches the WebSocket runs
on this runner's loop, created once per process (a loop per task would break objects bound
to the previous loop). The stream opens lazily on the first job, stays open across jobs,
and is reset after each job; a failed reset drops the socket, so the next job starts on a
fresh connection with no context.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol, TypeVar

from hume_stream.models.config import ModelConfigBase
from hume_stream.models.messages import PredictionsMessage, WarningMessage
from worker import metrics

T = TypeVar("T")


class Stream(Protocol):
    """What the runner needs of a (reconnecting) stream."""

    async def predict_bytes(
        self,
        data: bytes,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage: ...

    async def reset_stream(self) -> Any: ...

    async def aclose(self) -> None: ...


class SocketRunner:
    """Owns the loop thread and the stream; thread-safe entry points for the task thread."""

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[Stream]],
        on_close: Callable[[], None] | None = None,
        name: str = "hume-loop",
    ) -> None:
        self._open_stream = open_stream
        self._on_close = on_close
        self._stream: Stream | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        # One job at a time on the socket: replies pair with requests by order only.
        self._job_lock = threading.Lock()
        self.connections_opened = 0

    def start(self) -> None:
        self._thread.start()

    @property
    def job_lock(self) -> threading.Lock:
        return self._job_lock

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the runner's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the runner's loop and wait for its result."""
        return self.submit(coro).result(timeout)

    async def stream(self) -> Stream:
        """The open stream, opened on first use."""
        if self._stream is None:
            self._stream = await self._open_stream()
            if self.connections_opened:
                # A new stream after one was dropped (it gave up, or a reset failed).
                metrics.RECONNECTS.inc()
            self.connections_opened += 1
        return self._stream

    async def predict(
        self, data: bytes, configs: list[ModelConfigBase], payload_id: str
    ) -> PredictionsMessage | WarningMessage:
        """Send one payload (raw media bytes) with these configs; the typed reply."""
        stream = await self.stream()
        return await stream.predict_bytes(data, configs, payload_id=payload_id)

    async def reset(self) -> bool:
        """Clear the stream's context; on failure drop the socket (a new one has none).
        Returns whether a reset was sent."""
        if self._stream is None:
            return False
        try:
            await self._stream.reset_stream()
            return True
        except Exception:
            await self.drop()
            raise

    async def drop(self) -> None:
        """Close the stream (if open); the next use opens a new one."""
        stream, self._stream = self._stream, None
        if stream is not None:
            # Closing a broken socket may fail; it is gone either way.
            with contextlib.suppress(Exception):
                await stream.aclose()
            if self._on_close is not None:
                self._on_close()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the stream and stop the loop thread."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.call(self.drop(), timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
