"""Wire messages of the v0 streaming API (PROTOCOL.md §2 and §4), shared by client and emulator.

Requests are strict (unknown fields rejected, as the service does); responses are lenient
(unknown fields kept), so a client keeps working when the service adds something.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hume_stream.limits import STREAM_WINDOW_MS_MAX, STREAM_WINDOW_MS_MIN
from hume_stream.models.config import StreamGranularity

__all__ = [
    "BoundingBox",
    "BurstPrediction",
    "EmotionScore",
    "ErrorMessage",
    "FacePrediction",
    "FacemeshPrediction",
    "JobDetails",
    "LanguagePrediction",
    "ModelPredictions",
    "PredictionsMessage",
    "ProsodyPrediction",
    "StreamFace",
    "StreamLanguage",
    "StreamModels",
    "StreamRequest",
    "StreamResponse",
    "TextPosition",
    "TimeRange",
    "WarningMessage",
    "parse_response",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- requests


class EmptyConfig(_Strict):
    """`{}`: a model with no options on the stream (burst, prosody, facemesh)."""


class StreamFace(_Strict):
    """Face options the streaming API honours."""

    fps_pred: float | None = Field(default=None, ge=0)
    prob_threshold: float | None = Field(default=None, ge=0, le=1)
    identify_faces: bool | None = None
    min_face_size: float | None = Field(default=None, ge=0)
    facs: dict[str, Any] | None = None
    descriptions: dict[str, Any] | None = None


class StreamLanguage(_Strict):
    """Language options the streaming API honours."""

    granularity: StreamGranularity | None = None
    sentiment: dict[str, Any] | None = None
    toxicity: dict[str, Any] | None = None


class StreamModels(_Strict):
    """The `models` object: which models run on a payload, each with its options."""

    burst: EmptyConfig | None = None
    face: StreamFace | None = None
    facemesh: EmptyConfig | None = None
    language: StreamLanguage | None = None
    prosody: EmptyConfig | None = None

    def names(self) -> list[str]:
        """Wire names of the models present, in field order."""
        return [name for name in type(self).model_fields if getattr(self, name) is not None]


class StreamRequest(_Strict):
    """One request frame (`StreamModelsEndpointPayload`)."""

    data: str | None = None
    models: StreamModels | None = None
    raw_text: bool | None = None
    stream_window_ms: float | None = Field(
        default=None, ge=STREAM_WINDOW_MS_MIN, le=STREAM_WINDOW_MS_MAX
    )
    reset_stream: bool | None = None
    job_details: bool | None = None
    payload_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to send, without unset fields."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- responses


class EmotionScore(_Lenient):
    name: str
    score: float


class TimeRange(_Lenient):
    """Seconds from the start of the payload (plus window context)."""

    begin: float
    end: float


class TextPosition(_Lenient):
    """0-based character offsets; `end` is exclusive."""

    begin: int
    end: int


class BoundingBox(_Lenient):
    """Top-left corner and size, in pixels."""

    x: float
    y: float
    w: float
    h: float


class BurstPrediction(_Lenient):
    time: TimeRange
    emotions: list[EmotionScore] = []


class ProsodyPrediction(_Lenient):
    time: TimeRange
    emotions: list[EmotionScore] = []


class FacePrediction(_Lenient):
    frame: int | None = None
    time: float | None = None
    bbox: BoundingBox | None = None
    prob: float | None = None
    face_id: str | None = None
    emotions: list[EmotionScore] = []
    facs: list[EmotionScore] | None = None
    descriptions: list[EmotionScore] | None = None


class FacemeshPrediction(_Lenient):
    emotions: list[EmotionScore] = []


class LanguagePrediction(_Lenient):
    text: str
    position: TextPosition
    emotions: list[EmotionScore] = []
    sentiment: list[EmotionScore] | None = None
    toxicity: list[EmotionScore] | None = None


P = TypeVar("P", bound=BaseModel)


class ModelPredictions(_Lenient, Generic[P]):
    """One model's part of a response: its predictions, or a warning that it found nothing."""

    predictions: list[P] = []
    warning: str | None = None
    code: str | None = None


class JobDetails(_Lenient):
    job_id: str


class PredictionsMessage(_Lenient):
    """A successful response: one key per model that ran."""

    payload_id: str | None = None
    job_details: JobDetails | None = None
    burst: ModelPredictions[BurstPrediction] | None = None
    face: ModelPredictions[FacePrediction] | None = None
    facemesh: ModelPredictions[FacemeshPrediction] | None = None
    language: ModelPredictions[LanguagePrediction] | None = None
    prosody: ModelPredictions[ProsodyPrediction] | None = None

    def warnings(self) -> dict[str, tuple[str | None, str]]:
        """Per-model warnings in this response: model name → (code, text)."""
        out: dict[str, tuple[str | None, str]] = {}
        for name in ("burst", "face", "facemesh", "language", "prosody"):
            part = getattr(self, name)
            if part is not None and part.warning is not None:
                out[name] = (part.code, part.warning)
        return out


class ErrorMessage(_Lenient):
    """The service refused the request; the connection stays usable."""

    error: str
    code: str
    payload_id: str | None = None
    job_details: JobDetails | None = None


class WarningMessage(_Lenient):
    """A top-level warning: the request was valid but found nothing."""

    warning: str
    code: str
    payload_id: str | None = None
    job_details: JobDetails | None = None


StreamResponse = ErrorMessage | WarningMessage | PredictionsMessage

_ERROR = TypeAdapter(ErrorMessage)
_WARNING = TypeAdapter(WarningMessage)
_PREDICTIONS = TypeAdapter(PredictionsMessage)


def parse_response(message: dict[str, Any]) -> StreamResponse:
    """Type a response object: error if it has `error`, warning if it has a top-level
    `warning`, else predictions (which also covers job details and `{}`)."""
    if "error" in message:
        try:
            return _ERROR.validate_python(message)
        except ValidationError:
            # An error without a code is still an error; keep its text.
            return ErrorMessage(error=str(message.get("error")), code="")
    if "warning" in message:
        return _WARNING.validate_python(message)
    return _PREDICTIONS.validate_python(message)
