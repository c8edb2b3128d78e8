"""Wire messages of the v1 realtime audio API (PROTOCOL-v1.md §2), shared by client and
emulator.

Audio travels as binary frames; everything else is one JSON object per text frame, told
apart by `type`. Client messages are strict (the emulator refuses unknown fields, as a
careful server does, but accepts `null` for an optional field, since the SDK may send it).
Server messages are lenient (unknown fields kept) and an unknown `type` parses to `None`,
so a client keeps working when the service adds something.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hume_stream.limits import (
    MEASUREMENT_TIMER_MS_DEFAULT,
    REALTIME_CHANNELS,
    REALTIME_SAMPLE_RATE,
)

__all__ = [
    "AudioFormat",
    "AudioFormatUpdate",
    "AudioProduced",
    "AudioReceived",
    "ClientMessage",
    "CloseReason",
    "MeasurementResult",
    "MeasurementTrigger",
    "RealtimeError",
    "RealtimeEvent",
    "Score",
    "SessionClose",
    "SessionClosed",
    "SessionCreated",
    "SessionUpdate",
    "SessionUpdated",
    "UtteranceEnd",
    "UtteranceStart",
    "parse_client_message",
    "parse_realtime_event",
]

CloseReason = Literal["client_request", "server_shutdown", "idle_timeout", "error"]
MeasurementTrigger = Literal["interval", "speech_ended"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# ---------------------------------------------------------------- client → server


class AudioFormatUpdate(_Strict):
    """The `audio` object of `session.update`; every field optional (omitted = default)."""

    type: str | None = None
    encoding: str | None = None
    sample_rate: int | None = None
    channels: int | None = None


class SessionUpdate(_Strict):
    """`session.update`: replaces the whole configuration (omitted fields go back to their
    defaults). Only before the first audio frame."""

    type: Literal["session.update"] = "session.update"
    measurement_timer_ms: int | None = None
    audio: AudioFormatUpdate | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to send, unset fields left out (as the SDK does)."""
        return self.model_dump(mode="json", exclude_none=True)


class SessionClose(_Strict):
    """`session.close`: end the session after the current utterance's last results."""

    type: Literal["session.close"] = "session.close"

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to send."""
        return {"type": self.type}


ClientMessage = Annotated[SessionUpdate | SessionClose, Field(discriminator="type")]
_CLIENT = TypeAdapter[SessionUpdate | SessionClose](ClientMessage)


def parse_client_message(obj: object) -> SessionUpdate | SessionClose:
    """Validate a client text message (raises `pydantic.ValidationError`)."""
    return _CLIENT.validate_python(obj)


# ---------------------------------------------------------------- server → client


class AudioFormat(_Lenient):
    """The audio format in force: the one supported format."""

    type: str = "audio/pcm"
    encoding: str = "s16le"
    sample_rate: int = REALTIME_SAMPLE_RATE
    channels: int = REALTIME_CHANNELS


class Score(_Lenient):
    """One expression or voice attribute judged present; `probability` is 0-1 (4 decimals)."""

    name: str
    probability: float


class SessionCreated(_Lenient):
    """First message of every session: its id (also the run id) and the configuration."""

    type: Literal["session.created"] = "session.created"
    session_id: str
    audio: AudioFormat = AudioFormat()
    measurement_timer_ms: int = MEASUREMENT_TIMER_MS_DEFAULT


class SessionUpdated(_Lenient):
    """The full configuration in force after an accepted `session.update`."""

    type: Literal["session.updated"] = "session.updated"
    audio: AudioFormat = AudioFormat()
    measurement_timer_ms: int = MEASUREMENT_TIMER_MS_DEFAULT


class UtteranceStart(_Lenient):
    """Voice activity began; times are ms of the session's accepted audio."""

    type: Literal["utterance.start"] = "utterance.start"
    utterance_id: int
    audio_start_ms: int


class MeasurementResult(_Lenient):
    """Scores for a window (at most the last 10 s) of an utterance."""

    type: Literal["measurement.result"] = "measurement.result"
    measurement_id: int
    utterance_id: int
    audio_start_ms: int
    audio_end_ms: int
    trigger: str
    expressions: list[Score] = []
    voice_attributes: list[Score] = []


class UtteranceEnd(_Lenient):
    """Voice activity ended (or `session.close` arrived during speech)."""

    type: Literal["utterance.end"] = "utterance.end"
    utterance_id: int
    audio_start_ms: int
    audio_end_ms: int


class RealtimeError(_Lenient):
    """A rejected message or a session-ending failure; `retryable` is the wire's flag:
    true exactly when the session continues."""

    type: Literal["error"] = "error"
    code: str
    message: str = ""
    retryable: bool = False


class AudioReceived(_Lenient):
    """Accepted audio only (rejected frames are not counted)."""

    audio_duration_ms: int
    frames: int


class AudioProduced(_Lenient):
    utterances: int
    measurements: int


class SessionClosed(_Lenient):
    """Last message of an orderly session end, with totals; the server then closes."""

    type: Literal["session.closed"] = "session.closed"
    session_id: str
    reason: str
    received: AudioReceived
    produced: AudioProduced


RealtimeEvent = (
    SessionCreated
    | SessionUpdated
    | UtteranceStart
    | MeasurementResult
    | UtteranceEnd
    | RealtimeError
    | SessionClosed
)
_EVENTS: dict[str, TypeAdapter[Any]] = {
    model.model_fields["type"].default: TypeAdapter(model)
    for model in (
        SessionCreated,
        SessionUpdated,
        UtteranceStart,
        MeasurementResult,
        UtteranceEnd,
        RealtimeError,
        SessionClosed,
    )
}


def parse_realtime_event(obj: object) -> RealtimeEvent | None:
    """Type a server message; `None` for a message of a type this client does not know.

    Raises `pydantic.ValidationError` for a known type with missing or malformed fields,
    and `ValueError` for something that is not a JSON object with a string `type`.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ValueError(f"a server message must be a JSON object with a 'type', got {obj!r:.200}")
    adapter = _EVENTS.get(obj["type"])
    if adapter is None:
        return None
    event: RealtimeEvent = adapter.validate_python(obj)
    return event
