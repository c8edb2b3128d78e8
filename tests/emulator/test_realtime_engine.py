"""The v1 realtime session core (`emulator.realtime`), without sockets: message order,
frame and message limits, pacing, utterances and measurements from the audio, totals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from emulator.realtime import CLOSE_ERROR, CLOSE_NORMAL, RealtimeSession, scores
from hume_stream.models.realtime import parse_realtime_event
from samples import synth

RATE = 16_000
FRAME_MS = 100


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def tone(seconds: float, lead: float = 0.0, tail: float = 0.0) -> bytes:
    body = synth.tone(220.0, seconds, RATE)[0]
    return pcm(np.concatenate([np.zeros(round(lead * RATE)), body, np.zeros(round(tail * RATE))]))


def frames(audio: bytes, ms: int = FRAME_MS) -> Iterator[bytes]:
    step = ms * RATE * 2 // 1000
    for start in range(0, len(audio), step):
        yield audio[start : start + step]


def stream(session: RealtimeSession, audio: bytes, ms: int = FRAME_MS) -> list[dict[str, Any]]:
    """Send at exactly real time (the clock advances with the audio)."""
    out: list[dict[str, Any]] = []
    now = 0.0
    for frame in frames(audio, ms):
        reaction = session.on_audio(frame, now)
        assert reaction.code is None, reaction.messages
        out += reaction.messages
        now += len(frame) / (2 * RATE)
    return out


def close(session: RealtimeSession) -> list[dict[str, Any]]:
    return session.on_text(json.dumps({"type": "session.close"})).messages


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def test_every_message_parses_as_the_client_model() -> None:
    session = RealtimeSession()
    messages = [session.created()]
    messages += session.on_text(json.dumps({"type": "session.update"})).messages
    messages += stream(session, tone(1.5, lead=0.5, tail=1.0))
    messages += close(session)
    kinds = [m["type"] for m in messages]
    assert kinds == [
        "session.created",
        "session.updated",
        "utterance.start",
        "measurement.result",
        "utterance.end",
        "session.closed",
    ]
    assert all(parse_realtime_event(m) is not None for m in messages)
    assert messages[0]["measurement_timer_ms"] == 3000
    start, result, end, closed = messages[2:]
    assert abs(start["audio_start_ms"] - 500) <= 20 and start["utterance_id"] == 0
    assert (
        result["trigger"] == "speech_ended" and result["audio_start_ms"] == start["audio_start_ms"]
    )
    assert result["audio_end_ms"] == end["audio_end_ms"] and abs(end["audio_end_ms"] - 2000) <= 20
    assert closed == {
        "type": "session.closed",
        "session_id": session.session_id,
        "reason": "client_request",
        "received": {"audio_duration_ms": 3000, "frames": 30},
        "produced": {"utterances": 1, "measurements": 1},
    }


def test_silence_yields_no_utterance() -> None:
    session = RealtimeSession()
    assert stream(session, bytes(2 * RATE * 2)) == []
    assert of_type(close(session), "session.closed")[0]["produced"] == {
        "utterances": 0,
        "measurements": 0,
    }


def test_interval_measurements_every_timer_of_speech_with_a_window_of_at_most_10_s() -> None:
    session = RealtimeSession()
    update = {"type": "session.update", "measurement_timer_ms": 4000}
    assert session.on_text(json.dumps(update)).messages[0]["measurement_timer_ms"] == 4000
    messages = stream(session, tone(14.0, lead=1.0, tail=1.0))
    results = of_type(messages, "measurement.result")
    start = of_type(messages, "utterance.start")[0]["audio_start_ms"]
    assert [r["trigger"] for r in results] == ["interval"] * 3 + ["speech_ended"]
    assert [r["audio_end_ms"] for r in results[:3]] == [start + 4000, start + 8000, start + 12000]
    for r in results:
        assert r["audio_start_ms"] == max(start, r["audio_end_ms"] - 10_000)
    assert [r["measurement_id"] for r in results] == [0, 1, 2, 3]
    assert {r["utterance_id"] for r in results} == {0}


def test_no_speech_ended_measurement_within_a_second_of_the_last_one() -> None:
    session = RealtimeSession()
    # Speech of 3.5 s: the interval result at 3.0 s ends 0.5 s before the speech does.
    messages = stream(session, tone(3.5, lead=0.5, tail=1.0))
    results = of_type(messages, "measurement.result")
    assert [r["trigger"] for r in results] == ["interval"]


def test_close_during_speech_ends_the_utterance() -> None:
    session = RealtimeSession()
    messages = stream(session, tone(2.0, lead=0.4))
    closing = close(session)
    assert [m["type"] for m in closing] == ["measurement.result", "utterance.end", "session.closed"]
    assert closing[0]["trigger"] == "speech_ended"
    assert abs(closing[1]["audio_end_ms"] - 2400) <= 20
    assert of_type(messages, "utterance.start")


def test_two_utterances_count_from_zero() -> None:
    session = RealtimeSession()
    audio = tone(1.0, lead=0.2, tail=1.0) + tone(1.0, tail=1.0)
    messages = stream(session, audio)
    assert [m["utterance_id"] for m in of_type(messages, "utterance.start")] == [0, 1]
    assert [m["measurement_id"] for m in of_type(messages, "measurement.result")] == [0, 1]


def test_update_after_the_first_frame_ends_the_session() -> None:
    session = RealtimeSession()
    stream(session, tone(0.2))
    reaction = session.on_text(json.dumps({"type": "session.update"}))
    assert reaction.close_code == CLOSE_ERROR and reaction.code == "config_invalid"
    error, closed = reaction.messages
    assert error["retryable"] is False and closed["reason"] == "error"


@pytest.mark.parametrize(
    "update",
    [
        {"type": "session.update", "measurement_timer_ms": 2999},
        {"type": "session.update", "measurement_timer_ms": 10_001},
        {"type": "session.update", "audio": {"sample_rate": 8000}},
        {"type": "session.update", "audio": {"channels": 2}},
        {"type": "session.update", "audio": {"encoding": "f32le"}},
    ],
)
def test_a_bad_configuration_ends_the_session(update: dict[str, Any]) -> None:
    reaction = RealtimeSession().on_text(json.dumps(update))
    assert (reaction.code, reaction.close_code) == ("config_invalid", CLOSE_ERROR)


def test_an_update_resets_omitted_fields_and_accepts_nulls() -> None:
    session = RealtimeSession()
    session.on_text(json.dumps({"type": "session.update", "measurement_timer_ms": 5000}))
    reaction = session.on_text(json.dumps({"type": "session.update", "audio": None}))
    assert reaction.messages[0]["measurement_timer_ms"] == 3000


@pytest.mark.parametrize(
    "text",
    ["not json", "[1, 2]", '{"type": "session.reset"}', '{"type": "session.update", "x": 1}'],
)
def test_unreadable_text_is_message_invalid_and_the_session_goes_on(text: str) -> None:
    session = RealtimeSession()
    reaction = session.on_text(text)
    assert reaction.code == "message_invalid" and reaction.close_code is None
    assert reaction.messages[0]["retryable"] is True
    assert stream(session, tone(0.2)) is not None and not session.ended


@pytest.mark.parametrize("size", [0, 3201, 320_002])
def test_bad_frames_are_dropped_and_not_counted(size: int) -> None:
    session = RealtimeSession()
    reaction = session.on_audio(bytes(size), 0.0)
    assert reaction.code == "invalid_audio_frame" and reaction.close_code is None
    assert session.frames == 0 and session.audio_ms == 0


def test_a_message_over_1_mib_ends_the_session() -> None:
    reaction = RealtimeSession().on_audio(bytes(2**20 + 2), 0.0)
    assert (reaction.code, reaction.close_code) == ("message_too_large", CLOSE_ERROR)
    reaction = RealtimeSession().on_text(" " * (2**20 + 1))
    assert (reaction.code, reaction.close_code) == ("message_too_large", CLOSE_ERROR)


def test_frames_faster_than_real_time_are_rate_limited_and_not_counted() -> None:
    session = RealtimeSession(burst_ms=200)
    frame = bytes(3200)  # 100 ms
    codes = [session.on_audio(frame, 0.0).code for _ in range(6)]
    # The first frame, then two more within the 200 ms burst; the rest are refused.
    assert codes == [None, None, None, "rate_limited", "rate_limited", "rate_limited"]
    assert session.audio_ms == 300 and session.frames == 3
    # Once real time catches up, frames are accepted again.
    assert session.on_audio(frame, 0.2).code is None
    assert session.audio_ms == 400


def test_finish_and_fail_report_their_reasons() -> None:
    session = RealtimeSession()
    finished = session.finish("idle_timeout")
    assert finished.close_code == CLOSE_NORMAL and finished.messages[-1]["reason"] == "idle_timeout"
    failed = RealtimeSession().fail("internal_error", "measurement failed")
    assert [m["type"] for m in failed.messages] == ["error", "session.closed"]
    assert failed.close_code == CLOSE_ERROR


def test_scores_are_deterministic_thresholded_and_sorted() -> None:
    speech = synth.speak("I was charged twice on my bill.", RATE)[0]
    expressions, voice = scores(speech)
    assert (expressions, voice) == scores(speech.copy())
    for listed in (expressions, voice):
        probabilities = [s["probability"] for s in listed]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(p == round(p, 4) and 0 <= p <= 1 for p in probabilities)
    assert expressions and all(s["name"] == s["name"].lower() for s in expressions)
    assert all(s["probability"] >= 0.725 for s in voice)
    assert scores(np.zeros(10, dtype=np.float32)) == ([], [])
