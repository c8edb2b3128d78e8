"""`parse_response` on every response shape of PROTOCOL.md §4."""

from __future__ import annotations

from typing import Any

import pytest

from hume_stream import ErrorMessage, PredictionsMessage, WarningMessage, parse_response
from hume_stream.labels import EMOTIONS, FACS, SENTIMENT, TOXICITY


def scores(names: tuple[str, ...], value: float = 0.1) -> list[dict[str, Any]]:
    return [{"name": n, "score": value} for n in names]


def test_prosody_predictions() -> None:
    reply = parse_response(
        {
            "prosody": {
                "predictions": [{"time": {"begin": 0.0, "end": 2.98}, "emotions": scores(EMOTIONS)}]
            }
        }
    )
    assert isinstance(reply, PredictionsMessage)
    assert reply.prosody is not None
    [pred] = reply.prosody.predictions
    assert (pred.time.begin, pred.time.end) == (0.0, 2.98)
    assert [e.name for e in pred.emotions] == list(EMOTIONS)
    assert reply.burst is None and reply.warnings() == {}


def test_burst_predictions() -> None:
    reply = parse_response(
        {
            "burst": {
                "predictions": [
                    {"time": {"begin": 0.52, "end": 1.41}, "emotions": scores(EMOTIONS)}
                ]
            }
        }
    )
    assert isinstance(reply, PredictionsMessage) and reply.burst is not None
    assert reply.burst.predictions[0].time.end == 1.41


def test_face_predictions_with_facs_and_descriptions() -> None:
    item = {
        "frame": 0,
        "time": 0.0,
        "prob": 0.9994,
        "bbox": {"x": 121.4, "y": 80.2, "w": 210.7, "h": 268.3},
        "face_id": "unknown",
        "emotions": scores(EMOTIONS),
        "facs": scores(FACS),
        "descriptions": [{"name": "Smile", "score": 0.64}],
    }
    reply = parse_response({"face": {"predictions": [item]}})
    assert isinstance(reply, PredictionsMessage) and reply.face is not None
    [face] = reply.face.predictions
    assert face.bbox is not None and face.bbox.w == 210.7
    assert face.face_id == "unknown" and face.prob == 0.9994
    assert face.facs is not None and len(face.facs) == len(FACS)
    assert face.descriptions is not None and face.descriptions[0].name == "Smile"


def test_facemesh_predictions() -> None:
    reply = parse_response({"facemesh": {"predictions": [{"emotions": scores(EMOTIONS)}]}})
    assert isinstance(reply, PredictionsMessage) and reply.facemesh is not None
    assert len(reply.facemesh.predictions[0].emotions) == 48


def test_language_predictions_with_sentiment_toxicity_and_payload_id() -> None:
    item = {
        "text": "love",
        "position": {"begin": 2, "end": 6},
        "emotions": scores(EMOTIONS),
        "sentiment": scores(SENTIMENT),
        "toxicity": scores(TOXICITY),
    }
    reply = parse_response({"language": {"predictions": [item]}, "payload_id": "6f1c"})
    assert isinstance(reply, PredictionsMessage) and reply.language is not None
    [word] = reply.language.predictions
    assert (word.text, word.position.begin, word.position.end) == ("love", 2, 6)
    assert word.sentiment is not None and [s.name for s in word.sentiment] == list(SENTIMENT)
    assert word.toxicity is not None and len(word.toxicity) == 6
    assert reply.payload_id == "6f1c"


def test_job_details_alone() -> None:
    reply = parse_response({"job_details": {"job_id": "a" * 32}})
    assert isinstance(reply, PredictionsMessage)
    assert reply.job_details is not None and reply.job_details.job_id == "a" * 32


def test_job_details_next_to_predictions() -> None:
    reply = parse_response(
        {"burst": {"predictions": []}, "job_details": {"job_id": "b" * 32}, "payload_id": "p"}
    )
    assert isinstance(reply, PredictionsMessage)
    assert reply.burst is not None and reply.burst.predictions == []
    assert reply.job_details is not None and reply.payload_id == "p"


def test_reset_stream_reply_is_an_empty_success() -> None:
    reply = parse_response({})
    assert isinstance(reply, PredictionsMessage)
    assert reply.model_dump(exclude_none=True) == {}


def test_error_message() -> None:
    text = (
        "Streaming payload configured with model type 'prosody', which is not supported "
        "for the detected file type 'image'."
    )
    reply = parse_response({"error": text, "code": "E0102"})
    assert isinstance(reply, ErrorMessage)
    assert (reply.code, reply.error) == ("E0102", text)


def test_error_with_payload_id_and_job_details() -> None:
    reply = parse_response(
        {"error": "x", "code": "I0100", "payload_id": "p", "job_details": {"job_id": "c" * 32}}
    )
    assert isinstance(reply, ErrorMessage)
    assert reply.payload_id == "p" and reply.job_details is not None


def test_error_without_code_keeps_its_text() -> None:
    reply = parse_response({"error": "broken"})
    assert isinstance(reply, ErrorMessage)
    assert (reply.error, reply.code) == ("broken", "")


def test_top_level_warning() -> None:
    reply = parse_response({"warning": "No faces detected.", "code": "W0103", "payload_id": "p"})
    assert isinstance(reply, WarningMessage)
    assert (reply.code, reply.warning, reply.payload_id) == ("W0103", "No faces detected.", "p")


@pytest.mark.parametrize(
    ("model", "code", "text"),
    [
        ("face", "W0103", "No faces detected."),
        ("prosody", "W0105", "No speech detected."),
        ("burst", "W0101", "No vocal bursts detected."),
        ("facemesh", "W0102", "No face meshes detected."),
        ("language", "W0104", "No emotional language detected."),
    ],
)
def test_warning_inside_a_model_object(model: str, code: str, text: str) -> None:
    reply = parse_response({model: {"warning": text, "code": code}})
    assert isinstance(reply, PredictionsMessage)
    assert reply.warnings() == {model: (code, text)}
    part = getattr(reply, model)
    assert part.predictions == []


def test_per_model_warning_beside_another_models_predictions() -> None:
    reply = parse_response(
        {
            "burst": {"warning": "No vocal bursts detected.", "code": "W0101"},
            "prosody": {"predictions": [{"time": {"begin": 0, "end": 1}, "emotions": []}]},
        }
    )
    assert isinstance(reply, PredictionsMessage)
    assert set(reply.warnings()) == {"burst"}
    assert reply.prosody is not None and len(reply.prosody.predictions) == 1


def test_unknown_fields_are_kept() -> None:
    reply = parse_response({"prosody": {"predictions": [], "novel": 1}, "extra": True})
    assert isinstance(reply, PredictionsMessage)
    assert reply.model_extra == {"extra": True}
    assert reply.prosody is not None and reply.prosody.model_extra == {"novel": 1}
