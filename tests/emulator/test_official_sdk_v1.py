"""The official v1 SDK, `hume-expression-measurement` 0.1.0 (in a venv of its own under
.cache/), works against the emulator's realtime endpoint unchanged: a whole session with
the sync client, its exception for a bad key, and its reconnect helper, which opens a new
session after an `internal_error` and sends it the last `session.update`."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from samples import synth
from tests.support.emulator import EmulatorProcess
from tests.support.venvs import venv_python

SDK_VENV = "hume-em-sdk-venv"
SDK_REQUIREMENTS = ("hume-expression-measurement==0.1.0",)
SCRIPT = Path(__file__).with_name("sdk_v1_script.py")
ERROR_RATE = 0.3


def _seed_failing_first_connection_only() -> int:
    """A fault seed under which connection 1's first frame gets `internal_error` and
    connection 2's first frames do not (the emulator draws per connection, seeded)."""
    for seed in range(1000):
        first = random.Random(f"{seed}:1").random()
        second = random.Random(f"{seed}:2")
        if first < ERROR_RATE and all(second.random() >= ERROR_RATE for _ in range(3)):
            return seed
    raise AssertionError("no seed found")


@pytest.fixture(scope="module")
def sdk_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = venv_python(SDK_VENV, SDK_REQUIREMENTS)
    work = tmp_path_factory.mktemp("sdk-v1")
    speech = synth.speak("hello there, how are you today", 16000)[0]
    samples = np.concatenate([np.zeros(8000, dtype=np.float32), speech, np.zeros(8000)])
    pcm = work / "speech.pcm"
    pcm.write_bytes((samples * 32767).astype("<i2").tobytes())
    seed = _seed_failing_first_connection_only()
    with (
        EmulatorProcess() as emulator,
        EmulatorProcess("--error-rate", str(ERROR_RATE), "--seed", str(seed)) as faulty,
    ):
        run = subprocess.run(
            [
                str(python),
                str(SCRIPT),
                emulator.http_url,
                emulator.base_url,
                emulator.api_key,
                str(pcm),
                faulty.base_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    results: dict[str, Any] = json.loads(run.stdout)
    return results


def test_a_session_with_the_sync_client(sdk_results: dict[str, Any]) -> None:
    sync = sdk_results["sync"]
    assert sync["created"]["type"] == "session.created"
    assert sync["updated"]["measurement_timer_ms"] == 3000
    kinds = [m["type"] for m in sync["messages"]]
    assert kinds[0] == "utterance.start" and kinds[-1] == "session.closed"
    assert "measurement.result" in kinds and "utterance.end" in kinds
    start = sync["messages"][0]["audio_start_ms"]
    assert abs(start - 500) <= 50
    closed = sync["messages"][-1]
    assert closed["reason"] == "client_request" and closed["produced"]["utterances"] == 1


def test_a_bad_key_raises_the_sdk_error(sdk_results: dict[str, Any]) -> None:
    assert sdk_results["bad_key"] == {
        "status": 401,
        "body": "Websocket initialized with invalid credentials.",
    }


def test_the_reconnect_helper_resends_the_last_update(sdk_results: dict[str, Any]) -> None:
    seen = sdk_results["reconnect"]
    assert seen[:2] == ["session.created:3000", "session.updated:4000"]
    assert "error:" in seen and "session.closed:" in seen
    # The new session got the last session.update before anything else.
    assert seen[seen.index("session.closed:") + 1 :][:2] == [
        "session.created:3000",
        "session.updated:4000",
    ]
