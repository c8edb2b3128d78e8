"""The v1 endpoint of a real emulator process, spoken to with a raw WebSocket client: the
handshake's answers, the order of messages, close codes, pacing, the event log, /stats."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.emulator import EmulatorProcess

TIMEOUT_S = 10.0
FRAME = bytes(3200)  # 100 ms of silence


@contextmanager
def opened(emulator: EmulatorProcess, **headers: str) -> Iterator[ClientConnection]:
    headers = headers or {"X-Hume-Api-Key": emulator.api_key}
    with connect(emulator.realtime_url, additional_headers=headers, open_timeout=TIMEOUT_S) as ws:
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    message = ws.recv(timeout=TIMEOUT_S)
    assert isinstance(message, str), "the service sends text frames only"
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def until_closed(ws: ClientConnection) -> list[dict[str, Any]]:
    out = []
    try:
        while True:
            out.append(receive(ws))
    except ConnectionClosed:
        return out


def refusal(emulator: EmulatorProcess, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    with (
        pytest.raises(InvalidStatus) as err,
        connect(emulator.realtime_url, additional_headers=headers, open_timeout=TIMEOUT_S),
    ):
        pass
    response = err.value.response
    assert response.headers["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.body)


def test_session_created_comes_first_with_the_defaults(emulator: EmulatorProcess) -> None:
    with opened(emulator) as ws:
        created = receive(ws)
    assert created["type"] == "session.created" and len(created["session_id"]) == 36
    assert created["audio"] == {
        "type": "audio/pcm",
        "encoding": "s16le",
        "sample_rate": 16000,
        "channels": 1,
    }
    assert created["measurement_timer_ms"] == 3000


def test_auth_failures_answer_401_with_the_gateway_body(emulator: EmulatorProcess) -> None:
    status, body = refusal(emulator, {})
    assert (status, body) == (401, {"message": "Unauthorized"})
    status, body = refusal(emulator, {"X-Hume-Api-Key": "wrong"})
    assert status == 401 and body["message"] == "Unauthorized" and body["request_id"]
    # Exactly one credential: a good key next to a token is refused too.
    both = {"X-Hume-Api-Key": emulator.api_key, "Authorization": f"Bearer {emulator.api_key}"}
    assert refusal(emulator, both)[0] == 401
    with opened(emulator, Authorization=f"Bearer {emulator.api_key}") as ws:
        assert receive(ws)["type"] == "session.created"


def test_over_the_per_key_cap_answers_429(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    capped = emulator_factory("--max-connections-per-key", "1")
    with opened(capped) as ws:
        receive(ws)
        status, body = refusal(capped, {"X-Hume-Api-Key": capped.api_key})
    assert (status, body) == (429, {"message": "API rate limit exceeded"})


def test_close_gives_totals_and_code_1000(emulator: EmulatorProcess) -> None:
    with opened(emulator) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "session.update", "measurement_timer_ms": None}))
        assert receive(ws)["type"] == "session.updated"
        ws.send(FRAME)
        ws.send(json.dumps({"type": "session.close"}))
        (closed,) = until_closed(ws)
        assert ws.close_code == 1000
    assert closed["reason"] == "client_request"
    assert closed["received"] == {"audio_duration_ms": 100, "frames": 1}


def test_config_after_audio_ends_the_session_with_1008(emulator: EmulatorProcess) -> None:
    with opened(emulator) as ws:
        receive(ws)
        ws.send(FRAME)
        ws.send(json.dumps({"type": "session.update"}))
        error, closed = until_closed(ws)
        assert ws.close_code == 1008
    assert (error["type"], error["code"], error["retryable"]) == ("error", "config_invalid", False)
    assert closed["reason"] == "error"


def test_frames_sent_at_once_are_rate_limited(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    strict = emulator_factory("--realtime-burst-ms", "0")
    with opened(strict) as ws:
        receive(ws)
        for _ in range(5):
            ws.send(FRAME)
        ws.send(json.dumps({"type": "session.close"}))
        messages = until_closed(ws)
    errors = [m for m in messages if m["type"] == "error"]
    assert errors and all(e["code"] == "rate_limited" and e["retryable"] for e in errors)
    closed = messages[-1]
    assert closed["received"]["frames"] == 5 - len(errors)
    assert closed["received"]["audio_duration_ms"] == 100 * (5 - len(errors))


def test_the_event_log_and_stats_record_v1_sessions(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    server = emulator_factory()
    with opened(server) as ws:
        receive(ws)
        ws.send(FRAME)
        ws.send(b"\x00")
        ws.send("garbage")
        ws.send(json.dumps({"type": "session.close"}))
        until_closed(ws)
    with urllib.request.urlopen(server.http_url + "/stats", timeout=TIMEOUT_S) as resp:
        stats = json.load(resp)
    server.stop()
    events = server.events()
    opened_event = next(e for e in events if e["event"] == "open")
    assert opened_event["api"] == "v1"
    messages = [(e["kind"], e.get("code")) for e in events if e["event"] == "message"]
    assert messages == [
        ("audio", None),
        ("audio", "invalid_audio_frame"),
        ("invalid", "message_invalid"),
        ("session.close", None),
    ]
    (session,) = [e for e in events if e["event"] == "session"]
    assert session["reason"] == "client_request" and session["audio_ms"] == 100
    assert session["session_id"] == opened_event["session_id"]
    assert [e["close_code"] for e in events if e["event"] == "close"] == [1000]
    assert stats["errors"] == {"invalid_audio_frame": 1, "message_invalid": 1}
    assert stats["requests"]["v1:audio"] == 2
    assert server.api_key not in server.event_log.read_text()


def test_a_stopping_emulator_closes_sessions_with_server_shutdown(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    server = emulator_factory()
    with opened(server) as ws:
        receive(ws)
        ws.send(FRAME)
        server.stop()
        messages = until_closed(ws)
        assert ws.close_code == 1001
    assert messages[-1]["reason"] == "server_shutdown"


def test_injected_latency_delays_the_answers_to_audio_in_order(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    """--latency-ms applies to v1 too: what answers an audio frame leaves that long after the
    frame arrived, and what follows (here `session.closed`) waits behind it."""
    slow = emulator_factory("--latency-ms", "400")
    with opened(slow) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "session.update", "measurement_timer_ms": None}))
        assert receive(ws)["type"] == "session.updated"
        sent = time.monotonic()
        ws.send(FRAME)
        ws.send(json.dumps({"type": "session.close"}))
        (closed,) = until_closed(ws)
        waited = time.monotonic() - sent
        assert ws.close_code == 1000
    assert closed["received"] == {"audio_duration_ms": 100, "frames": 1}
    assert waited >= 0.4
