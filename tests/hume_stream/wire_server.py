"""A scripted WebSocket server in the test's own loop: it records every request frame and
answers with whatever the test scripts — including replies the emulator never sends
(binary frames, invalid JSON, a wrong payload_id)."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

Reply = Callable[[dict[str, Any]], str | bytes]


def echo(request: dict[str, Any]) -> str:
    """The default reply: `{}` plus the request's payload_id, like a success."""
    pid = request.get("payload_id")
    return json.dumps({} if pid is None else {"payload_id": pid})


@dataclass
class WireServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    reply: Reply = echo


@asynccontextmanager
async def wire_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[WireServer]:
    """Serve on a free loopback port (wss:// with a `tls` server context); `server.reply`
    decides each answer."""
    state = WireServer(url="")

    async def handle(connection: ServerConnection) -> None:
        assert connection.request is not None
        state.headers.append(dict(connection.request.headers.raw_items()))
        async for frame in connection:
            assert isinstance(frame, str)
            state.frames.append(frame)
            request = json.loads(frame)
            state.requests.append(request)
            await connection.send(state.reply(request))

    async with serve(handle, "127.0.0.1", 0, ssl=tls) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        state.url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/v0/stream/models"
        yield state
