"""The emulator's WebSocket server: handshake (auth, connection limit, health and stats
paths), one task per connection answering requests in order, injected latency and faults.

HTTP paths: `/v0/stream/models` (the v0 WebSocket endpoint), `/v1/expression/audio/realtime`
(the v1 realtime audio endpoint, `emulator.realtime_server`), `/healthz` (200 `ok`),
`/stats` (JSON counters). A missing or unknown key is refused with 401 at the upgrade; a
key already holding `max_connections_per_key` open connections (of either API) gets 429;
any other path 404. An idle v0 connection (no client message for `idle_timeout` s) is
closed with code 1000.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from emulator import engine
from emulator.events import EventLog, Stats
from emulator.faults import INTERNAL_ERROR, FaultPlan, wait_until
from emulator.realtime_server import REALTIME_PATH, RealtimeEndpoint, json_error
from emulator.settings import EmulatorSettings
from hume_stream.errors import Code
from hume_stream.limits import MAX_REQUEST_BYTES

__all__ = ["STREAM_PATH", "Emulator"]

STREAM_PATH = "/v0/stream/models"
IDLE_CLOSE_REASON = "Connection closed after a period of inactivity."
# The gateway's answer to a rate limit (PROTOCOL-v1.md §1).
_RATE_LIMITED = "API rate limit exceeded"

log = logging.getLogger("emulator")


class Emulator:
    """One emulator: settings, counters, event log, and the connections it serves."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.stats = Stats()
        self.events = EventLog(settings.event_log)
        self._keys = [k.get_secret_value().encode() for k in settings.api_keys]
        self._conn_ids = itertools.count(self.events.last_conn + 1)
        self._open_per_key: Counter[int] = Counter()
        self._key_of: dict[ServerConnection, int] = {}
        self._releases: set[asyncio.Task[None]] = set()
        self._realtime = RealtimeEndpoint(settings, self._keys, self.stats, self.events)

    async def run(self, stop: asyncio.Event, on_listening: Callable[[str, int], None]) -> None:
        """Serve until `stop` is set, then close every connection (code 1001)."""
        async with serve(
            self._handle,
            self.settings.host,
            self.settings.port,
            process_request=self._process_request,
            process_response=self._process_response,
            max_size=MAX_REQUEST_BYTES,
            server_header="hume-emulator",
        ) as server:
            host, port = _bound(server)
            on_listening(host, port)
            await stop.wait()
            await self._realtime.shutdown()
            server.close()
            await server.wait_closed()
        self.events.close()

    # ------------------------------------------------------------ handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if url.path == "/stats":
            return _json_response(self.stats.snapshot())
        if url.path == REALTIME_PATH:
            refusal, realtime_key = self._realtime.authorize(request)
            if refusal is not None:
                return refusal
            assert realtime_key is not None
            self._key_of[connection] = realtime_key
            return None
        if url.path != STREAM_PATH:
            return connection.respond(
                HTTPStatus.NOT_FOUND, f"Not found; use {STREAM_PATH} or {REALTIME_PATH}\n"
            )
        key = request.headers.get("X-Hume-Api-Key") or _first(parse_qs(url.query).get("apikey"))
        index = self._key_index(key)
        if index is None:
            self.stats.connections["refused_401"] += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid or missing API key.\n")
        self._key_of[connection] = index
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        index = self._key_of.pop(connection, None)
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS or index is None:
            return None
        limit = self.settings.max_connections_per_key
        if limit and self._open_per_key[index] >= limit:
            self.stats.connections["refused_429"] += 1
            if urlsplit(request.path).path == REALTIME_PATH:
                return json_error(HTTPStatus.TOO_MANY_REQUESTS, {"message": _RATE_LIMITED})
            return connection.respond(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"Too many open connections for this API key (limit {limit}).\n",
            )
        self._open_per_key[index] += 1
        task = asyncio.create_task(self._release_slot(connection, index))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)
        return None

    async def _release_slot(self, connection: ServerConnection, index: int) -> None:
        await connection.wait_closed()
        self._open_per_key[index] -= 1

    def _key_index(self, key: str | None) -> int | None:
        if not key:
            return None
        given = key.encode()
        for index, known in enumerate(self._keys):
            if hmac.compare_digest(given, known):
                return index
        return None

    # ------------------------------------------------------------ connections

    async def _handle(self, connection: ServerConnection) -> None:
        conn = next(self._conn_ids)
        self.stats.connections["opened"] += 1
        self.stats.open += 1
        try:
            request = connection.request
            if request is not None and urlsplit(request.path).path == REALTIME_PATH:
                await self._realtime.serve(connection, conn)  # logs its own "open"
            else:
                self.events.write("open", conn)
                await self._serve(connection, conn)
        finally:
            self.stats.open -= 1
            await connection.wait_closed()
            self.events.write("close", conn, close_code=_close_code(connection))

    async def _serve(self, connection: ServerConnection, conn: int) -> None:
        session = engine.Session()
        faults = FaultPlan(self.settings, conn)
        stalled = False
        loop = asyncio.get_running_loop()
        while (frame := await self._next_frame(connection)) is not None:
            arrived = loop.time()
            parsed = _parse(frame)
            if stalled:
                self._record(conn, _unanswered(parsed), "stalled")
                continue
            is_data = isinstance(parsed, engine.Request) and parsed.kind == "data"
            fault = faults.draw() if is_data else None
            if fault == "drop":
                self._record(conn, _unanswered(parsed), fault)
                connection.transport.abort()
                return
            if fault == "stall":
                self._record(conn, _unanswered(parsed), fault)
                stalled = True
                continue
            outcome = await self._respond(session, parsed, faults, fault == "error", arrived)
            self._record(conn, outcome, fault)
            if not await _send(connection, outcome):
                return

    async def _next_frame(self, connection: ServerConnection) -> str | bytes | None:
        """The next request frame; None once the connection is closed or timed out idle."""
        try:
            async with asyncio.timeout(self.settings.idle_timeout or None):
                return await connection.recv()
        except TimeoutError:
            await connection.close(1000, IDLE_CLOSE_REASON)
        except ConnectionClosed:
            pass
        return None

    async def _respond(
        self,
        session: engine.Session,
        parsed: engine.Request | engine.Outcome,
        faults: FaultPlan,
        inject_error: bool,
        arrived: float,
    ) -> engine.Outcome:
        """The answer; data requests are predicted off the event loop and leave the injected
        latency after they `arrived` (loop time): the latency is the service time, the
        emulator's own parsing and computation included (a computation that takes longer
        adds no further delay)."""
        if isinstance(parsed, engine.Outcome):
            return parsed
        if parsed.kind != "data":
            return _run(session, parsed)
        if inject_error:
            outcome = _internal_error(session, parsed)
        else:
            outcome = await asyncio.to_thread(_run_to_text, session, parsed)
        await wait_until(arrived + faults.latency_s(outcome.audio_ms))
        return outcome

    def _record(self, conn: int, outcome: engine.Outcome, fault: str | None = None) -> None:
        self.stats.record(outcome, fault)
        self.events.request(conn, outcome, fault)


def _parse(frame: str | bytes) -> engine.Request | engine.Outcome:
    """`engine.parse`, with a bug answered as `I0100` rather than by a dead connection."""
    try:
        return engine.parse(frame)
    except Exception:
        log.exception("request parsing failed; answering %s", Code.INTERNAL.value)
        error = {"error": INTERNAL_ERROR, "code": Code.INTERNAL.value}
        return engine.Outcome(response=error, kind="invalid")


def _run(session: engine.Session, request: engine.Request) -> engine.Outcome:
    """`engine.run`, with a bug answered as `I0100`: every request gets its one answer."""
    try:
        return engine.run(session, request)
    except Exception:
        log.exception("prediction failed; answering %s", Code.INTERNAL.value)
        return _internal_error(session, request)


def _run_to_text(session: engine.Session, request: engine.Request) -> engine.Outcome:
    """`_run`, its reply serialised too, so the latency is not spent on it after the wait."""
    outcome = _run(session, request)
    _ = outcome.text
    return outcome


def _internal_error(session: engine.Session, request: engine.Request) -> engine.Outcome:
    error = {"error": INTERNAL_ERROR, "code": Code.INTERNAL.value}
    return engine.finish(session, request, error)


def _unanswered(parsed: engine.Request | engine.Outcome) -> engine.Outcome:
    """What the log records for a request that gets no answer."""
    if isinstance(parsed, engine.Outcome):
        return engine.Outcome(response={}, kind=parsed.kind, payload_id=parsed.payload_id)
    request = parsed
    return engine.Outcome(
        response={},
        kind=request.kind,
        reset=bool(request.message.reset_stream),
        models=request.models,
        payload_id=request.message.payload_id,
    )


async def _send(connection: ServerConnection, outcome: engine.Outcome) -> bool:
    """Send a response as a text frame; False when the connection is gone."""
    try:
        await connection.send(outcome.text)
    except ConnectionClosed:
        return False
    return True


def _json_response(body: object) -> Response:
    data = (json.dumps(body, sort_keys=True) + "\n").encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, data)


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _close_code(connection: ServerConnection) -> int:
    code = connection.close_code
    return 1006 if code is None else int(code)


def _bound(server: Server) -> tuple[str, int]:
    host, port = server.sockets[0].getsockname()[:2]
    return str(host), int(port)
