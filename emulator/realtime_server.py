"""The v1 realtime audio endpoint on the emulator's socket: handshake auth, one task per
session, pacing clock, idle and session-length limits, injected faults, event log.

The session logic itself is `emulator.realtime` (pure). Here:

* **Auth** (PROTOCOL-v1.md §1): exactly one credential, `X-Hume-Api-Key: KEY` or
  `Authorization: Bearer KEY`, naming an accepted key; otherwise HTTP 401 with
  `{"message": "Unauthorized"}` plus a `request_id` when a credential was sent. The
  per-key connection cap (`--max-connections-per-key`) answers 429
  `{"message": "API rate limit exceeded"}`.
* **Limits**: no client message for `idle_timeout` s ends the session with `session.closed`
  (`idle_timeout`); a session older than `realtime_max_session_s` ends with the error
  `session_limit_reached` (the real limit and how it ends are not documented).
* **Faults**: the same `FaultPlan` as v0, drawn once per binary frame: `drop` aborts the
  TCP connection (no close frame), `stall` stops answering, `error` answers
  `internal_error` and ends the session (close 1008). The injected latency (`--latency-ms`,
  `--latency-ms-per-audio-s` of the frame's audio) delays what answers an audio frame,
  counted from its arrival; everything is sent in order, so later messages (up to
  `session.closed`) wait behind delayed ones, while frames keep being read and paced.
* **Shutdown**: a stopping emulator sends `session.closed` (`server_shutdown`) on every
  open session and closes with 1001.

Event log lines: `open` (with `"api": "v1"` and `session_id`), one `message` per client
message (`kind`: `audio`, `session.update`, `session.close`, `invalid`; `audio_ms`, `code`,
`fault` when they apply), one `session` at the end (`reason`, `audio_ms`, `frames`,
`utterances`, `measurements`), and `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import uuid
from collections.abc import Sequence
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from emulator.events import EventLog, Stats
from emulator.faults import FaultPlan, wait_until
from emulator.realtime import Reaction, RealtimeSession
from emulator.settings import EmulatorSettings
from hume_stream.errors import RealtimeCode

__all__ = ["REALTIME_PATH", "RealtimeEndpoint", "json_error"]

REALTIME_PATH = "/v1/expression/audio/realtime"
#: Close code of a server going away.
CLOSE_GOING_AWAY = 1001
SESSION_LIMIT_CODE = "session_limit_reached"
_INTERNAL = "measurement failed"


def json_error(status: HTTPStatus, body: dict[str, str]) -> Response:
    """An HTTP error answer with a JSON body, as the service's gateway sends."""
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status.value, status.phrase, headers, data)


class RealtimeEndpoint:
    """Serves `REALTIME_PATH` for one `Emulator`."""

    def __init__(
        self, settings: EmulatorSettings, keys: Sequence[bytes], stats: Stats, events: EventLog
    ) -> None:
        self.settings = settings
        self._keys = list(keys)
        self.stats = stats
        self.events = events
        self._live: dict[ServerConnection, RealtimeSession] = {}

    def authorize(self, request: Request) -> tuple[Response | None, int | None]:
        """(401 answer, None) or (None, index of the accepted key)."""
        key = request.headers.get("X-Hume-Api-Key")
        auth = request.headers.get("Authorization")
        token = auth[7:].strip() if auth and auth[:7].lower() == "bearer " else None
        given = [c for c in (key, auth) if c is not None]
        index = self._key_index(key if auth is None else token) if len(given) == 1 else None
        if index is None:
            self.stats.connections["refused_401"] += 1
            body = {"message": "Unauthorized"}
            if given:
                body["request_id"] = str(uuid.uuid4())
            return json_error(HTTPStatus.UNAUTHORIZED, body), None
        return None, index

    def _key_index(self, key: str | None) -> int | None:
        if not key:
            return None
        for index, known in enumerate(self._keys):
            if hmac.compare_digest(key.encode(), known):
                return index
        return None

    async def serve(self, connection: ServerConnection, conn: int) -> None:
        """Run one session until it ends; the caller logs the connection's close."""
        session = RealtimeSession(burst_ms=self.settings.realtime_burst_ms)
        self._live[connection] = session
        self.stats.connections["v1_sessions"] += 1
        self.events.write("open", conn, api="v1", session_id=session.session_id)
        try:
            if await _send(connection, [session.created()]):
                await self._loop(connection, conn, session)
        finally:
            self._live.pop(connection, None)
            self._log_session(conn, session)

    async def shutdown(self) -> None:
        """Tell every open session that the server is going away, then close them."""
        for connection, session in list(self._live.items()):
            if session.ended:
                continue
            reaction = session.finish("server_shutdown")
            with contextlib.suppress(ConnectionClosed):
                await _send(connection, reaction.messages)
                await connection.close(CLOSE_GOING_AWAY, "server shutdown")

    async def _loop(
        self, connection: ServerConnection, conn: int, session: RealtimeSession
    ) -> None:
        loop = asyncio.get_running_loop()
        limit = self.settings.realtime_max_session_s
        ends_at = loop.time() + limit if limit else None
        faults = FaultPlan(self.settings, conn)
        stalled = False
        async with _Outbox(connection) as outbox:
            while not session.ended and outbox.open:
                frame, reaction = await self._next(connection, session, ends_at)
                if reaction is None and frame is None:
                    return  # the client went away
                fault = None
                due = loop.time()
                if reaction is None:
                    assert frame is not None
                    if stalled:
                        self._record(conn, _kind(frame), None, "stalled")
                        continue
                    fault = faults.draw() if isinstance(frame, bytes) else None
                    if fault == "drop":
                        self._record(conn, "audio", None, fault)
                        connection.transport.abort()
                        return
                    if fault == "stall":
                        self._record(conn, "audio", None, fault)
                        stalled = True
                        continue
                    reaction = await self._react(session, frame, fault == "error", due)
                    if isinstance(frame, bytes):
                        due += faults.latency_s(reaction.audio_ms)
                self._record(conn, reaction.kind, reaction, fault)
                outbox.put(due, reaction.messages)
                if reaction.close_code is not None:
                    if await outbox.flush():
                        await connection.close(reaction.close_code)
                    return

    async def _next(
        self, connection: ServerConnection, session: RealtimeSession, ends_at: float | None
    ) -> tuple[str | bytes | None, Reaction | None]:
        """The next client frame, or the reaction to a limit reached while waiting for it."""
        loop = asyncio.get_running_loop()
        idle = self.settings.idle_timeout or None
        left = None if ends_at is None else max(0.0, ends_at - loop.time())
        wait = min(t for t in (idle, left) if t is not None) if idle or left is not None else None
        try:
            async with asyncio.timeout(wait):
                return await connection.recv(), None
        except ConnectionClosed:
            return None, None
        except TimeoutError:
            if ends_at is not None and loop.time() >= ends_at:
                limit = self.settings.realtime_max_session_s
                message = f"the session reached the maximum length of {limit:g} s"
                return None, session.fail(SESSION_LIMIT_CODE, message)
            return None, session.finish("idle_timeout", kind="limit")

    async def _react(
        self, session: RealtimeSession, frame: str | bytes, fail: bool, now: float
    ) -> Reaction:
        if isinstance(frame, str):
            return session.on_text(frame)
        if fail:
            return session.fail(RealtimeCode.INTERNAL_ERROR, _INTERNAL)
        # Scoring a window costs milliseconds: off the loop, so other sessions keep pace.
        return await asyncio.to_thread(session.on_audio, frame, now)

    def _record(
        self, conn: int, kind: str, reaction: Reaction | None, fault: str | None = None
    ) -> None:
        self.stats.requests[f"v1:{kind}"] += 1
        fields: dict[str, object] = {"kind": kind}
        if reaction is not None and reaction.audio_ms is not None:
            fields["audio_ms"] = round(reaction.audio_ms, 3)
        if reaction is not None and reaction.code is not None:
            self.stats.errors[reaction.code] += 1
            fields["code"] = reaction.code
        if fault is not None:
            self.stats.faults[fault] += 1
            fields["fault"] = fault
        self.events.write("message", conn, **fields)

    def _log_session(self, conn: int, session: RealtimeSession) -> None:
        closed = session.closed_message("")
        self.events.write(
            "session",
            conn,
            session_id=session.session_id,
            reason=session.end_reason,
            audio_ms=closed["received"]["audio_duration_ms"],
            frames=session.frames,
            utterances=session.utterances,
            measurements=session.measurements,
        )


class _Outbox:
    """Sends each reaction at its due time (an audio frame's: its arrival plus the injected
    latency), in order, without holding up the reading of later frames."""

    def __init__(self, connection: ServerConnection) -> None:
        self._connection = connection
        self._queue: asyncio.Queue[tuple[float, list[dict[str, object]]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: False once a send found the connection closed.
        self.open = True

    async def __aenter__(self) -> _Outbox:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def put(self, due: float, messages: list[dict[str, object]]) -> None:
        self._queue.put_nowait((due, messages))

    async def flush(self) -> bool:
        """Wait until everything put so far is sent; whether the connection is still open."""
        await self._queue.join()
        return self.open

    async def _run(self) -> None:
        while True:
            due, messages = await self._queue.get()
            if self.open:
                await wait_until(due)
                self.open = await _send(self._connection, messages)
            self._queue.task_done()


def _kind(frame: str | bytes) -> str:
    return "audio" if isinstance(frame, bytes) else "invalid"


async def _send(connection: ServerConnection, messages: list[dict[str, object]]) -> bool:
    try:
        for message in messages:
            await connection.send(json.dumps(message))
    except ConnectionClosed:
        return False
    return True
