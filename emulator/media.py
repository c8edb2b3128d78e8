"""What kind of media a payload is (audio, video, image) and its pictures, via PyAV in memory.

A payload with a video stream that is a still picture (an image demuxer such as PNG or
JPEG, or a single-frame stream without audio) is an *image*; any other video stream makes it
a *video*; a payload with only audio streams is *audio*. Cover art in audio files (an
attached picture) is not a video stream.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

from emulator.errors import ApiError
from hume_stream.errors import Code
from hume_stream.limits import IMAGE_PX_LIMIT, VIDEO_MS_LIMIT

__all__ = ["MediaKind", "Still", "detect_kind", "read_image", "read_video_frames"]

MediaKind = Literal["audio", "video", "image"]

_ATTACHED_PIC = 1024  # AV_DISPOSITION_ATTACHED_PIC
_ANALYSIS_EDGE = 256  # pictures are analysed at most this large (speed; enough for stats)


@dataclass(frozen=True)
class Still:
    """One picture to look for faces in: an image, or a frame sampled from a video."""

    pixels: npt.NDArray[np.uint8]  # (height, width, 3) RGB, downscaled for analysis
    scale: int  # source pixels per analysed pixel
    frame: int = 0
    time: float = 0.0


def detect_kind(data: bytes) -> MediaKind:
    """Audio, video or image; `ApiError(E0200)` when PyAV finds no usable stream."""
    with _open(data) as container:
        videos = [s for s in container.streams.video if not s.disposition & _ATTACHED_PIC]
        if videos:
            fmt = container.format.name
            still = fmt.endswith("_pipe") or fmt.startswith("image2")
            single = not container.streams.audio and (videos[0].frames or 0) == 1
            return "image" if still or single else "video"
        if container.streams.audio:
            return "audio"
    raise ApiError(Code.UNPARSEABLE_MEDIA, _UNPARSEABLE)


def read_image(data: bytes) -> Still:
    """The first picture of an image payload (downscaled for analysis); `E0205` if too big."""
    with _open(data) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        _check_image_size(width, height)
        for frame in _decode(container, stream):
            _check_image_size(frame.width, frame.height)
            return _still(frame)
    raise ApiError(Code.UNPARSEABLE_MEDIA, _UNPARSEABLE)


def read_video_frames(data: bytes, fps_pred: float) -> list[Still]:
    """Frames sampled at `fps_pred` per second (0 = every frame); `E0204` past the limit."""
    with _open(data) as container:
        stream = next(s for s in container.streams.video if not s.disposition & _ATTACHED_PIC)
        declared_ms = (container.duration or 0) / 1000.0
        if declared_ms > VIDEO_MS_LIMIT:
            raise ApiError(Code.VIDEO_TOO_LONG, _video_too_long(declared_ms))
        sampled: list[Still] = []
        next_time = 0.0
        last_time = 0.0
        start: float | None = None
        for index, frame in enumerate(_decode(container, stream)):
            stamp = float(frame.time) if frame.time is not None else 0.0
            start = stamp if start is None else start
            t = stamp - start  # seconds from the first frame, whatever the container's origin
            last_time = max(last_time, t)
            if fps_pred <= 0 or t + 1e-6 >= next_time:
                sampled.append(_still(frame, index, t))
                next_time = t + (1.0 / fps_pred if fps_pred > 0 else 0.0)
    if last_time * 1000.0 > VIDEO_MS_LIMIT:
        raise ApiError(Code.VIDEO_TOO_LONG, _video_too_long(last_time * 1000.0))
    if not sampled:
        raise ApiError(Code.UNPARSEABLE_MEDIA, _UNPARSEABLE)
    return sampled


_UNPARSEABLE = "The media could not be parsed as a known audio, video or image format."


def _open(data: bytes) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, IndexError, UnicodeDecodeError):
        raise ApiError(Code.UNPARSEABLE_MEDIA, _UNPARSEABLE) from None


def _decode(
    container: av.container.InputContainer, stream: av.VideoStream
) -> Iterator[av.VideoFrame]:
    try:
        yield from container.decode(stream)
    except (av.FFmpegError, ValueError):
        raise ApiError(Code.UNPARSEABLE_MEDIA, _UNPARSEABLE) from None


def _check_image_size(width: int, height: int) -> None:
    if width > IMAGE_PX_LIMIT or height > IMAGE_PX_LIMIT:
        raise ApiError(
            Code.IMAGE_TOO_LARGE,
            f"Your image was too large. The limit is {IMAGE_PX_LIMIT:,} x {IMAGE_PX_LIMIT:,} "
            f"pixels. Your image was {width:,} x {height:,} pixels.",
        )


def _still(frame: av.VideoFrame, index: int = 0, time: float = 0.0) -> Still:
    step = max(1, math.ceil(max(frame.width, frame.height) / _ANALYSIS_EDGE))
    rgb = frame.to_ndarray(format="rgb24")
    return Still(np.ascontiguousarray(rgb[::step, ::step]), step, index, time)


def _video_too_long(ms: float) -> str:
    return (
        f"Your video file was too long. The limit is {VIDEO_MS_LIMIT} milliseconds. "
        f"Your file was {math.ceil(ms)} milliseconds."
    )
