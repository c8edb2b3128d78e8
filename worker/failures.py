"""What went wrong in a job, sorted into what the worker does about it.

bad input   media errors, API validation errors (E01xx, E02xx)  → failed at once
transient   dropped socket, timeouts, I0xxx, a flaky store       → retry with backoff, then dead
held        the API key was rejected, or the account is out of credits
                                                                 → retried later, not counted
waiting     the API refused or could not take the connection (429, 5xx, refused): no
            payload was sent                                     → retry with backoff, not counted
"""

from __future__ import annotations

import asyncio
from enum import Enum

from hume_stream import HumeClientException
from worker.jobs import ErrorInfo
from worker.media import MediaError

AUTH_MESSAGE = "HumeStreamClient initialized with invalid API key."
#: The v1 realtime client's message for a refused key.
REALTIME_AUTH_MESSAGE = "Websocket initialized with invalid credentials."
#: The clients' messages for a handshake the service refused otherwise (429, 5xx…).
REFUSED_MESSAGES = (
    "Unexpected error when creating streaming connection",
    "Unexpected error when initializing websocket connection.",
)


class Disposition(Enum):
    FAIL = "fail"
    RETRY = "retry"
    HOLD = "hold"
    WAIT = "wait"


class JobFailure(Exception):
    """A job could not finish: carries its ErrorInfo and what to do about it."""

    def __init__(self, error: ErrorInfo, disposition: Disposition) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
        self.disposition = disposition


def classify(exc: BaseException) -> JobFailure:
    """Sort an exception raised while running a job."""
    if isinstance(exc, JobFailure):
        return exc
    if isinstance(exc, MediaError):
        info = ErrorInfo(code=exc.code, message=str(exc), retryable=exc.retryable)
        return JobFailure(info, Disposition.RETRY if exc.retryable else Disposition.FAIL)
    if isinstance(exc, HumeClientException):
        if exc.message in (AUTH_MESSAGE, REALTIME_AUTH_MESSAGE):
            return JobFailure(ErrorInfo(code="auth", message=exc.message), Disposition.HOLD)
        if _refused(exc):
            # Counting these would make healthy jobs `dead` during an API outage, or in a
            # fleet with more processes than the key may open connections.
            info = ErrorInfo(code="connect", message=_with_status(exc), retryable=True)
            return JobFailure(info, Disposition.WAIT)
        code = exc.code or "api"
        info = ErrorInfo(code=code, message=exc.message, retryable=exc.retryable)
        if code.startswith("E03"):
            return JobFailure(info, Disposition.HOLD)
        if exc.retryable or exc.code is None:
            return JobFailure(info.model_copy(update={"retryable": True}), Disposition.RETRY)
        return JobFailure(info, Disposition.FAIL)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        info = ErrorInfo(code="timeout", message=str(exc) or "no reply in time", retryable=True)
        return JobFailure(info, Disposition.RETRY)
    if isinstance(exc, OSError | ConnectionError):
        info = ErrorInfo(code="connection", message=f"{type(exc).__name__}: {exc}", retryable=True)
        return JobFailure(info, Disposition.RETRY)
    info = ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}", retryable=True)
    return JobFailure(info, Disposition.RETRY)


def _with_status(exc: HumeClientException) -> str:
    """The message, with the HTTP status of the refused handshake when it does not say it
    (the SDK's message is the same for a rate limit and a service error; the reconnecting
    stream's own message already ends with it)."""
    if exc.status is None or f"(HTTP {exc.status})" in exc.message:
        return exc.message
    return f"{exc.message} (HTTP {exc.status})"


def _refused(exc: HumeClientException) -> bool:
    """Whether the last try failed to connect at all: refused, or the handshake refused."""
    last = exc.__cause__ or exc
    if isinstance(last, ConnectionRefusedError):
        return True
    return isinstance(last, HumeClientException) and last.message in REFUSED_MESSAGES
