"""The emulator's pure core: one request frame in, one response object out. No sockets.

`parse` turns a frame into a validated `Request` (or an error `Outcome`); `run` answers a
`Request` against a connection's `Session`. The server decides in between whether a fault
replaces the answer, so a faulted request never touches the session.

Routing (PROTOCOL.md §2): a request whose `models` include `facemesh` carries landmarks
(base64 of JSON, or the JSON itself); one with `raw_text: true` carries text, and so does
one whose only model is `language` unless its `data` is base64 of a media file; anything
else is base64 of a media file that PyAV sorts into audio, video or image. A configured
model that cannot run on that kind gives `E0102` (face: image, video; prosody and burst:
audio, video; language: text; facemesh: facemesh). A video without an audio track and
with an audio model gives `E0202`.

Audio models:

* prosody — one prediction per voiced region (`emulator.audio.voiced_regions`);
* burst — one prediction per voiced region no longer than `BURST_MAX_S` (1 s): short
  vocalisations, not running speech;
* a model that finds no region answers `{"warning": "No speech detected.", "code": "W0105"}`
  (burst: `"No vocal bursts detected."`, `W0101`) inside its own object.

Stream window (audio payloads only; video and other media ignore it): the session keeps the
audio of earlier payloads since the last `reset_stream` (at most 10 s). A payload of `p` ms
with window `W` ms (`stream_window_ms`, default 5000) is analysed together with the last
`c = min(history_ms, max(0, W - p))` ms of that history, prepended. Predictions cover the
whole analysed audio, and their times are seconds from its start — so the payload's own
audio starts at `c / 1000` s. A payload at least as long as the window gets no context.
A request that fails (any error) leaves the history unchanged.

Scores come from content features through `emulator.scoring.label_scores`: the same input
(plus the same context) always gives the same output.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from emulator import audio, media, text, vision
from emulator.errors import ApiError
from emulator.scoring import hashed_unit, label_scores, sigmoid
from hume_stream.errors import Code
from hume_stream.labels import DESCRIPTIONS, EMOTIONS, FACS, LANGUAGE_EMOTIONS, SENTIMENT, TOXICITY
from hume_stream.limits import (
    AUDIO_MS_LIMIT,
    FACE_LIMIT,
    N_LANDMARKS,
    N_SPATIAL,
    STREAM_WINDOW_MS_DEFAULT,
    STREAM_WINDOW_MS_MAX,
    TEXT_CHAR_LIMIT,
)
from hume_stream.models.messages import StreamFace, StreamLanguage, StreamModels, StreamRequest

__all__ = [
    "BURST_MAX_S",
    "Outcome",
    "Request",
    "RequestKind",
    "Session",
    "finish",
    "handle",
    "parse",
    "run",
]

RequestKind = Literal["data", "reset", "job_details", "invalid"]

#: Longest voiced region reported as a vocal burst.
BURST_MAX_S = 1.0
#: Face probability below which a face is not reported, unless `prob_threshold` says otherwise.
DEFAULT_PROB_THRESHOLD = 0.99
#: Frames per second sampled from video, unless `fps_pred` says otherwise.
DEFAULT_FPS_PRED = 3.0

_HISTORY_MAX = STREAM_WINDOW_MS_MAX * audio.RATE // 1000
_SUPPORTED: dict[str, frozenset[str]] = {
    "audio": frozenset({"prosody", "burst"}),
    "video": frozenset({"face", "prosody", "burst"}),
    "image": frozenset({"face"}),
    "text": frozenset({"language"}),
    "facemesh": frozenset({"facemesh"}),
}
_WARNINGS: dict[str, tuple[Code, str]] = {
    "burst": (Code.NO_BURSTS, "No vocal bursts detected."),
    "facemesh": (Code.NO_FACEMESHES, "No face meshes detected."),
    "face": (Code.NO_FACES, "No faces detected."),
    "language": (Code.NO_EMOTIONAL_LANGUAGE, "No emotional language detected."),
    "prosody": (Code.NO_SPEECH, "No speech detected."),
}
_FACEMESH_SHAPE = (
    f"Facemesh data must be a JSON array of 1 to {FACE_LIMIT} faces, each {N_LANDMARKS} "
    f"landmarks of {N_SPATIAL} numbers (x, y, z), sent as JSON or as base64 of the JSON."
)


@dataclass
class Session:
    """What a connection remembers between requests."""

    #: 32 hex characters, one per connection (`job_details`).
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Audio of earlier payloads since the last reset, 16 kHz mono (the stream window).
    history: audio.Mono = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    #: Face identities (`identify_faces`); `reset_stream` keeps them, as the service does.
    face_ids: dict[str, str] = field(default_factory=dict)

    def reset(self) -> None:
        """Drop the stream-window context."""
        self.history = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class Request:
    """A well-formed request: the validated message, its models in the order sent, its kind."""

    message: StreamRequest
    models: list[str]
    kind: RequestKind


@dataclass(frozen=True)
class Outcome:
    """The response to send, with the facts the event log and counters need."""

    response: dict[str, Any]
    kind: RequestKind
    reset: bool = False
    models: Sequence[str] = ()
    payload_id: str | None = None
    audio_ms: float | None = None

    @property
    def code(self) -> str | None:
        """The error code of the response, if it is an error."""
        return str(self.response["code"]) if "error" in self.response else None

    @cached_property
    def text(self) -> str:
        """The response as the JSON text frame that carries it."""
        return json.dumps(self.response)


def handle(session: Session, frame: str | bytes) -> Outcome:
    """Parse and answer one frame (no faults): the whole pure path in one call."""
    parsed = parse(frame)
    return parsed if isinstance(parsed, Outcome) else run(session, parsed)


def parse(frame: str | bytes) -> Request | Outcome:
    """Validate a frame; an invalid one gives its error `Outcome` (`E0100`/`E0101`)."""
    if isinstance(frame, bytes):
        return _invalid(
            Code.INVALID_JSON, "Binary frames are not supported: send JSON text frames.", None
        )
    try:
        obj = json.loads(frame)
    except json.JSONDecodeError as exc:
        return _invalid(Code.INVALID_JSON, f"Invalid JSON: {exc.msg} at position {exc.pos}.", None)
    except (ValueError, RecursionError) as exc:
        return _invalid(Code.INVALID_JSON, f"Invalid JSON: {exc}.", None)
    if not isinstance(obj, dict):
        return _invalid(
            Code.INVALID_REQUEST,
            f"The request must be a JSON object, got {_json_type(obj)}.",
            None,
        )
    payload_id = obj.get("payload_id") if isinstance(obj.get("payload_id"), str) else None
    models = obj.get("models")
    if isinstance(models, dict):
        for name in models:
            if name == "ner":
                return _invalid(
                    Code.INVALID_REQUEST,
                    "Model type 'ner' is not supported by the streaming API "
                    "(it is available in the batch API only).",
                    payload_id,
                )
            if name not in StreamModels.model_fields:
                return _invalid(Code.INVALID_REQUEST, f"Unknown model type '{name}'.", payload_id)
    try:
        message = StreamRequest.model_validate(obj)
    except ValidationError as exc:
        return _invalid(Code.INVALID_REQUEST, _describe(exc), payload_id)
    order = list(models) if isinstance(models, dict) else []
    if message.data is not None:
        if not order:
            return _invalid(
                Code.INVALID_REQUEST,
                "'models' must name at least one model when 'data' is given.",
                payload_id,
            )
        return Request(message, order, "data")
    if message.models is not None:
        return _invalid(
            Code.INVALID_REQUEST, "'data' is required when 'models' is given.", payload_id
        )
    if message.job_details:
        return Request(message, [], "job_details")
    if message.reset_stream:
        return Request(message, [], "reset")
    return _invalid(
        Code.INVALID_REQUEST,
        "The request has nothing to do: send 'data' with 'models', "
        "'reset_stream': true or 'job_details': true.",
        payload_id,
    )


def run(session: Session, request: Request) -> Outcome:
    """Answer a well-formed request: reset first if asked, then predict."""
    message = request.message
    if message.reset_stream:
        session.reset()
    response: dict[str, Any] = {}
    audio_ms: float | None = None
    if request.kind == "data":
        try:
            response, audio_ms = _predict(session, request)
        except ApiError as exc:
            response = exc.to_wire()
    return finish(session, request, response, audio_ms)


def finish(
    session: Session,
    request: Request,
    response: dict[str, Any],
    audio_ms: float | None = None,
) -> Outcome:
    """Add the `job_details` and `payload_id` a request asks for to its response."""
    message = request.message
    if message.job_details:
        response["job_details"] = {"job_id": session.job_id}
    if message.payload_id is not None:
        response["payload_id"] = message.payload_id
    return Outcome(
        response=response,
        kind=request.kind,
        reset=bool(message.reset_stream),
        models=request.models,
        payload_id=message.payload_id,
        audio_ms=audio_ms,
    )


# ---------------------------------------------------------------- routing


def _predict(session: Session, request: Request) -> tuple[dict[str, Any], float | None]:
    message = request.message
    models = request.models
    configs = message.models
    data = message.data
    assert configs is not None and data is not None  # guaranteed by parse()
    if data == "":
        raise ApiError(Code.INVALID_REQUEST, "'data' is empty.")
    kind, blob = _detect(message, models, data)
    _require_supported(models, kind)
    if kind == "facemesh":
        return {"facemesh": _facemesh(_landmarks(data))}, None
    if kind == "text":
        assert configs.language is not None
        return {"language": _language(data, configs.language)}, None
    if kind == "image":
        assert configs.face is not None
        return {"face": _faces(session, [media.read_image(blob)], configs.face)}, None
    if kind == "video":
        return _video(session, blob, models, configs)
    return _audio(session, blob, models, message.stream_window_ms)


def _detect(message: StreamRequest, models: list[str], data: str) -> tuple[str, bytes]:
    """The payload's kind (see the module docstring) and, for media, its bytes."""
    if "facemesh" in models:
        return "facemesh", b""
    if message.raw_text:
        return "text", b""
    if models == ["language"]:
        try:
            blob = _b64decode(data)
            return media.detect_kind(blob), blob
        except ApiError:
            return "text", b""
    blob = _b64decode(data)
    return media.detect_kind(blob), blob


def _require_supported(models: list[str], kind: str) -> None:
    for name in models:
        if name not in _SUPPORTED[kind]:
            raise ApiError(
                Code.UNSUPPORTED_MODEL_FOR_MEDIA,
                f"Streaming payload configured with model type '{name}', "
                f"which is not supported for the detected file type '{kind}'.",
            )


def _b64decode(data: str) -> bytes:
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            Code.INVALID_BASE64,
            "The 'data' field is not valid base64. Encode media as base64, "
            "or set 'raw_text' to true to send text.",
        ) from None


# ---------------------------------------------------------------- audio


def _audio(
    session: Session, blob: bytes, models: list[str], window_ms: float | None
) -> tuple[dict[str, Any], float]:
    decoded = audio.decode_audio(blob)
    if decoded.duration_ms > AUDIO_MS_LIMIT:
        raise ApiError(
            Code.AUDIO_TOO_LONG,
            f"Your audio file was too long. The limit is {AUDIO_MS_LIMIT} milliseconds. "
            f"Your file was {math.ceil(decoded.duration_ms)} milliseconds.",
        )
    payload = decoded.samples
    window = round((window_ms or STREAM_WINDOW_MS_DEFAULT) * audio.RATE / 1000)
    context = min(session.history.size, max(0, window - payload.size))
    analysed = np.concatenate([session.history[session.history.size - context :], payload])
    session.history = np.concatenate([session.history, payload])[-_HISTORY_MAX:]
    return _voice_parts(analysed, models), decoded.duration_ms


def _voice_parts(samples: audio.Mono, models: list[str]) -> dict[str, Any]:
    regions = audio.voiced_regions(samples)
    parts: dict[str, Any] = {}
    for name in models:
        if name == "prosody":
            parts[name] = _timed(samples, regions, name)
        elif name == "burst":
            short = [r for r in regions if r.seconds <= BURST_MAX_S]
            parts[name] = _timed(samples, short, name)
    return parts


def _timed(samples: audio.Mono, regions: list[audio.Region], model: str) -> dict[str, Any]:
    if not regions:
        return _warning(model)
    return {
        "predictions": [
            {
                "time": {"begin": round(r.begin_s, 3), "end": round(r.end_s, 3)},
                "emotions": label_scores(
                    EMOTIONS,
                    audio.features(samples[r.begin : r.end]).scaled(),
                    namespace=model,
                ),
            }
            for r in regions
        ]
    }


# ---------------------------------------------------------------- pictures


def _video(
    session: Session, blob: bytes, models: list[str], configs: StreamModels
) -> tuple[dict[str, Any], float | None]:
    parts: dict[str, Any] = {}
    audio_ms: float | None = None
    if configs.face is not None:
        fps = configs.face.fps_pred
        stills = media.read_video_frames(blob, DEFAULT_FPS_PRED if fps is None else fps)
        parts["face"] = _faces(session, stills, configs.face)
    voice_models = [m for m in models if m in ("prosody", "burst")]
    if voice_models:
        decoded = audio.decode_audio(blob)
        audio_ms = decoded.duration_ms
        parts.update(_voice_parts(decoded.samples, voice_models))
    return {name: parts[name] for name in models}, audio_ms


def _faces(session: Session, stills: list[media.Still], config: StreamFace) -> dict[str, Any]:
    threshold = DEFAULT_PROB_THRESHOLD if config.prob_threshold is None else config.prob_threshold
    predictions = []
    for still in stills:
        face = vision.find_face(still)
        if face is None or face.prob < threshold:
            continue
        if config.min_face_size is not None and min(face.w, face.h) < config.min_face_size:
            continue
        features = vision.picture_features(face)
        item: dict[str, Any] = {
            "frame": still.frame,
            "time": round(still.time, 3),
            "bbox": {"x": face.x, "y": face.y, "w": face.w, "h": face.h},
            "prob": face.prob,
            "face_id": _face_id(session, face) if config.identify_faces else "unknown",
            "emotions": label_scores(EMOTIONS, features, namespace="face"),
        }
        if config.facs is not None:
            item["facs"] = label_scores(FACS, features, namespace="facs", bias=-2.0)
        if config.descriptions is not None:
            item["descriptions"] = label_scores(
                DESCRIPTIONS, features, namespace="descriptions", bias=-2.0
            )
        predictions.append(item)
    return {"predictions": predictions} if predictions else _warning("face")


def _face_id(session: Session, face: vision.Face) -> str:
    signature = face.signature()
    if signature not in session.face_ids:
        session.face_ids[signature] = f"face_{len(session.face_ids)}"
    return session.face_ids[signature]


# ---------------------------------------------------------------- facemesh


def _landmarks(data: str) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
    stripped = data.lstrip()
    try:
        source = stripped if stripped.startswith("[") else _b64decode(data).decode("utf-8")
        faces = json.loads(source)
    except (ApiError, UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(Code.INVALID_REQUEST, _FACEMESH_SHAPE) from None
    if not isinstance(faces, list):
        raise ApiError(Code.INVALID_REQUEST, _FACEMESH_SHAPE)
    if len(faces) > FACE_LIMIT:
        raise ApiError(
            Code.INVALID_REQUEST,
            f"Facemesh payload has {len(faces)} faces; the limit is {FACE_LIMIT}.",
        )
    arrays = []
    for index, face in enumerate(faces):
        try:
            array = np.asarray(face, dtype=np.float64)
        except (ValueError, TypeError):
            array = np.zeros(0)
        if array.shape != (N_LANDMARKS, N_SPATIAL) or not np.isfinite(array).all():
            raise ApiError(
                Code.INVALID_REQUEST,
                f"Facemesh face {index} has shape {array.shape if array.size else '?'}; "
                f"expected ({N_LANDMARKS}, {N_SPATIAL}) finite numbers. {_FACEMESH_SHAPE}",
            )
        arrays.append(array)
    return arrays


def _facemesh(faces: list[np.ndarray[Any, np.dtype[np.float64]]]) -> dict[str, Any]:
    if not faces:
        return _warning("facemesh")
    return {
        "predictions": [
            {"emotions": label_scores(EMOTIONS, vision.mesh_features(f), namespace="facemesh")}
            for f in faces
        ]
    }


# ---------------------------------------------------------------- language


def _language(data: str, config: StreamLanguage) -> dict[str, Any]:
    if len(data) > TEXT_CHAR_LIMIT:
        raise ApiError(
            Code.TEXT_TOO_LONG,
            f"Your text was too long. The limit is {TEXT_CHAR_LIMIT:,} characters. "
            f"Your text was {len(data):,} characters.",
        )
    segments = text.segments(data, config.granularity or "word")
    predictions = []
    for seg in segments:
        words = seg.words()
        item: dict[str, Any] = {
            "text": seg.text,
            "position": {"begin": seg.begin, "end": seg.end},
            "emotions": label_scores(
                LANGUAGE_EMOTIONS,
                _text_features(seg.text),
                namespace="language",
                bias=-2.2,
                boosts=text.lexicon_boosts(words),
            ),
        }
        if config.sentiment is not None:
            item["sentiment"] = _sentiment(seg.text, text.valence(words))
        if config.toxicity is not None:
            item["toxicity"] = _toxicity(seg.text, text.toxicity_hits(words))
        predictions.append(item)
    return {"predictions": predictions} if predictions else _warning("language")


def _text_features(segment: str) -> dict[str, float]:
    lowered = segment.lower()
    letters = [c for c in segment if c.isalpha()]
    return {
        "content_a": hashed_unit("text", lowered, "a"),
        "content_b": hashed_unit("text", lowered, "b"),
        "length": max(-2.0, min(2.0, (len(segment) - 20) / 30)),
        "exclaim": min(2.0, segment.count("!") * 0.8),
        "question": min(2.0, segment.count("?") * 0.8),
        "caps": 2.0 * sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
    }


def _sentiment(segment: str, valence: float) -> list[dict[str, object]]:
    centre = 5.0 + 3.5 * valence + 0.5 * hashed_unit("sentiment", segment.lower())
    weights = [math.exp(-((level - centre) ** 2) / 2.0) for level in range(1, 10)]
    total = sum(weights)
    return [
        {"name": name, "score": round(w / total, 6)}
        for name, w in zip(SENTIMENT, weights, strict=True)
    ]


def _toxicity(segment: str, hits: int) -> list[dict[str, object]]:
    lowered = segment.lower()
    return [
        {
            "name": name,
            "score": round(
                sigmoid(-4.0 + 5.0 * hits + 0.5 * hashed_unit("toxicity", name, lowered)), 6
            ),
        }
        for name in TOXICITY
    ]


# ---------------------------------------------------------------- helpers


def _warning(model: str) -> dict[str, Any]:
    code, message = _WARNINGS[model]
    return {"warning": message, "code": code.value}


def _invalid(code: Code, message: str, payload_id: str | None) -> Outcome:
    response: dict[str, Any] = {"error": message, "code": code.value}
    if payload_id is not None:
        response["payload_id"] = payload_id
    return Outcome(response=response, kind="invalid", payload_id=payload_id)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "(request)"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - 3
    suffix = f" (and {more} more)" if more > 0 else ""
    return "Invalid request: " + "; ".join(parts) + suffix + "."


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
