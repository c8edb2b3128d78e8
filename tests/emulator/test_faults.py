"""Injected faults and latency: each flag does what it says, on data requests only, and the
same seed injects the same faults."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError

from tests.emulator.client import ask, b64, session
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory

Factory = Callable[..., EmulatorProcess]
TEXT = {"data": "hello there", "models": {"language": {}}, "raw_text": True}


def requests_logged(emu: EmulatorProcess, count: int) -> list[dict[str, Any]]:
    """The request events once `count` of them are in the log (bounded wait)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events = [e for e in emu.events() if e["event"] == "request"]
        if len(events) >= count:
            return events
        time.sleep(0.02)
    raise AssertionError(f"expected {count} request events, got {emu.events()}")


def test_drop_closes_abnormally_without_answering(emulator_factory: Factory) -> None:
    emu = emulator_factory("--drop-rate", "1")
    with session(emu) as ws:
        assert ask(ws, {"reset_stream": True, "job_details": True})["job_details"]
        ws.send('{"data": "hello", "models": {"language": {}}, "raw_text": true}')
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=20)
    assert info.value.rcvd is None  # no close frame: abnormal closure (1006)
    events = requests_logged(emu, 2)
    assert events[1]["fault"] == "drop" and events[1]["kind"] == "data"


def test_error_answers_retryable_i0100(emulator_factory: Factory) -> None:
    emu = emulator_factory("--error-rate", "1")
    with session(emu) as ws:
        reply = ask(ws, {**TEXT, "payload_id": "p", "job_details": True})
        assert reply["error"] == "Unexpected service error occurred."
        assert reply["code"] == "I0100" and reply["payload_id"] == "p"
        assert "job_id" in reply["job_details"]
        assert ask(ws, {"reset_stream": True}) == {}
        assert ask(ws, "not json")["code"] == "E0100"
    assert requests_logged(emu, 3)[0]["fault"] == "error"
    with urllib.request.urlopen(emu.http_url + "/stats", timeout=10) as reply:
        stats = json.load(reply)
    assert stats["faults"] == {"error": 1} and stats["errors"]["I0100"] == 1


def test_stall_never_answers_and_the_connection_goes_silent(emulator_factory: Factory) -> None:
    emu = emulator_factory("--stall-rate", "1")
    with session(emu) as ws:
        assert ask(ws, {"job_details": True})
        ws.send('{"data": "hello", "models": {"language": {}}, "raw_text": true}')
        ws.send('{"reset_stream": true}')
        events = requests_logged(emu, 3)
        assert [e.get("fault") for e in events] == [None, "stall", "stalled"]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)


def test_latency_delays_data_replies_only(emulator_factory: Factory, media: MediaFactory) -> None:
    emu = emulator_factory("--latency-ms", "300", "--latency-ms-per-audio-s", "200")
    with session(emu) as ws:
        started = time.monotonic()
        ask(ws, {"reset_stream": True})
        ask(ws, {"data": b64(media.tone(1.0)), "models": {"prosody": {}}})
        # Lower bound only: 300 ms fixed + 200 ms per second of audio.
        assert time.monotonic() - started >= 0.5


def test_same_seed_injects_the_same_faults(emulator_factory: Factory) -> None:
    def fault_pattern(seed: str) -> list[str]:
        emu = emulator_factory("--error-rate", "0.5", "--seed", seed)
        with session(emu) as ws:
            return [ask(ws, TEXT).get("code", "ok") for _ in range(24)]

    first, again, other = fault_pattern("7"), fault_pattern("7"), fault_pattern("8")
    assert first == again
    assert first != other
    assert 0 < first.count("I0100") < 24


def test_mixed_rates_fault_some_requests_per_connection(emulator_factory: Factory) -> None:
    emu = emulator_factory("--drop-rate", "0.2", "--error-rate", "0.3", "--seed", "3")
    outcomes = []
    for _ in range(6):
        with session(emu) as ws:
            try:
                while True:
                    outcomes.append(ask(ws, TEXT).get("code", "ok"))
            except ConnectionClosedError:
                outcomes.append("drop")
    assert outcomes.count("drop") == 6
    assert {"ok", "I0100"} <= set(outcomes)
    faults = [e.get("fault") for e in requests_logged(emu, len(outcomes))]
    assert faults.count("drop") == 6 and faults.count("error") == outcomes.count("I0100")
