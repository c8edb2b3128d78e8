"""Predictions are derived from content: voiced regions at the right times, text positions,
per-face results; deterministic for the same input, different for different input."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from emulator.engine import BURST_MAX_S
from hume_stream.labels import DESCRIPTIONS, EMOTIONS, FACS, LANGUAGE_EMOTIONS, SENTIMENT, TOXICITY
from hume_stream.models.messages import PredictionsMessage, parse_response
from tests.emulator.client import ask, b64, session
from tests.emulator.pictures import encode_image, encode_video, face_picture
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory, Utterance

TOLERANCE_S = 0.25


@pytest.fixture
def ws(emulator: EmulatorProcess) -> Iterator[ClientConnection]:
    with session(emulator) as connection:
        yield connection


def names(scores: list[dict[str, Any]]) -> list[str]:
    return [s["name"] for s in scores]


def spans(reply: dict[str, Any], model: str = "prosody") -> list[tuple[float, float]]:
    return [(p["time"]["begin"], p["time"]["end"]) for p in reply[model]["predictions"]]


def audio(path: Any, *models: str, **extra: Any) -> dict[str, Any]:
    return {"data": b64(path), "models": {m: {} for m in models}, "raw_text": False, **extra}


def test_prosody_follows_speech_offsets(ws: ClientConnection, media: MediaFactory) -> None:
    wav = media.speech("the quick brown fox jumps", lead=1.5)
    speech_s = media.speech("the quick brown fox jumps").stat().st_size / 2 / 16000
    reply = ask(ws, audio(wav, "prosody"))
    [(begin, end)] = spans(reply)
    assert abs(begin - 1.5) <= TOLERANCE_S
    assert abs(end - (1.5 + speech_s)) <= TOLERANCE_S
    assert names(reply["prosody"]["predictions"][0]["emotions"]) == list(EMOTIONS)
    assert PredictionsMessage.model_validate(reply).prosody is not None


def test_two_utterances_give_two_regions(ws: ClientConnection, media: MediaFactory) -> None:
    call = media.call(
        [Utterance(0, 0.4, "hello"), Utterance(0, 2.8, "goodbye")], 4.5, rate=16000, channels=1
    )
    reply = ask(ws, audio(call, "prosody", "burst", reset_stream=True))
    prosody = spans(reply)
    assert len(prosody) == 2
    assert abs(prosody[0][0] - 0.4) <= TOLERANCE_S and abs(prosody[1][0] - 2.8) <= TOLERANCE_S
    # Both words are short voiced regions, so they are bursts too.
    assert spans(reply, "burst") == [s for s in prosody if s[1] - s[0] <= BURST_MAX_S]


def test_stream_window_prepends_earlier_audio(ws: ClientConnection, media: MediaFactory) -> None:
    speech = media.speech("hello there", lead=0.6)  # about 1.4 s
    first = ask(ws, audio(speech, "prosody", reset_stream=True, stream_window_ms=10_000))
    second = ask(ws, audio(speech, "prosody", stream_window_ms=10_000))
    payload_s = speech.stat().st_size / 2 / 16000
    [(b1, e1)] = spans(first)
    assert len(spans(second)) == 2
    (c1, d1), (c2, d2) = spans(second)
    # Frame edges (20 ms) may fall differently once the audio is joined.
    assert (c1, d1) == pytest.approx((b1, e1), abs=0.05)
    assert (c2, d2) == pytest.approx((b1 + payload_s, e1 + payload_s), abs=0.05)
    # A window no longer than the payload adds no context; reset drops it too.
    assert spans(ask(ws, audio(speech, "prosody", stream_window_ms=500))) == [(b1, e1)]
    assert spans(ask(ws, audio(speech, "prosody", reset_stream=True))) == [(b1, e1)]


def test_same_input_same_output_and_content_matters(
    ws: ClientConnection, media: MediaFactory
) -> None:
    low, high = media.tone(1.0, freq=150.0), media.tone(1.0, freq=2500.0)
    first = ask(ws, audio(low, "prosody", reset_stream=True))
    again = ask(ws, audio(low, "prosody", reset_stream=True))
    other = ask(ws, audio(high, "prosody", reset_stream=True))
    assert first == again
    assert (
        first["prosody"]["predictions"][0]["emotions"]
        != other["prosody"]["predictions"][0]["emotions"]
    )
    scores = [s["score"] for s in other["prosody"]["predictions"][0]["emotions"]]
    assert all(0.0 <= s <= 1.0 for s in scores) and len(set(scores)) > 10


def test_language_granularities_and_positions(ws: ClientConnection) -> None:
    text = "I love this so much! The refund was terrible.\nThanks anyway"

    def ask_text(**config: Any) -> list[dict[str, Any]]:
        reply = ask(ws, {"data": text, "models": {"language": config}, "raw_text": True})
        predictions: list[dict[str, Any]] = reply["language"]["predictions"]
        return predictions

    words = ask_text()
    assert [w["text"] for w in words][:5] == ["I", "love", "this", "so", "much"]
    for item in words:
        assert text[item["position"]["begin"] : item["position"]["end"]] == item["text"]
    assert names(words[0]["emotions"]) == list(LANGUAGE_EMOTIONS)
    assert "sentiment" not in words[0] and "toxicity" not in words[0]
    sentences = ask_text(granularity="sentence", sentiment={}, toxicity={})
    assert [s["text"] for s in sentences] == [
        "I love this so much!", "The refund was terrible.", "Thanks anyway",
    ]  # fmt: skip
    assert [len(ask_text(granularity=g)) for g in ("utterance", "passage")] == [2, 1]
    happy, sad, _ = sentences
    assert names(happy["sentiment"]) == list(SENTIMENT) and names(happy["toxicity"]) == list(
        TOXICITY
    )
    assert abs(sum(s["score"] for s in happy["sentiment"]) - 1.0) < 1e-3

    def mean_level(item: dict[str, Any]) -> float:
        return sum(int(s["name"]) * float(s["score"]) for s in item["sentiment"])

    assert mean_level(happy) > 6 > 4 > mean_level(sad)
    love = {s["name"]: s["score"] for s in words[1]["emotions"]}
    assert love["Love"] > sorted(love.values())[len(love) // 2]


def test_toxicity_follows_insults(ws: ClientConnection) -> None:
    reply = ask(
        ws,
        {
            "data": "You are an idiot. Have a nice day.",
            "models": {"language": {"granularity": "sentence", "toxicity": {}}},
            "raw_text": True,
        },
    )
    rude, kind = reply["language"]["predictions"]
    assert rude["toxicity"][0]["score"] > 0.5 > kind["toxicity"][0]["score"]


def test_language_only_routes_text_without_raw_text(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": "Hello friend", "models": {"language": {}}})
    assert [p["text"] for p in reply["language"]["predictions"]] == ["Hello", "friend"]


def test_facemesh_one_prediction_per_face_both_encodings(ws: ClientConnection) -> None:
    faces = [
        [[(i % 17) / 17, (i % 23) / 23 * (1 + 0.3 * k), (i % 7) * 0.01 * k] for i in range(478)]
        for k in range(3)
    ]
    as_json = json.dumps(faces)
    legacy = ask(
        ws, {"data": base64.b64encode(as_json.encode()).decode(), "models": {"facemesh": {}}}
    )
    fern = ask(ws, {"data": as_json, "models": {"facemesh": {}}, "raw_text": False})
    typescript = ask(
        ws,
        {
            "data": base64.b64encode(as_json.encode()).decode(),
            "models": {"facemesh": {}},
            "raw_text": True,
        },
    )
    assert legacy == fern == typescript
    predictions = legacy["facemesh"]["predictions"]
    assert len(predictions) == 3 and names(predictions[0]["emotions"]) == list(EMOTIONS)
    assert predictions[0] != predictions[1]


def test_image_face_prediction(ws: ClientConnection) -> None:
    png = encode_image(face_picture(320, 240))
    reply = ask(ws, {"data": b64(png), "models": {"face": {"facs": {}, "descriptions": {}}}})
    [face] = reply["face"]["predictions"]
    assert face["frame"] == 0 and face["time"] == 0 and face["face_id"] == "unknown"
    assert 0.99 <= face["prob"] <= 1.0
    box = face["bbox"]
    # The oval is centred at (160, 108) with radii (64, 72).
    assert abs(box["x"] + box["w"] / 2 - 160) < 12 and abs(box["y"] + box["h"] / 2 - 108) < 12
    assert names(face["emotions"]) == list(EMOTIONS)
    assert names(face["facs"]) == list(FACS) and names(face["descriptions"]) == list(DESCRIPTIONS)
    assert not isinstance(parse_response(reply), type(None))


def test_face_options(ws: ClientConnection) -> None:
    jpeg = b64(encode_image(face_picture(), "mjpeg"))
    other = b64(encode_image(face_picture(shade=120), "mjpeg"))

    def face(data: str, **config: Any) -> dict[str, Any]:
        part: dict[str, Any] = ask(ws, {"data": data, "models": {"face": config}})["face"]
        return part

    first = face(jpeg, identify_faces=True)["predictions"][0]["face_id"]
    ask(ws, {"reset_stream": True})  # does not reset identities
    assert face(jpeg, identify_faces=True)["predictions"][0]["face_id"] == first
    assert face(other, identify_faces=True)["predictions"][0]["face_id"] != first
    assert face(jpeg, prob_threshold=1.0)["code"] == "W0103"
    assert face(jpeg, min_face_size=500)["code"] == "W0103"
    assert "facs" not in face(jpeg)["predictions"][0]


def test_video_faces_per_sampled_frame_and_audio(ws: ClientConnection) -> None:
    video = b64(encode_video(2.0, fps=10, with_audio=True))
    reply = ask(ws, {"data": video, "models": {"face": {"fps_pred": 2}, "prosody": {}}})
    frames = [(p["frame"], p["time"]) for p in reply["face"]["predictions"]]
    assert frames == [(0, 0.0), (5, 0.5), (10, 1.0), (15, 1.5)]
    [(begin, end)] = spans(reply)
    assert begin <= TOLERANCE_S and abs(end - 2.0) <= TOLERANCE_S


@pytest.mark.parametrize("suffix", ["mp3", "flac", "ogg", "m4a", "ulaw.wav"])
def test_audio_containers(ws: ClientConnection, media: MediaFactory, suffix: str) -> None:
    path = media.speech("good morning", lead=0.8, suffix=suffix)
    [(begin, _)] = spans(ask(ws, audio(path, "prosody", reset_stream=True)))
    assert abs(begin - 0.8) <= TOLERANCE_S
