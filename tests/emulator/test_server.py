"""Handshake, HTTP paths, settings, connection limits, idle timeout, shutdown, event log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.emulator.client import ask, b64, session
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory

Factory = Callable[..., EmulatorProcess]


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def refused_status(url: str, headers: dict[str, str] | None = None) -> int:
    with (
        pytest.raises(InvalidStatus) as info,
        connect(url, additional_headers=headers or {}, open_timeout=10),
    ):
        pass
    return info.value.response.status_code


def wait_for_event(emulator: EmulatorProcess, check: Callable[[dict[str, Any]], bool]) -> None:
    """Wait until the event log holds a matching event (bounded)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(check(e) for e in emulator.events()):
            return
        time.sleep(0.02)
    raise AssertionError(f"no matching event in {emulator.events()}")


def test_bad_or_missing_key_gets_401(emulator: EmulatorProcess) -> None:
    assert refused_status(emulator.url) == 401
    assert refused_status(emulator.url, {"X-Hume-Api-Key": "invalid-api-key"}) == 401
    assert refused_status(emulator.url + "?apikey=nope") == 401


def test_key_in_query_parameter_is_accepted(emulator: EmulatorProcess) -> None:
    with connect(f"{emulator.url}?apikey={emulator.api_key}", open_timeout=10) as ws:
        assert "job_details" in ask(ws, {"job_details": True})


def test_unknown_path_gets_404(emulator: EmulatorProcess) -> None:
    headers = {"X-Hume-Api-Key": emulator.api_key}
    assert refused_status(emulator.base_url + "/v0/stream/other", headers) == 404


def test_healthz_and_stats(emulator: EmulatorProcess) -> None:
    assert http_get(emulator.http_url + "/healthz") == (200, b"ok\n")
    with session(emulator) as ws:
        ask(ws, {"reset_stream": True})
        ask(ws, "{oops")
    status, body = http_get(emulator.http_url + "/stats")
    stats = json.loads(body)
    assert status == 200
    assert stats["requests"]["reset"] >= 1 and stats["errors"]["E0100"] >= 1
    assert stats["connections"]["opened"] >= 1 and "open" in stats["connections"]


def test_several_keys_from_flags(emulator_factory: Factory) -> None:
    emu = emulator_factory(api_keys=("key-one", "key-two"))
    for key in ("key-one", "key-two"):
        with session(emu, key=key) as ws:
            assert ask(ws, {"reset_stream": True}) == {}


def test_keys_from_environment_and_never_printed(tmp_path: Any) -> None:
    env = {**os.environ, "HUME_EMULATOR_API_KEYS": "env-key-1, env-key-2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--event-log", str(tmp_path / "e")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("listening ws://127.0.0.1:")
        url = line.split(" ", 1)[1] + "/v0/stream/models"
        with connect(url, additional_headers={"X-Hume-Api-Key": "env-key-2"}) as ws:
            ask(ws, {"job_details": True})
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    seen = line + out.decode() + err.decode() + (tmp_path / "e").read_text()
    assert "env-key" not in seen


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "at least one non-empty API key"),
        (["--api-key", "k", "--drop-rate", "0.7", "--error-rate", "0.7"], "at most 1"),
        (["--api-key", "secret-value", "--drop-rate", "2"], "drop_rate"),
    ],
)
def test_refuses_to_start_with_bad_settings(args: list[str], needle: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUME_EMULATOR_")}
    run = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert run.returncode == 2
    assert needle in run.stderr and run.stdout == ""
    assert "secret-value" not in run.stderr


def test_connections_over_the_per_key_limit_get_429(emulator_factory: Factory) -> None:
    emu = emulator_factory("--max-connections-per-key", "2", api_keys=("k1", "k2"))
    with session(emu, key="k1"), session(emu, key="k1") as second:
        assert refused_status(emu.url, {"X-Hume-Api-Key": "k1"}) == 429
        with session(emu, key="k2") as other_key:
            assert ask(other_key, {"reset_stream": True}) == {}
        assert ask(second, {"reset_stream": True}) == {}
    # Closing frees the slots.
    wait_for_event(emu, lambda e: e["event"] == "close" and e["conn"] == 1)
    wait_for_event(emu, lambda e: e["event"] == "close" and e["conn"] == 2)
    with session(emu, key="k1") as ws:
        assert ask(ws, {"reset_stream": True}) == {}


def test_idle_connection_is_closed(emulator_factory: Factory) -> None:
    emu = emulator_factory("--idle-timeout", "0.3")
    with session(emu) as ws:
        ask(ws, {"reset_stream": True})
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=20)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    wait_for_event(emu, lambda e: e["event"] == "close" and e["close_code"] == 1000)


def test_sigterm_closes_connections_and_exits_cleanly(emulator_factory: Factory) -> None:
    emu = emulator_factory()
    with session(emu) as ws:
        ask(ws, {"reset_stream": True})
        assert emu.stop() == 0
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=20)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001


def test_restart_keeps_the_port_and_numbers_connections_on(emulator_factory: Factory) -> None:
    emu = emulator_factory()
    url = emu.url
    with session(emu) as ws:
        ask(ws, {"reset_stream": True})
    emu.restart()
    assert emu.url == url
    with session(emu) as ws:
        assert ask(ws, {"reset_stream": True}) == {}
    emu.stop()
    assert [e["conn"] for e in emu.events() if e["event"] == "open"] == [1, 2]


def test_oversized_message_closes_with_1009(emulator: EmulatorProcess) -> None:
    with session(emulator) as ws:
        ws.send(json.dumps({"data": "A" * (16 * 2**20 + 16), "models": {"prosody": {}}}))
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=30)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_event_log_records_each_connection_and_request(
    emulator_factory: Factory, media: MediaFactory
) -> None:
    emu = emulator_factory()
    audio = {"data": b64(media.speech("hello", lead=0.2)), "models": {"prosody": {}}}
    with session(emu) as ws:
        ask(ws, {**audio, "payload_id": "p1"})
        ask(ws, {"reset_stream": True})
        ask(ws, {"job_details": True})
        ask(ws, "nope")
    with session(emu) as ws:
        ask(ws, {**audio, "reset_stream": True})
    wait_for_event(emu, lambda e: e["event"] == "close" and e["conn"] == 2)
    events = emu.events()
    assert [(e["event"], e["conn"]) for e in events] == [
        ("open", 1), ("request", 1), ("request", 1), ("request", 1), ("request", 1),
        ("close", 1), ("open", 2), ("request", 2), ("close", 2),
    ]  # fmt: skip
    first = events[1]
    assert first["kind"] == "data" and first["models"] == ["prosody"]
    assert first["payload_id"] == "p1" and first["reset"] is False
    assert 200 < first["audio_ms"] < 1500
    assert [e.get("kind") for e in events[2:5]] == ["reset", "job_details", "invalid"]
    assert events[4]["code"] == "E0100"
    assert events[7]["reset"] is True and events[7]["kind"] == "data"
    assert all(isinstance(e["t"], float) for e in events)
    assert "test-key" not in emu.event_log.read_text()
