"""Model configurations with the SDK's names and fields (PROTOCOL.md §3).

Every field defaults to ``None`` (not sent: the service default applies). Fields the service
only honours in its batch API are accepted here, as the SDK accepts them, but
`serialize_configs` refuses to put them on a stream: strict on what is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hume_stream.errors import HumeClientException

__all__ = [
    "BurstConfig",
    "FaceConfig",
    "FacemeshConfig",
    "LanguageConfig",
    "ModelConfigBase",
    "ModelType",
    "NerConfig",
    "ProsodyConfig",
    "WindowConfig",
    "config_from_model_type",
    "deserialize_configs",
    "serialize_configs",
]


class ModelType(Enum):
    """The models of Expression Measurement, by their wire name."""

    BURST = "burst"
    FACE = "face"
    FACEMESH = "facemesh"
    LANGUAGE = "language"
    NER = "ner"
    PROSODY = "prosody"

    @classmethod
    def from_str(cls, name: str) -> ModelType:
        """The model type for a wire name; `ValueError("Unknown model type '…'")` otherwise."""
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"Unknown model type '{name}'") from None


class ModelConfigBase(BaseModel):
    """Base of all model configs: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _model_type: ClassVar[ModelType]
    #: Fields that only the batch API honours; set on a stream config → refused before sending.
    _batch_only: ClassVar[frozenset[str]] = frozenset()
    #: False for models that the streaming API does not run at all.
    _streamable: ClassVar[bool] = True

    @classmethod
    def get_model_type(cls) -> ModelType:
        """The model this config configures."""
        return cls._model_type

    def to_dict(self, skip_none: bool = True) -> dict[str, Any]:
        """The config as the JSON object sent on the wire."""
        return self.model_dump(mode="json", exclude_none=skip_none)

    @classmethod
    def from_dict(cls, request_dict: Mapping[str, Any]) -> ModelConfigBase:
        """Build from a wire object; a bad field raises `HumeClientException` naming it."""
        try:
            return cls.model_validate(dict(request_dict))
        except ValidationError as exc:
            raise HumeClientException(_describe(cls.__name__, exc), code="E0101") from None

    def stream_dict(self) -> dict[str, Any]:
        """The wire object for the streaming API, refusing what only the batch API runs."""
        name = type(self).__name__
        if not self._streamable:
            raise HumeClientException(
                f"{name} is not supported by the streaming API (only by the batch API).",
                code="E0101",
            )
        batch_fields = sorted(f for f in self._batch_only if getattr(self, f) is not None)
        if batch_fields:
            raise HumeClientException(
                f"{name}.{batch_fields[0]} is only available in the batch API; "
                f"leave it unset for streaming.",
                code="E0101",
            )
        return self.to_dict()


class BurstConfig(ModelConfigBase):
    """Vocal bursts (laughs, sighs, …). No options on the stream."""

    _model_type = ModelType.BURST


class FacemeshConfig(ModelConfigBase):
    """Emotions from MediaPipe face-mesh landmarks. No options."""

    _model_type = ModelType.FACEMESH


class WindowConfig(BaseModel):
    """Sliding window for batch prosody: `length` and `step` in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    length: float | None = Field(default=None, gt=0)
    step: float | None = Field(default=None, gt=0)


class ProsodyConfig(ModelConfigBase):
    """Speech prosody. All three fields are honoured by the batch API only."""

    _model_type = ModelType.PROSODY
    _batch_only = frozenset({"granularity", "identify_speakers", "window"})

    granularity: str | None = None
    identify_speakers: bool | None = None
    window: WindowConfig | None = None


class FaceConfig(ModelConfigBase):
    """Facial expression in images and video frames."""

    _model_type = ModelType.FACE
    _batch_only = frozenset({"save_faces"})

    fps_pred: float | None = Field(default=None, ge=0)
    prob_threshold: float | None = Field(default=None, ge=0, le=1)
    identify_faces: bool | None = None
    min_face_size: float | None = Field(default=None, ge=0)
    save_faces: bool | None = None
    facs: dict[str, Any] | None = None
    descriptions: dict[str, Any] | None = None


#: Granularities of the language model on the stream; `conversational_turn` is batch-only.
StreamGranularity = Literal["word", "sentence", "utterance", "passage"]
Granularity = Literal["word", "sentence", "utterance", "passage", "conversational_turn"]


class LanguageConfig(ModelConfigBase):
    """Emotional language in text, with optional sentiment and toxicity (`{}` enables)."""

    _model_type = ModelType.LANGUAGE
    _batch_only = frozenset({"identify_speakers"})

    granularity: Granularity | None = None
    identify_speakers: bool | None = None
    sentiment: dict[str, Any] | None = None
    toxicity: dict[str, Any] | None = None

    def stream_dict(self) -> dict[str, Any]:
        if self.granularity == "conversational_turn":
            raise HumeClientException(
                "LanguageConfig.granularity 'conversational_turn' is only available in the "
                "batch API; use word, sentence, utterance or passage.",
                code="E0101",
            )
        return super().stream_dict()


class NerConfig(ModelConfigBase):
    """Named-entity recognition: batch API only, refused on the stream."""

    _model_type = ModelType.NER
    _streamable = False

    identify_speakers: bool | None = None


_CONFIGS: dict[ModelType, type[ModelConfigBase]] = {
    c.get_model_type(): c
    for c in (BurstConfig, FaceConfig, FacemeshConfig, LanguageConfig, NerConfig, ProsodyConfig)
}


def config_from_model_type(model_type: ModelType) -> type[ModelConfigBase]:
    """The config class of a model type."""
    return _CONFIGS[model_type]


def serialize_configs(configs: Iterable[ModelConfigBase]) -> dict[str, dict[str, Any]]:
    """The `models` object of a stream request; the last config of each model type wins."""
    models: dict[str, dict[str, Any]] = {}
    for config in configs:
        models[config.get_model_type().value] = config.stream_dict()
    return models


def deserialize_configs(models: Mapping[str, Any]) -> list[ModelConfigBase]:
    """Configs from a `models` object (e.g. a job's or a config file's); bad input raises
    `HumeClientException` naming the model and field."""
    configs = []
    for name, body in models.items():
        try:
            model_type = ModelType.from_str(name)
        except ValueError as exc:
            raise HumeClientException(str(exc), code="E0101") from None
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise HumeClientException(
                f"Config for model '{name}' must be an object, got {type(body).__name__}.",
                code="E0101",
            )
        configs.append(config_from_model_type(model_type).from_dict(body))
    return configs


def _describe(owner: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(config)"
        parts.append(f"{owner}.{field}: {err['msg']}")
    return "Invalid model config: " + "; ".join(parts)
