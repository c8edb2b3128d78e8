"""The one exception of the client, and the API's error and warning codes (PROTOCOL.md §6;
v1: PROTOCOL-v1.md §2.3)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Code", "HumeClientException", "RealtimeCode", "is_retryable", "realtime_exception"]


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
    `status` is the HTTP status of a refused handshake (401, 429 rate limited, 5xx…), since
    the SDK's message is the same for all but 401.
    """

    def __init__(
        self,
        message: str,
        code: str | None = None,
        retryable: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.status = status

    @classmethod
    def from_error(cls, code: str, error: str) -> HumeClientException:
        """The exception for an API error message, in the SDK's `hume(CODE): text` form."""
        return cls(f"hume({code}): {error}", code=code, retryable=is_retryable(code))

    def __repr__(self) -> str:
        status = "" if self.status is None else f", status={self.status}"
        return (
            f"HumeClientException({self.message!r}, code={self.code!r}, "
            f"retryable={self.retryable}{status})"
        )


class RealtimeCode(StrEnum):
    """Error codes of the v1 realtime audio API (PROTOCOL-v1.md §2.3), plus the ways a
    session can end early that the client reports with a code of its own."""

    INVALID_AUDIO_FRAME = "invalid_audio_frame"
    RATE_LIMITED = "rate_limited"
    MESSAGE_INVALID = "message_invalid"
    CONFIG_INVALID = "config_invalid"
    MESSAGE_TOO_LARGE = "message_too_large"
    INTERNAL_ERROR = "internal_error"
    #: Client-side: the server ended the session (`session.closed` with this reason).
    IDLE_TIMEOUT = "idle_timeout"
    SERVER_SHUTDOWN = "server_shutdown"
    #: Client-side: the connection ended without `session.closed`.
    CONNECTION_LOST = "connection_lost"


#: Whether repeating the same thing (on a new session if the old one ended) can succeed.
#: This differs from the wire's `retryable`, which says whether the *session* survives:
#: `internal_error` ends the session but a new one can succeed, while a malformed frame
#: survives but fails again when resent.
_REALTIME_RETRYABLE: dict[str, bool] = {
    RealtimeCode.INVALID_AUDIO_FRAME: False,
    RealtimeCode.RATE_LIMITED: True,
    RealtimeCode.MESSAGE_INVALID: False,
    RealtimeCode.CONFIG_INVALID: False,
    RealtimeCode.MESSAGE_TOO_LARGE: False,
    RealtimeCode.INTERNAL_ERROR: True,
    RealtimeCode.IDLE_TIMEOUT: True,
    RealtimeCode.SERVER_SHUTDOWN: True,
    RealtimeCode.CONNECTION_LOST: True,
}


def realtime_exception(
    code: str, message: str, wire_retryable: bool | None = None
) -> HumeClientException:
    """The exception for a v1 error, ``hume(code): message``; an unknown code keeps the
    wire's `retryable` (False when there is none)."""
    retryable = _REALTIME_RETRYABLE.get(code, bool(wire_retryable))
    return HumeClientException(f"hume({code}): {message}", code=code, retryable=retryable)
