"""Checks run before a payload is sent, so a payload the API would refuse costs no round trip.

Each failure is a `HumeClientException` with the code the service would answer, a message
naming the limit and the actual value, and `retryable=False`. Messages that the SDK defines
(config type, facemesh shape) are kept word for word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

from hume_stream._media import MediaInfo
from hume_stream.errors import Code, HumeClientException
from hume_stream.limits import (
    AUDIO_MS_LIMIT,
    FACE_LIMIT,
    IMAGE_PX_LIMIT,
    N_LANDMARKS,
    N_SPATIAL,
    STREAM_WINDOW_MS_MAX,
    STREAM_WINDOW_MS_MIN,
    TEXT_CHAR_LIMIT,
    VIDEO_MS_LIMIT,
)
from hume_stream.models.config import ModelConfigBase

__all__ = [
    "check_config_types",
    "check_facemesh",
    "check_media",
    "check_stream_window_ms",
    "check_text",
]

#: Container metadata of compressed audio (codec priming, padding) overshoots the decoded
#: length by a few tens of milliseconds; the check must never refuse what the service accepts.
METADATA_SLACK_MS = 100.0


def _limit_error(code: Code, text: str) -> HumeClientException:
    return HumeClientException(
        f"hume({code.value}): {text} (checked before sending)", code=code.value
    )


def check_config_types(
    configs: Iterable[ModelConfigBase], wanted: type[ModelConfigBase], method: str, source: str
) -> None:
    """Refuse `method` unless every config is a `wanted`; `source` is "Socket" or "Payload"."""
    for config in configs:
        if not isinstance(config, wanted):
            raise HumeClientException(
                f"{source} configured with {type(config).__name__}. "
                f"{method} is only supported when using a {wanted.__name__}."
            )


def check_text(text: str) -> None:
    """Refuse text longer than the API's limit (E0206)."""
    if not isinstance(text, str):
        raise HumeClientException(f"Text payload must be a str, got {type(text).__name__}.")
    if len(text) > TEXT_CHAR_LIMIT:
        raise _limit_error(
            Code.TEXT_TOO_LONG,
            f"Text payload has {len(text)} characters; the limit is {TEXT_CHAR_LIMIT}.",
        )


def check_stream_window_ms(stream_window_ms: int | None) -> None:
    """Refuse a sliding window outside the API's bounds (E0101)."""
    if stream_window_ms is None:
        return
    if isinstance(stream_window_ms, bool) or not isinstance(stream_window_ms, int):
        raise HumeClientException(
            f"stream_window_ms must be an int, got {type(stream_window_ms).__name__}.",
            code=Code.INVALID_REQUEST.value,
        )
    if not STREAM_WINDOW_MS_MIN <= stream_window_ms <= STREAM_WINDOW_MS_MAX:
        raise HumeClientException(
            f"stream_window_ms must be between {STREAM_WINDOW_MS_MIN} and "
            f"{STREAM_WINDOW_MS_MAX}, got {stream_window_ms}.",
            code=Code.INVALID_REQUEST.value,
        )


def check_facemesh(landmarks: Any) -> list[Any]:
    """Check a facemesh payload of shape (n, 478, 3), 1 ≤ n ≤ 100, and return it as lists.

    Every face and every point is checked (the SDK looks at the first face only); the
    SDK's messages are kept, with the face index appended for faces after the first.
    Accepts nested sequences or anything with `tolist()` (a NumPy array).
    """
    faces = landmarks.tolist() if hasattr(landmarks, "tolist") else landmarks
    if not isinstance(faces, Sequence) or isinstance(faces, str | bytes):
        raise HumeClientException(
            f"Facemesh landmarks must be a sequence of faces, got {type(landmarks).__name__}.",
            code=Code.INVALID_REQUEST.value,
        )
    n_faces = len(faces)
    if n_faces > FACE_LIMIT:
        raise HumeClientException(
            "Number of faces sent in facemesh payload was greater "
            f"than the limit of {FACE_LIMIT}, found {n_faces}.",
            code=Code.INVALID_REQUEST.value,
        )
    if n_faces == 0:
        raise HumeClientException(
            "No faces sent in facemesh payload.", code=Code.INVALID_REQUEST.value
        )
    for index, face in enumerate(faces):
        where = f" (face {index})" if index else ""
        if not isinstance(face, Sequence):
            raise HumeClientException(
                f"Invalid facemesh payload detected. Each face should be a list of "
                f"{N_LANDMARKS} (x, y, z) points, got {type(face).__name__}.{where}",
                code=Code.INVALID_REQUEST.value,
            )
        n_landmarks = len(face)
        if n_landmarks != N_LANDMARKS:
            raise HumeClientException(
                f"Number of MediaPipe landmarks per face must be exactly {N_LANDMARKS}, "
                f"found {n_landmarks}.{where}",
                code=Code.INVALID_REQUEST.value,
            )
        for point in face:
            if not _is_point(point):
                raise HumeClientException(
                    "Invalid facemesh payload detected. "
                    f"Each facemesh landmark should be an (x, y, z) point.{where}",
                    code=Code.INVALID_REQUEST.value,
                )
    return list(faces)


def _is_point(point: Any) -> bool:
    return (
        isinstance(point, Sequence)
        and len(point) == N_SPATIAL
        and all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in point)
    )


def check_media(info: MediaInfo | None) -> None:
    """Refuse audio or video over 5000 ms (E0203/E0204) and images over 3000 px (E0205)."""
    if info is None:
        return
    slack = 0.0 if info.exact else METADATA_SLACK_MS
    if info.kind == "audio" and info.duration_ms is not None:
        if info.duration_ms > AUDIO_MS_LIMIT + slack:
            raise _limit_error(
                Code.AUDIO_TOO_LONG,
                f"Audio payload is {math.ceil(info.duration_ms)} ms long; "
                f"the limit is {AUDIO_MS_LIMIT} ms per payload.",
            )
    elif info.kind == "video" and info.duration_ms is not None:
        if info.duration_ms > VIDEO_MS_LIMIT + slack:
            raise _limit_error(
                Code.VIDEO_TOO_LONG,
                f"Video payload is {math.ceil(info.duration_ms)} ms long; "
                f"the limit is {VIDEO_MS_LIMIT} ms per payload.",
            )
    elif (
        info.kind == "image"
        and info.width is not None
        and info.height is not None
        and max(info.width, info.height) > IMAGE_PX_LIMIT
    ):
        raise _limit_error(
            Code.IMAGE_TOO_LARGE,
            f"Image payload is {info.width} x {info.height} px; "
            f"the limit is {IMAGE_PX_LIMIT} x {IMAGE_PX_LIMIT} px.",
        )
