"""The official Hume Python SDK (0.4.2, in a venv of its own: it pins websockets<11) works
against the emulator unchanged, and raises its own exceptions for a bad key and for audio
over the limit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.pictures import encode_image, face_picture
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory
from tests.support.venvs import venv_python

SDK_VENV = "hume-sdk-venv"
# 0.4.2 is the last 0.4.x; its `stream` extra requires websockets>=10.3,<11.
SDK_REQUIREMENTS = ("hume==0.4.2", "websockets==10.4")
SCRIPT = Path(__file__).with_name("sdk_script.py")


@pytest.fixture(scope="module")
def sdk_results(
    emulator: EmulatorProcess, media: MediaFactory, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    python = venv_python(SDK_VENV, SDK_REQUIREMENTS)
    work = tmp_path_factory.mktemp("sdk")
    image = work / "face.png"
    image.write_bytes(encode_image(face_picture()))
    speech = media.speech("hello there, how are you", lead=0.5)
    long_wav = media.tone(6.0)
    run = subprocess.run(
        [
            str(python),
            str(SCRIPT),
            emulator.base_url,
            emulator.api_key,
            str(speech),
            str(long_wav),
            str(image),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    results: dict[str, Any] = json.loads(run.stdout)
    return results


def test_send_file_and_send_bytes_return_predictions(sdk_results: dict[str, Any]) -> None:
    assert sdk_results["send_file"]["prosody"]["predictions"]
    assert sdk_results["send_file"]["burst"]["code"] == "W0101"
    # The second send sees the first as stream-window context, so it differs from it.
    assert sdk_results["send_bytes"]["prosody"]["predictions"]
    assert sdk_results["after_errors"] == sdk_results["send_file"]


def test_reset_and_job_details(sdk_results: dict[str, Any]) -> None:
    assert sdk_results["reset_stream"] == {}
    job_id = sdk_results["job_details"]["job_details"]["job_id"]
    assert len(job_id) == 32
    assert sdk_results["job_details_again"]["job_details"]["job_id"] == job_id


def test_sdk_raises_its_exceptions(sdk_results: dict[str, Any]) -> None:
    assert sdk_results["bad_key"] == "HumeStreamClient initialized with invalid API key."
    assert sdk_results["too_long"].startswith(
        "hume(E0203): Your audio file was too long. The limit is 5000 milliseconds."
    )
    assert sdk_results["unsupported"] == (
        "hume(E0102): Streaming payload configured with model type 'prosody', "
        "which is not supported for the detected file type 'image'."
    )


def test_text_facemesh_and_face(sdk_results: dict[str, Any]) -> None:
    sentences = sdk_results["send_text"]["language"]["predictions"]
    assert [p["text"] for p in sentences] == ["I love this.", "Thanks a lot!"]
    assert all(len(p["sentiment"]) == 9 and len(p["toxicity"]) == 6 for p in sentences)
    assert len(sdk_results["send_facemesh"]["facemesh"]["predictions"]) == 2
    face = sdk_results["face"]["face"]["predictions"][0]
    assert face["face_id"] == "face_0" and len(face["facs"]) == 36
