"""The logging pipeline: JSON lines with the job's context, nothing secret in any line,
whether it comes from structlog, the standard library (Celery) or an uncaught exception."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest
import structlog

from tests.observability.support import configured_logs, log_lines
from worker import logs
from worker.logs import REDACTED, Redactor, redact

API_KEY = "hk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
REDIS_PASSWORD = "r3dis-Pa55word"
S3_SIGNATURE = "c2e1f3a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PRESIGNED = (
    "https://calls.s3.amazonaws.com/2026/call-1.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Fus-east-1%2Fs3%2Faws4_request"
    f"&X-Amz-Signature={S3_SIGNATURE}"
)
REDIS_URL = f"redis://fleet:{REDIS_PASSWORD}@redis.internal:6379/0"
SECRETS = (API_KEY, REDIS_PASSWORD, S3_SIGNATURE, S3_SECRET)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into:\n{text}"


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The JSON pipeline, with an S3 secret in the environment."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    with configured_logs("json", secrets=[API_KEY]) as buffer:
        yield buffer


# --- redact() ---------------------------------------------------------------------------


def test_redact_hides_a_known_secret_anywhere() -> None:
    assert redact(f"key={API_KEY}!", [API_KEY]) == f"key={REDACTED}!"
    assert redact(f"prefix{API_KEY}suffix", [API_KEY]) == f"prefix{REDACTED}suffix"


def test_redact_hides_credentials_in_urls() -> None:
    assert redact(f"cannot reach {REDIS_URL}") == "cannot reach redis://***@redis.internal:6379/0"
    out = redact(f"403 for {PRESIGNED}")
    assert S3_SIGNATURE not in out and "AKIAEXAMPLE" not in out
    assert "X-Amz-Signature=***" in out and out.startswith("403 for https://calls.s3")


@pytest.mark.parametrize(
    "text",
    [
        f"headers: {{'X-Hume-Api-Key': '{API_KEY}'}}",
        f'{{"apiKey": "{API_KEY}"}}',
        f"api_key={API_KEY}",
        f"Authorization: Bearer {API_KEY}",
        f"sent bearer {API_KEY} upstream",
        f"aws_secret_access_key = {S3_SECRET}",
        f"password: {REDIS_PASSWORD}",
    ],
)
def test_redact_hides_values_of_credential_fields_it_was_not_told_about(text: str) -> None:
    out = redact(text)
    assert_clean(out)
    assert REDACTED in out


def test_redact_leaves_plain_text_alone() -> None:
    text = "job 3f2a done in 4.2 s: s3://calls/2026/call-1.wav (2 channels, prosody+burst)"
    assert redact(text, [API_KEY]) == text


# --- the processor ----------------------------------------------------------------------


def test_redactor_scrubs_nested_values_and_keeps_their_shape() -> None:
    event = {
        "event": "job.failed",
        "attempt": 2,
        "ok": False,
        "ratio": 0.5,
        "none": None,
        "error": {"message": f"bad key {API_KEY}", "urls": [REDIS_URL, PRESIGNED]},
        "exc": ValueError(f"at {REDIS_URL}"),
    }
    out = Redactor([API_KEY])(None, "error", event)
    assert (out["attempt"], out["ok"], out["ratio"], out["none"]) == (2, False, 0.5, None)
    assert out["error"]["message"] == f"bad key {REDACTED}"
    assert out["error"]["urls"][0] == "redis://***@redis.internal:6379/0"
    assert out["exc"] == "at redis://***@redis.internal:6379/0"
    assert_clean(json.dumps(out))


# --- the configured pipeline ------------------------------------------------------------


def test_structlog_lines_are_json_with_the_job_context(output: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(job_id="j-1", batch_id="b-1", uri=PRESIGNED, attempt=2)
    logs.get_logger("worker.tasks").info("job.done", duration_s=4.2, source=REDIS_URL)
    (line,) = log_lines(output)
    assert line["event"] == "job.done" and line["level"] == "info"
    assert (line["job_id"], line["batch_id"], line["attempt"]) == ("j-1", "b-1", 2)
    assert line["uri"].startswith("https://calls.s3.amazonaws.com/2026/call-1.wav?")
    assert "timestamp" in line and line["logger"] == "worker.tasks"
    assert_clean(output.getvalue())


def test_stdlib_records_get_the_same_context_and_redaction(output: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(job_id="j-2", batch_id="b-2", uri="x.wav", attempt=1)
    logging.getLogger("celery.app.trace").warning("Connected to %s with %s", REDIS_URL, API_KEY)
    (line,) = log_lines(output)
    assert line["logger"] == "celery.app.trace" and line["job_id"] == "j-2"
    assert line["event"] == "Connected to redis://***@redis.internal:6379/0 with ***"
    assert_clean(output.getvalue())


def test_tracebacks_holding_secrets_are_redacted(output: io.StringIO) -> None:
    log = logs.get_logger("worker.tasks")
    try:
        raise ConnectionError(f"handshake with {API_KEY} via {REDIS_URL} for {PRESIGNED}")
    except ConnectionError:
        log.exception("job.crashed")
        logging.getLogger("celery.worker").error("task raised", exc_info=True)
    structured, foreign = log_lines(output)
    for line in (structured, foreign):
        assert "Traceback (most recent call last)" in line["exception"]
        assert "ConnectionError: handshake with ***" in line["exception"]
    assert_clean(output.getvalue())


def test_the_s3_secret_from_the_environment_is_redacted(output: io.StringIO) -> None:
    logs.get_logger("s3").info("creds", detail=f"secret is {S3_SECRET}")
    assert log_lines(output)[0]["detail"] == f"secret is {REDACTED}"


def test_uncaught_exceptions_in_threads_go_through_the_pipeline(output: io.StringIO) -> None:
    def crash() -> None:
        raise RuntimeError(f"loop died holding {API_KEY}")

    thread = threading.Thread(target=crash, name="socket-loop")
    thread.start()
    thread.join(timeout=10)
    (line,) = log_lines(output)
    assert line["event"] == "uncaught_exception" and line["thread"] == "socket-loop"
    assert "RuntimeError: loop died holding ***" in line["exception"]
    assert_clean(output.getvalue())


def test_uncaught_exceptions_in_the_main_thread_go_through_the_pipeline(
    output: io.StringIO,
) -> None:
    try:
        raise KeyError(API_KEY)
    except KeyError:
        sys.excepthook(*sys.exc_info())  # what the interpreter calls at top level
    (line,) = log_lines(output)
    assert line["level"] == "critical" and "KeyError: '***'" in line["exception"]


def test_console_format_for_humans_is_redacted_too() -> None:
    with configured_logs("console", secrets=[API_KEY]) as buffer:
        logs.get_logger("worker").info("job.start", uri=PRESIGNED, key=API_KEY)
    text = buffer.getvalue()
    assert "job.start" in text and not text.lstrip().startswith("{")
    assert_clean(text)


def test_level_filters_lines(output: io.StringIO) -> None:
    logging.getLogger().setLevel("WARNING")
    logs.get_logger("w").info("hidden")
    logs.get_logger("w").warning("shown")
    assert [line["event"] for line in log_lines(output)] == ["shown"]
