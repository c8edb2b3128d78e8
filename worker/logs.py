"""Structured logging: structlog JSON lines (or a console renderer), with secrets redacted.

Call `configure(...)` once per process (the Celery `setup_logging` signal does it in the
worker; forked children inherit it). Every line of a job is bound with job_id, batch_id,
uri and attempt through `structlog.contextvars`.

One pipeline for everything: structlog events, the standard library's records (Celery's
own loggers, redis, botocore …) and uncaught exceptions all pass the same `Redactor`
before they are rendered, so no API key or credential-bearing URL reaches a line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from types import TracebackType
from typing import Any, TextIO

import structlog

from worker.media.redact import redact_text

REDACTED = "***"

#: Environment variables whose values are secrets wherever they come from (the API key,
#: object-store credentials picked up by boto/s3fs): always redacted, even when the
#: caller does not pass them.
SECRET_ENV_VARS = ("HUME_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

# `name=value`, `"name": "value"`, `name: value` for names that carry credentials, as they
# appear in header dumps, reprs and error messages. The name is kept, the value hidden.
_CREDENTIAL_FIELD = re.compile(
    r"""(?ix)
    (\b(?:x-hume-api-key|api[_-]?key|access[_-]?token|auth[_-]?token|token|password|passwd
        |secret|secret[_-]?access[_-]?key|aws[_-]secret[_-]access[_-]key|aws[_-]session[_-]token
        |signature|x-amz-signature|x-amz-security-token|x-goog-signature)
    \b["']?\s*[:=]\s*["']?)
    ([^\s"'&,;)}\]]+)
    """
)
# `Authorization: Bearer xyz` / `Basic xyz` (scheme kept), and a bare `Bearer xyz`.
_AUTH_HEADER = re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:\w+\s+)?)([^\s\"',;]+)")
_BEARER = re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]+)")

# structlog's own bookkeeping in ProcessorFormatter's event dicts: objects, never rendered.
_INTERNAL_KEYS = frozenset({"_record", "_from_structlog"})


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with known secrets, credentials inside URLs and credential-named fields
    (`api_key=…`, `Authorization: Bearer …`, `password: …`) replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = redact_text(text)
    text = _CREDENTIAL_FIELD.sub(rf"\1{REDACTED}", text)
    text = _AUTH_HEADER.sub(rf"\1{REDACTED}", text)
    return _BEARER.sub(rf"\1{REDACTED}", text)


def env_secrets() -> tuple[str, ...]:
    """Values of `SECRET_ENV_VARS` set in this process's environment."""
    return tuple(v for name in SECRET_ENV_VARS if (v := os.environ.get(name)))


class Redactor:
    """structlog processor: scrubs every string in the event, nested ones included.

    Numbers, booleans and None pass unchanged; dicts, lists and tuples keep their shape;
    any other object is rendered with str() first, since its repr may hold a secret.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is hidden whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if key not in _INTERNAL_KEYS:
                event[key] = self._scrub(value)
        return event

    def _scrub(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return redact(str(value), self.secrets)


def configure(
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route structlog, the standard library (Celery's loggers too) and uncaught
    exceptions through one redacting pipeline to `stream` (default stderr).

    `secrets` are hidden wherever they appear, in addition to `env_secrets()`.
    """
    redactor = Redactor([*secrets, *env_secrets()])
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become a string before the redactor, so secrets in them are hidden.
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processor=renderer)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Python prints an uncaught exception (main thread or any other) straight to stderr,
    # past every handler: send it through the pipeline instead.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named `name`, rendered by the pipeline `configure` set up."""
    return structlog.stdlib.get_logger(name)


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    get_logger("uncaught").critical("uncaught_exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return  # threading's own default ignores it too
    get_logger("uncaught").critical(
        "uncaught_exception",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )
