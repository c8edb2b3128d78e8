"""Why a media file could not be turned into payloads: one exception type per cause.

Every error carries the (redacted) URI, a human reason and a stable short `code` that
results, metrics and the dead-letter record use. `retryable` says whether the same file
may succeed later (a flaky store) or never will (bad input).
"""

from __future__ import annotations

from typing import ClassVar

from worker.media.redact import redact_text, redact_uri

__all__ = [
    "CorruptMedia",
    "EmptyMedia",
    "MediaError",
    "MediaNotFound",
    "MediaPermissionDenied",
    "MediaUnavailable",
    "NoAudioStream",
    "UnsupportedCodec",
    "ZeroDuration",
]


class MediaError(Exception):
    """A media file could not be read, decoded or chunked."""

    code: ClassVar[str] = "media_error"
    retryable: ClassVar[bool] = False

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = redact_uri(uri)
        # Library messages quote the URI they were given, presigned query and all.
        self.reason = redact_text(reason.replace(uri, self.uri) if uri else reason)
        super().__init__(f"{self.uri}: {self.reason} [{self.code}]")


class MediaNotFound(MediaError):
    """No object or file at the URI (or the bucket does not exist)."""

    code = "not_found"


class MediaPermissionDenied(MediaError):
    """The store refused access (credentials, bucket policy, file mode)."""

    code = "permission_denied"


class MediaUnavailable(MediaError):
    """The store could not be reached or failed; the same file may work on a later try."""

    code = "unavailable"
    retryable = True


class EmptyMedia(MediaError):
    """The file has zero bytes."""

    code = "empty_file"


class NoAudioStream(MediaError):
    """The container holds no audio stream (e.g. a video without sound)."""

    code = "no_audio_stream"


class CorruptMedia(MediaError):
    """The bytes are not a readable container, or a packet could not be decoded."""

    code = "corrupt"


class UnsupportedCodec(MediaError):
    """The audio stream uses a codec this build of FFmpeg cannot decode."""

    code = "unsupported_codec"


class ZeroDuration(MediaError):
    """The audio stream decodes to no samples at all."""

    code = "zero_duration"
