"""A minimal raw WebSocket client for the emulator tests: one request, one reply."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.support.emulator import EmulatorProcess

#: Replies to face and word-level requests can exceed websockets' 1 MiB default.
MAX_REPLY = 64 * 2**20
TIMEOUT_S = 30.0


@contextmanager
def session(emulator: EmulatorProcess, key: str | None = None) -> Iterator[ClientConnection]:
    """An open, authenticated connection to the emulator."""
    headers = {"X-Hume-Api-Key": key or emulator.api_key}
    with connect(
        emulator.url, additional_headers=headers, max_size=MAX_REPLY, open_timeout=TIMEOUT_S
    ) as ws:
        yield ws


def ask(ws: ClientConnection, request: dict[str, Any] | str) -> dict[str, Any]:
    """Send one request (a dict is JSON-encoded) and return the one reply."""
    ws.send(request if isinstance(request, str) else json.dumps(request))
    reply = ws.recv(timeout=TIMEOUT_S)
    assert isinstance(reply, str), "replies must be text frames"
    parsed: dict[str, Any] = json.loads(reply)
    return parsed


def b64(path: Path | bytes) -> str:
    """Base64 of a file's (or some bytes') content, as the SDK's send_file sends it."""
    raw = path if isinstance(path, bytes) else path.read_bytes()
    return base64.b64encode(raw).decode()
