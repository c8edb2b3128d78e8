"""The Job and Result contracts: what the producer enqueues and what the worker writes.

Both travel as JSON (never pickle). A job's id is derived from the media's identity and the
model configs, so submitting the same file with the same configs twice is a no-op.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hume_stream.limits import AUDIO_MS_LIMIT
from hume_stream.models.config import deserialize_configs, serialize_configs

#: The Celery task that runs one Job; its one positional argument is `job.model_dump(mode="json")`.
#: Here, not in `worker.tasks`, so the producer can name it without loading the worker.
TASK_NAME = "hume_fleet.process_recording"


class State(StrEnum):
    """Life of a job: queued → running → done | failed | dead."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"


FINAL_STATES = frozenset({State.DONE, State.FAILED, State.DEAD})


class JobOptions(BaseModel):
    """How a recording is cut into payloads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Split a multi-channel call per channel (agent / customer); False mixes to mono.
    split_channels: bool = True
    chunk_ms: int = Field(default=AUDIO_MS_LIMIT, gt=0, le=AUDIO_MS_LIMIT)
    #: Move a chunk boundary back to the quietest point nearby so words are not cut.
    cut_at_silence: bool = True


class SourceIdentity(BaseModel):
    """What identifies one version of a media object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str
    size: int | None = None
    etag: str | None = None
    mtime: float | None = None


class Job(BaseModel):
    """One recording to run through the API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    batch_id: str
    source: SourceIdentity
    #: The `models` object: model name → config (validated with hume_stream's configs).
    models: dict[str, dict[str, Any]]
    options: JobOptions = JobOptions()
    submitted_at: float

    @field_validator("models")
    @classmethod
    def _models_stream(cls, models: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not models:
            raise ValueError("a job needs at least one model")
        # Configs the stream cannot run are refused here, with the client's own message.
        try:
            return serialize_configs(deserialize_configs(models))
        except Exception as exc:
            raise ValueError(str(exc)) from None

    @property
    def uri(self) -> str:
        return self.source.uri

    @property
    def redacted_uri(self) -> str:
        """The URI without credentials: what is shown and stored beside the job."""
        from worker.media.redact import redact_uri  # worker.media imports this module

        return redact_uri(self.source.uri)


def describe_invalid(exc: ValidationError) -> str:
    """A Job's validation errors in one line: `field.path: problem; …`."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'job'}: {e['msg']}" for e in exc.errors())


def job_id_for(
    source: SourceIdentity, models: dict[str, dict[str, Any]], options: JobOptions
) -> str:
    """Deterministic id of (media version, configs, options): 32 hex characters."""
    canonical = json.dumps(
        {
            "source": source.model_dump(mode="json"),
            "models": models,
            "options": options.model_dump(mode="json"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class ErrorInfo(BaseModel):
    """Why a job failed: a stable code (API code or media error code) and a clear message.
    Credentials inside URIs quoted by the message are hidden (it is stored and exported)."""

    code: str
    message: str
    retryable: bool = False

    @field_validator("message")
    @classmethod
    def _no_credentials(cls, message: str) -> str:
        return _redact_text(message)


class Span(BaseModel):
    """A stretch of the file, in seconds."""

    begin: float
    end: float


class EmotionStat(BaseModel):
    name: str
    mean: float
    peak: float


class ModelSummary(BaseModel):
    """Per channel and model: mean and peak score per emotion, and the top five by mean."""

    segments: int
    emotions: list[EmotionStat]
    top: list[str]


class ChannelResult(BaseModel):
    index: int
    label: str
    #: Model name → predictions with times on the file's own time axis.
    predictions: dict[str, list[dict[str, Any]]] = {}
    summary: dict[str, ModelSummary] = {}
    #: Spans not sent because they were silent.
    skipped: list[Span] = []
    #: Payloads sent (v0), or audio frames accepted (v1).
    payloads: int = 0
    #: v1: the realtime session ids (also the service's run ids) that measured this channel.
    sessions: list[str] = []


class Timings(BaseModel):
    queued_at: float | None = None
    started_at: float
    finished_at: float
    #: Seconds spent waiting for API replies.
    api_seconds: float = 0.0
    decode_seconds: float = 0.0


class Result(BaseModel):
    """One document per job."""

    job_id: str
    batch_id: str
    status: State
    #: The API that measured the recording: "v0" (streaming) or "v1" (realtime audio).
    backend: str = "v0"
    #: What the scores are: "v0-48" (48 emotions, every one scored, per model) or
    #: "v1-audio-415" (expressions judged present and voice attributes, as probabilities).
    label_set: str = "v0-48"
    source: SourceIdentity
    duration_s: float | None = None
    channels: list[ChannelResult] = []
    warnings: list[str] = []
    error: ErrorInfo | None = None
    timings: Timings
    attempts: int
    worker: str

    @field_validator("source")
    @classmethod
    def _source_without_credentials(cls, source: SourceIdentity) -> SourceIdentity:
        # Results are exported and shared: a presigned URL's signature or a URI's password
        # stays in the Job (the worker fetches with it) and never reaches the Result.
        from worker.media.redact import redact_uri  # worker.media imports this module

        return source.model_copy(update={"uri": redact_uri(source.uri)})

    @field_validator("warnings")
    @classmethod
    def _warnings_without_credentials(cls, warnings: list[str]) -> list[str]:
        return [_redact_text(w) for w in warnings]


def _redact_text(text: str) -> str:
    from worker.media.redact import redact_text  # worker.media imports this module

    return redact_text(text)
