"""Every documented error and warning, over a real connection to the session emulator.
After each error the connection stays usable (one reply per request, in order)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from tests.emulator.client import ask, b64, session
from tests.emulator.pictures import encode_image, encode_video, face_picture, uniform_picture
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory


@pytest.fixture
def ws(emulator: EmulatorProcess) -> Iterator[ClientConnection]:
    with session(emulator) as connection:
        yield connection


def mesh(n_faces: int, n_landmarks: int = 478, n_spatial: int = 3) -> list[Any]:
    point = [0.5] * n_spatial
    return [[point] * n_landmarks for _ in range(n_faces)]


def error_of(reply: dict[str, Any], code: str) -> str:
    assert reply.get("code") == code, reply
    assert isinstance(reply.get("error"), str) and reply["error"], reply
    return str(reply["error"])


@pytest.mark.parametrize(
    "frame",
    ["{not json", "", "[1, 2", '{"data": "x", }', "NaN garbage"],
)
def test_invalid_json_is_e0100(ws: ClientConnection, frame: str) -> None:
    assert error_of(ask(ws, frame), "E0100").startswith("Invalid JSON")


def test_binary_frame_is_e0100(ws: ClientConnection) -> None:
    ws.send(b'{"job_details": true}')
    reply = json.loads(ws.recv(timeout=10))
    assert "Binary frames" in error_of(reply, "E0100")


@pytest.mark.parametrize(
    ("request_", "needle"),
    [
        ([1, 2, 3], "must be a JSON object"),
        ({"data": "hello"}, "'models' must name at least one model"),
        ({"data": "hello", "models": {}}, "'models' must name at least one model"),
        ({"models": {"prosody": {}}}, "'data' is required"),
        ({}, "nothing to do"),
        ({"data": "x", "models": {"prosody": {}}, "extra": 1}, "extra"),
        ({"data": "x", "models": {"emotions": {}}}, "Unknown model type 'emotions'"),
        ({"data": "x", "models": {"ner": {}}}, "'ner' is not supported by the streaming API"),
        (
            {"data": "x", "models": {"language": {"granularity": "conversational_turn"}}},
            "granularity",
        ),
        ({"data": "x", "models": {"prosody": {"granularity": "word"}}}, "prosody.granularity"),
        ({"data": "x", "models": {"prosody": {}}, "stream_window_ms": 100}, "stream_window_ms"),
        ({"data": "x", "models": {"prosody": {}}, "stream_window_ms": 20000}, "stream_window_ms"),
        ({"data": 5, "models": {"prosody": {}}}, "data"),
        ({"data": "x", "models": {"face": {"prob_threshold": 2}}}, "prob_threshold"),
        ({"data": "x", "models": "prosody"}, "models"),
        ({"reset_stream": "maybe"}, "reset_stream"),
        ({"data": "", "models": {"prosody": {}}}, "'data' is empty"),
    ],
)
def test_malformed_requests_are_e0101(ws: ClientConnection, request_: Any, needle: str) -> None:
    assert needle in error_of(ask(ws, request_), "E0101")


@pytest.mark.parametrize(
    ("models", "kind", "first_bad"),
    [
        ({"face": {}}, "audio", "face"),
        ({"prosody": {}, "language": {}}, "audio", "language"),
        ({"prosody": {}}, "image", "prosody"),
        ({"face": {}, "burst": {}}, "image", "burst"),
        ({"language": {}}, "video", "language"),
    ],
)
def test_model_unsupported_for_media_is_e0102(
    ws: ClientConnection, media: MediaFactory, models: dict[str, Any], kind: str, first_bad: str
) -> None:
    data = {
        "audio": lambda: media.speech("hello").read_bytes(),
        "image": lambda: encode_image(face_picture()),
        "video": lambda: encode_video(1.0),
    }[kind]()
    reply = ask(ws, {"data": b64(data), "models": models, "raw_text": False})
    assert error_of(reply, "E0102") == (
        f"Streaming payload configured with model type '{first_bad}', "
        f"which is not supported for the detected file type '{kind}'."
    )


def test_models_other_than_language_on_text_are_e0102(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": "hi", "models": {"language": {}, "face": {}}, "raw_text": True})
    assert "'face', which is not supported for the detected file type 'text'" in error_of(
        reply, "E0102"
    )


def test_unparseable_media_is_e0200(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": b64(b"this is not a media file at all"), "models": {"prosody": {}}})
    assert "could not be parsed" in error_of(reply, "E0200")


@pytest.mark.parametrize("data", ["not base64!", "abc", "////=x=="])
def test_invalid_base64_is_e0201(ws: ClientConnection, data: str) -> None:
    reply = ask(ws, {"data": data, "models": {"prosody": {}}})
    assert "base64" in error_of(reply, "E0201")


def test_video_without_audio_track_for_prosody_is_e0202(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": b64(encode_video(1.0)), "models": {"face": {}, "prosody": {}}})
    error_of(reply, "E0202")


def test_audio_over_limit_is_e0203(ws: ClientConnection, media: MediaFactory) -> None:
    reply = ask(ws, {"data": b64(media.tone(5.5)), "models": {"prosody": {}}})
    assert error_of(reply, "E0203") == (
        "Your audio file was too long. The limit is 5000 milliseconds. "
        "Your file was 5500 milliseconds."
    )


def test_audio_at_limit_is_accepted(ws: ClientConnection, media: MediaFactory) -> None:
    reply = ask(ws, {"data": b64(media.tone(5.0)), "models": {"prosody": {}}})
    assert reply["prosody"]["predictions"]


def test_video_over_limit_is_e0204(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": b64(encode_video(5.5, fps=4)), "models": {"face": {}}})
    assert "The limit is 5000 milliseconds" in error_of(reply, "E0204")


def test_image_over_limit_is_e0205(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": b64(encode_image(uniform_picture(3001, 8))), "models": {"face": {}}})
    assert error_of(reply, "E0205").endswith("Your image was 3,001 x 8 pixels.")


def test_text_over_limit_is_e0206(ws: ClientConnection) -> None:
    text = "a" * 10_001
    reply = ask(ws, {"data": text, "models": {"language": {}}, "raw_text": True})
    assert "The limit is 10,000 characters. Your text was 10,001" in error_of(reply, "E0206")
    ok = ask(ws, {"data": "a" * 10_000, "models": {"language": {}}, "raw_text": True})
    assert len(ok["language"]["predictions"]) == 1


@pytest.mark.parametrize(
    ("landmarks", "needle"),
    [
        (mesh(101), "has 101 faces; the limit is 100"),
        (mesh(1, n_landmarks=477), "shape (477, 3)"),
        (mesh(2, n_spatial=2), "shape (478, 2)"),
        ([[["x", 1, 2]] * 478], "face 0"),
        ({"faces": 1}, "JSON array"),
    ],
)
def test_bad_facemesh_is_e0101(ws: ClientConnection, landmarks: Any, needle: str) -> None:
    data = base64.b64encode(json.dumps(landmarks).encode()).decode()
    reply = ask(ws, {"data": data, "models": {"facemesh": {}}, "raw_text": False})
    assert needle in error_of(reply, "E0101")


def test_facemesh_that_is_neither_json_nor_base64_is_e0101(ws: ClientConnection) -> None:
    reply = ask(ws, {"data": "%%%", "models": {"facemesh": {}}})
    assert "JSON array" in error_of(reply, "E0101")


def test_warnings_sit_in_each_model_that_found_nothing(
    ws: ClientConnection, media: MediaFactory
) -> None:
    silent = ask(ws, {"data": b64(media.silence(1.0)), "models": {"prosody": {}, "burst": {}}})
    assert silent == {
        "prosody": {"warning": "No speech detected.", "code": "W0105"},
        "burst": {"warning": "No vocal bursts detected.", "code": "W0101"},
    }
    ask(ws, {"reset_stream": True})
    speech = ask(
        ws,
        {
            "data": b64(media.speech("good morning everyone")),
            "models": {"prosody": {}, "burst": {}},
        },
    )
    assert speech["prosody"]["predictions"]
    assert speech["burst"] == {"warning": "No vocal bursts detected.", "code": "W0101"}
    face = ask(ws, {"data": b64(encode_image(uniform_picture())), "models": {"face": {}}})
    assert face == {"face": {"warning": "No faces detected.", "code": "W0103"}}
    empty_mesh = ask(ws, {"data": "[]", "models": {"facemesh": {}}})
    assert empty_mesh == {"facemesh": {"warning": "No face meshes detected.", "code": "W0102"}}
    text = ask(ws, {"data": " ... !", "models": {"language": {}}, "raw_text": True})
    assert text == {"language": {"warning": "No emotional language detected.", "code": "W0104"}}


def test_payload_id_is_echoed_on_every_reply(ws: ClientConnection, media: MediaFactory) -> None:
    pid = "6f1c-payload"
    replies = [
        ask(ws, {"job_details": True, "payload_id": pid}),
        ask(ws, {"reset_stream": True, "payload_id": pid}),
        ask(ws, {"data": "hi", "models": {"language": {}}, "raw_text": True, "payload_id": pid}),
        ask(ws, {"data": b64(media.silence(0.5)), "models": {"prosody": {}}, "payload_id": pid}),
        ask(ws, {"data": "!!", "models": {"prosody": {}}, "payload_id": pid}),
        ask(ws, {"models": {"nope": {}}, "payload_id": pid}),
        ask(ws, {"surprise": True, "payload_id": pid}),
    ]
    assert [r["payload_id"] for r in replies] == [pid] * len(replies)
    assert replies[1] == {"payload_id": pid}


def test_job_details_rides_on_data_and_errors(ws: ClientConnection) -> None:
    job_id = ask(ws, {"job_details": True})["job_details"]["job_id"]
    assert len(job_id) == 32 and int(job_id, 16) >= 0
    text = ask(
        ws, {"data": "hi", "models": {"language": {}}, "raw_text": True, "job_details": True}
    )
    assert text["job_details"] == {"job_id": job_id} and text["language"]["predictions"]
    error = ask(ws, {"data": "!!", "models": {"prosody": {}}, "job_details": True})
    assert error["code"] == "E0201" and error["job_details"] == {"job_id": job_id}


def test_each_connection_has_its_own_job_id(emulator: EmulatorProcess) -> None:
    ids = set()
    for _ in range(2):
        with session(emulator) as ws:
            ids.add(ask(ws, {"job_details": True})["job_details"]["job_id"])
    assert len(ids) == 2
