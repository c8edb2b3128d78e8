"""The pure core without sockets: voice activity, text segments, window arithmetic, settings."""

from __future__ import annotations

import base64
import io
import json
import wave

import numpy as np
import pytest
from pydantic import SecretStr, ValidationError

from emulator import audio, engine, text
from emulator.settings import EmulatorSettings

RATE = audio.RATE


def signal(*parts: tuple[str, float]) -> audio.Mono:
    """Concatenate ("tone"|"silence"|"noise", seconds) parts at 16 kHz."""
    chunks = []
    rng = np.random.default_rng(0)
    for kind, seconds in parts:
        n = round(seconds * RATE)
        t = np.arange(n) / RATE
        chunk = {
            "tone": 0.5 * np.sin(2 * np.pi * 220 * t),
            "silence": np.zeros(n),
            "noise": 0.003 * rng.standard_normal(n),
        }[kind]
        chunks.append(chunk)
    return np.concatenate(chunks).astype(np.float32)


def wav_b64(samples: audio.Mono) -> str:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return base64.b64encode(out.getvalue()).decode()


def seconds(regions: list[audio.Region]) -> list[tuple[float, float]]:
    return [(round(r.begin_s, 2), round(r.end_s, 2)) for r in regions]


def test_voiced_regions_at_known_offsets() -> None:
    x = signal(("silence", 0.5), ("tone", 1.0), ("silence", 1.0), ("tone", 0.4), ("silence", 0.3))
    assert seconds(audio.voiced_regions(x)) == [(0.5, 1.5), (2.5, 2.9)]


def test_short_gaps_merge_and_clicks_are_dropped() -> None:
    x = signal(("tone", 0.5), ("silence", 0.2), ("tone", 0.5), ("silence", 1.0), ("tone", 0.04))
    assert seconds(audio.voiced_regions(x)) == [(0.0, 1.2)]


def test_background_noise_is_not_voice() -> None:
    x = signal(("noise", 1.0), ("tone", 1.0), ("noise", 1.0))
    assert seconds(audio.voiced_regions(x)) == [(1.0, 2.0)]
    assert audio.voiced_regions(signal(("silence", 1.0))) == []


def test_features_reflect_the_signal() -> None:
    tone = audio.features(signal(("tone", 1.0)))
    assert tone.pitch_hz == pytest.approx(220, rel=0.05)
    assert tone.centroid_hz == pytest.approx(220, rel=0.1)
    assert tone.level_db == pytest.approx(-9.0, abs=0.5)
    assert audio.features(signal(("tone", 1.0))) == tone


def test_window_context_is_min_of_history_and_window_minus_payload() -> None:
    session = engine.Session()
    speech = signal(("silence", 0.5), ("tone", 0.5))  # one region at 0.5-1.0 in each payload

    def ask(**fields: object) -> list[tuple[float, float]]:
        request = {"data": wav_b64(speech), "models": {"prosody": {}}, **fields}
        reply = engine.handle(session, json.dumps(request)).response
        return [(p["time"]["begin"], p["time"]["end"]) for p in reply["prosody"]["predictions"]]

    assert ask() == [(0.5, 1.0)]
    # default window 5000 ms: 1 s of history fits entirely
    assert ask() == [(0.5, 1.0), (1.5, 2.0)]
    # 1500 ms window, 1000 ms payload: only the last 500 ms of history
    assert ask(stream_window_ms=1500) == [(0.0, 0.5), (1.0, 1.5)]
    assert ask(stream_window_ms=1000) == [(0.5, 1.0)]
    assert ask(reset_stream=True, stream_window_ms=10_000) == [(0.5, 1.0)]


def test_failed_request_leaves_history_alone() -> None:
    session = engine.Session()
    engine.handle(session, json.dumps({"data": "!!", "models": {"prosody": {}}}))
    assert session.history.size == 0
    ok = {"data": wav_b64(signal(("tone", 0.5))), "models": {"prosody": {}}}
    engine.handle(session, json.dumps(ok))
    assert session.history.size == RATE // 2


def test_text_segments_use_code_point_offsets() -> None:
    sample = "Ça va? Très bien!  Merci 😀 beaucoup"
    for granularity in ("word", "sentence", "utterance", "passage"):
        for seg in text.segments(sample, granularity):
            assert sample[seg.begin : seg.end] == seg.text
    assert [s.text for s in text.segments(sample, "sentence")] == [
        "Ça va?", "Très bien!", "Merci 😀 beaucoup",
    ]  # fmt: skip
    assert [s.text for s in text.segments("well-known don't", "word")] == ["well-known", "don't"]


def test_outcome_facts_for_the_event_log() -> None:
    session = engine.Session()
    outcome = engine.handle(
        session,
        json.dumps(
            {"data": wav_b64(signal(("tone", 0.25))), "models": {"burst": {}, "prosody": {}}}
        ),
    )
    assert outcome.kind == "data" and list(outcome.models) == ["burst", "prosody"]
    assert outcome.audio_ms == 250.0 and outcome.code is None
    assert list(outcome.response) == ["burst", "prosody"]
    invalid = engine.handle(session, "{")
    assert invalid.kind == "invalid" and invalid.code == "E0100"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_EMULATOR_API_KEYS", " a , b,")
    monkeypatch.setenv("HUME_EMULATOR_DROP_RATE", "0.25")
    settings = EmulatorSettings()
    assert [k.get_secret_value() for k in settings.api_keys] == ["a", "b"]
    assert settings.drop_rate == 0.25 and settings.idle_timeout == 60
    assert "'a'" not in repr(settings)
    # Flags (init arguments) win over the environment.
    flags = EmulatorSettings(api_keys=[SecretStr("c")])
    assert flags.api_keys[0].get_secret_value() == "c"
    monkeypatch.delenv("HUME_EMULATOR_API_KEYS")
    with pytest.raises(ValidationError, match="at least one non-empty API key"):
        EmulatorSettings()
