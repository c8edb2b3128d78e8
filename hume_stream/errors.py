"""The one exception of the client, and the API's error and warning codes (PROTOCOL.md §6)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Code", "HumeClientException", "is_retryable"]


class Code(StrEnum):
    """Error and warning codes of the v0 streaming API."""

    INVALID_JSON = "E0100"
    INVALID_REQUEST = "E0101"
    UNSUPPORTED_MODEL_FOR_MEDIA = "E0102"
    UNPARSEABLE_MEDIA = "E0200"
    INVALID_BASE64 = "E0201"
    NO_AUDIO_SIGNAL = "E0202"
    AUDIO_TOO_LONG = "E0203"
    VIDEO_TOO_LONG = "E0204"
    IMAGE_TOO_LARGE = "E0205"
    TEXT_TOO_LONG = "E0206"
    OUT_OF_CREDITS = "E0300"
    INTERNAL = "I0100"
    NO_BURSTS = "W0101"
    NO_FACEMESHES = "W0102"
    NO_FACES = "W0103"
    NO_EMOTIONAL_LANGUAGE = "W0104"
    NO_SPEECH = "W0105"


def is_retryable(code: str | None) -> bool:
    """Whether resending the same payload can succeed: only service-side (`I…`) faults."""
    return code is not None and code.startswith("I")


class HumeClientException(Exception):
    """Raised for every failure the client reports: API errors, bad input, handshake errors.

    `str(exc)` is the SDK's message, e.g. ``hume(E0102): Streaming payload configured …``.
    `code` is the API's code when the service (or a limit checked before sending) named one;
    `retryable` says whether sending the same thing again, perhaps on a new connection, can help.
    """

    def __init__(self, message: str, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable

    @classmethod
    def from_error(cls, code: str, error: str) -> HumeClientException:
        """The exception for an API error message, in the SDK's `hume(CODE): text` form."""
        return cls(f"hume({code}): {error}", code=code, retryable=is_retryable(code))

    def __repr__(self) -> str:
        return (
            f"HumeClientException({self.message!r}, code={self.code!r}, retryable={self.retryable})"
        )
