"""v1 wire models (`hume_stream.models.realtime`) and error mapping, without sockets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hume_stream import MeasurementResult, RealtimeCode, SessionClosed, parse_realtime_event
from hume_stream.errors import realtime_exception
from hume_stream.models.realtime import SessionClose, SessionUpdate, parse_client_message


def test_server_messages_are_typed_and_lenient() -> None:
    result = parse_realtime_event(
        {
            "type": "measurement.result", "measurement_id": 0, "utterance_id": 0,
            "audio_start_ms": 98, "audio_end_ms": 3098, "trigger": "interval",
            "expressions": [{"name": "interest", "probability": 0.6231}],
            "voice_attributes": [], "new_field": 1,
        }
    )  # fmt: skip
    assert isinstance(result, MeasurementResult) and result.expressions[0].name == "interest"
    closed = parse_realtime_event(
        {
            "type": "session.closed", "session_id": "s", "reason": "client_request",
            "received": {"audio_duration_ms": 26000, "frames": 260},
            "produced": {"utterances": 1, "measurements": 9},
        }
    )  # fmt: skip
    assert isinstance(closed, SessionClosed) and closed.received.frames == 260
    assert parse_realtime_event({"type": "session.something_new"}) is None
    with pytest.raises(ValueError):
        parse_realtime_event(["not", "an", "object"])
    with pytest.raises(ValidationError):
        parse_realtime_event({"type": "utterance.start"})


def test_client_messages_are_strict_and_leave_unset_fields_out() -> None:
    assert SessionUpdate(measurement_timer_ms=5000).to_wire() == {
        "type": "session.update",
        "measurement_timer_ms": 5000,
    }
    assert SessionClose().to_wire() == {"type": "session.close"}
    assert isinstance(parse_client_message({"type": "session.close"}), SessionClose)
    parsed = parse_client_message({"type": "session.update", "audio": None})
    assert isinstance(parsed, SessionUpdate) and parsed.audio is None
    with pytest.raises(ValidationError):
        parse_client_message({"type": "session.update", "unknown": 1})


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (RealtimeCode.RATE_LIMITED, True),
        (RealtimeCode.INTERNAL_ERROR, True),
        (RealtimeCode.CONFIG_INVALID, False),
        (RealtimeCode.MESSAGE_TOO_LARGE, False),
        (RealtimeCode.MESSAGE_INVALID, False),
        (RealtimeCode.INVALID_AUDIO_FRAME, False),
    ],
)
def test_documented_codes_map_to_retryable(code: RealtimeCode, retryable: bool) -> None:
    exc = realtime_exception(code, "text", wire_retryable=not retryable)
    assert (exc.code, exc.retryable, str(exc)) == (code, retryable, f"hume({code}): text")


def test_an_unknown_code_keeps_the_wire_flag() -> None:
    assert realtime_exception("new_code", "x", wire_retryable=True).retryable
    assert not realtime_exception("new_code", "x").retryable
