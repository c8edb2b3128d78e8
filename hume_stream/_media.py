"""Measure a media payload before it is sent: kind, duration and picture size.

WAV (the worker's chunk format) is read from its header with no dependency. Other
containers are probed with PyAV, imported lazily so `hume_stream` works without it; when
PyAV is missing or cannot read the bytes the result is `None` and the service decides.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
from dataclasses import dataclass
from typing import Literal

__all__ = ["MediaInfo", "probe_media", "probe_media_b64", "wav_duration_ms"]

MediaKind = Literal["audio", "video", "image"]

# FFmpeg demuxers that read a single still picture: image2*, and the *_pipe family.
_IMAGE_DEMUXER_PREFIX = "image2"
_IMAGE_DEMUXER_SUFFIX = "_pipe"
# Base64 characters decoded to find a WAV's chunks (6 KiB of file; headers are ~44 bytes).
_B64_HEAD_CHARS = 8192
_WHITESPACE = (b"\n", b"\r", b" ", b"\t")
# AV_DISPOSITION_ATTACHED_PIC: cover art in an audio file is a "video" stream, not video.
_ATTACHED_PIC = 1024


@dataclass(frozen=True)
class MediaInfo:
    """What a payload holds, as far as the client needs to know to check the API's limits.

    `exact` is true when the duration was computed from the sample count (PCM WAV), false
    when it comes from container metadata, which codec priming and padding can stretch by a
    few tens of milliseconds.
    """

    kind: MediaKind
    duration_ms: float | None = None
    width: int | None = None
    height: int | None = None
    exact: bool = False


def probe_media(data: bytes) -> MediaInfo | None:
    """Kind, duration and size of raw media bytes; `None` when they cannot be read here."""
    duration = wav_duration_ms(data)
    if duration is not None:
        return MediaInfo("audio", duration, exact=True)
    return _probe_with_av(data)


def probe_media_b64(encoded: bytes) -> MediaInfo | None:
    """`probe_media` for base64 input; a WAV needs only its head decoded, not the payload."""
    if len(encoded) % 4 == 0 and not any(ws in encoded for ws in _WHITESPACE):
        try:
            head = base64.b64decode(encoded[:_B64_HEAD_CHARS], validate=True)
        except binascii.Error:
            return None  # not base64: the service names that itself (E0201)
        padding = len(encoded) - len(encoded.rstrip(b"="))
        duration = wav_duration_ms(head, total_size=len(encoded) // 4 * 3 - padding)
        if duration is not None:
            return MediaInfo("audio", duration, exact=True)
    try:
        return probe_media(base64.b64decode(encoded))
    except binascii.Error:
        return None


def wav_duration_ms(data: bytes, total_size: int | None = None) -> float | None:
    """Duration of a RIFF/WAVE file from its `fmt ` and `data` chunks; `None` if not a WAV.

    Uses the average byte rate, so PCM, μ-law, A-law and ADPCM WAVs are all measured. A
    `data` size larger than the bytes present (streamed WAVs write 0 or 0xFFFFFFFF) is
    clamped to what is there. `data` may be the head of the file only, when `total_size`
    gives the length of the whole.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    total = len(data) if total_size is None else total_size
    byte_rate: int | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt " and size >= 16 and body + 16 <= len(data):
            (byte_rate,) = struct.unpack_from("<I", data, body + 8)
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            available = total - body
            present = available if size in (0, 0xFFFFFFFF) else min(size, available)
            return present * 1000.0 / byte_rate
        # Chunks are word-aligned: an odd size is followed by one pad byte.
        offset = body + size + (size & 1)
    return None


def _probe_with_av(data: bytes) -> MediaInfo | None:
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            format_name = container.format.name
            videos = [s for s in container.streams.video if not int(s.disposition) & _ATTACHED_PIC]
            audio = container.streams.audio[0] if container.streams.audio else None
            container_ms = container.duration / 1000.0 if container.duration is not None else None
            if videos:
                video = videos[0]
                width = video.codec_context.width or None
                height = video.codec_context.height or None
                still = format_name.startswith(_IMAGE_DEMUXER_PREFIX) or format_name.endswith(
                    _IMAGE_DEMUXER_SUFFIX
                )
                if still or (audio is None and (video.frames or 0) == 1):
                    return MediaInfo("image", None, width, height)
                return MediaInfo("video", container_ms or _stream_ms(video), width, height)
            if audio is not None:
                return MediaInfo("audio", _stream_ms(audio) or container_ms)
    except (av.FFmpegError, ValueError, OSError, EOFError):
        return None
    return None


def _stream_ms(stream: object) -> float | None:
    duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    if duration is None or time_base is None:
        return None
    return float(duration * time_base) * 1000.0
