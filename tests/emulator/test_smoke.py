"""The emulator starts, authenticates, and answers the basic request kinds."""

from __future__ import annotations

from tests.emulator.client import ask, b64, session
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory


def test_job_details_reset_and_prosody(emulator: EmulatorProcess, media: MediaFactory) -> None:
    with session(emulator) as ws:
        job = ask(ws, {"job_details": True})
        assert len(job["job_details"]["job_id"]) == 32
        assert ask(ws, {"reset_stream": True}) == {}
        wav = media.speech("hello there, how are you", lead=1.0)
        reply = ask(ws, {"data": b64(wav), "models": {"prosody": {}}, "raw_text": False})
        predictions = reply["prosody"]["predictions"]
        assert predictions and len(predictions[0]["emotions"]) == 48
