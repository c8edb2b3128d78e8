"""Prediction times moved from payload time to file time, merged per channel and model."""

from __future__ import annotations

from typing import Any

import pytest

from hume_stream.models.messages import parse_response
from worker.media import PredictionTimeline, shift_predictions


def prosody(*spans: tuple[float, float], score: float = 0.5) -> dict[str, Any]:
    return {
        "prosody": {
            "predictions": [
                {"time": {"begin": b, "end": e}, "emotions": [{"name": "Calmness", "score": score}]}
                for b, e in spans
            ]
        }
    }


def test_times_are_shifted_by_the_chunk_offset() -> None:
    response = {
        **prosody((0.0, 2.98), (3.1, 4.9)),
        "burst": {"predictions": [{"time": {"begin": 0.52, "end": 1.41}, "emotions": []}]},
        "face": {"predictions": [{"frame": 3, "time": 0.1, "emotions": []}]},
        "payload_id": "p-1",
    }

    shifted = shift_predictions(response, 12.3)

    assert [p["time"] for p in shifted["prosody"]] == [
        {"begin": 12.3, "end": 15.28},
        {"begin": 15.4, "end": 17.2},
    ]
    assert shifted["burst"][0]["time"] == {"begin": 12.82, "end": 13.71}
    assert shifted["face"][0]["time"] == 12.4
    assert shifted["prosody"][0]["emotions"] == [{"name": "Calmness", "score": 0.5}]
    assert set(shifted) == {"prosody", "burst", "face"}
    assert response["prosody"]["predictions"][0]["time"]["begin"] == 0.0  # input untouched


def test_typed_and_plain_responses_give_the_same_result() -> None:
    plain = prosody((0.25, 1.5))

    assert shift_predictions(parse_response(plain), 5.0) == shift_predictions(plain, 5.0)


def test_the_timeline_merges_each_channel_and_model_in_time_order() -> None:
    timeline = PredictionTimeline()
    # chunks may come back in any order, and channels interleave
    timeline.add("customer", 5.0, prosody((0.0, 1.0), score=0.3), 5.0)
    timeline.add("agent", 5.0, parse_response(prosody((0.5, 2.0))), 5.0)
    timeline.add("agent", 0.0, prosody((0.0, 4.0), (4.1, 5.0)), 5.0)
    timeline.add(
        "customer",
        0.0,
        {"prosody": {"warning": "No speech detected.", "code": "W0105"}},
        4.97,
    )

    merged = timeline.merged()

    assert [p["time"]["begin"] for p in merged["agent"]["prosody"]] == [0.0, 4.1, 5.5]
    assert [p["time"] for p in merged["customer"]["prosody"]] == [{"begin": 5.0, "end": 6.0}]
    assert timeline.warnings == [
        {
            "channel": "customer",
            "begin": 0.0,
            "end": 4.97,
            "model": "prosody",
            "code": "W0105",
            "warning": "No speech detected.",
        }
    ]


def test_a_top_level_warning_is_kept_with_its_span() -> None:
    timeline = PredictionTimeline()

    timeline.add("mono", 10.0, {"warning": "No speech detected.", "code": "W0105"})

    assert timeline.merged() == {"mono": {}}
    assert timeline.warnings == [
        {
            "channel": "mono",
            "begin": 10.0,
            "end": None,
            "model": None,
            "code": "W0105",
            "warning": "No speech detected.",
        }
    ]


def test_an_error_response_is_refused() -> None:
    with pytest.raises(ValueError, match="E0203"):
        PredictionTimeline().add("agent", 0.0, {"error": "too long", "code": "E0203"})
