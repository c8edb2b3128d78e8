"""Credentials inside URLs never reach what the fleet stores or shows: the URI forms the
fleet meets (Redis and AMQP brokers, presigned object URLs), and the Result contract, which
hides them whoever builds it. (Log-pipeline redaction: tests/observability/test_logs.py;
media errors: tests/worker/media/test_redact.py.)"""

from __future__ import annotations

import pytest

from worker.jobs import ErrorInfo, Result, SourceIdentity, State, Timings
from worker.media.redact import redact_text, redact_uri

SIGNATURE = "5f2b9c0d7e1a4b3c8d6e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
PRESIGNED = (
    "https://calls.s3.eu-west-1.amazonaws.com/2026/11/call%20one.wav"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Feu-west-1"
    f"&X-Amz-Date=20261127T120000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host"
    f"&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature={SIGNATURE}"
)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("rediss://fleet:p%40ss%3Aw0rd@redis:6380/0", "rediss://***@redis:6380/0"),
        ("redis://:onlypassword@[::1]:6379/3", "redis://***@[::1]:6379/3"),
        ("amqps://fleet:s3cret@rabbit:5671/%2Ffleet", "amqps://***@rabbit:5671/%2Ffleet"),
        (
            "https://storage.googleapis.com/calls/a.wav?X-Goog-Signature=abc&X-Goog-Expires=60",
            "https://storage.googleapis.com/calls/a.wav?X-Goog-Signature=***&X-Goog-Expires=***",
        ),
        (
            "https://acct.blob.core.windows.net/calls/a.wav?sv=2024&sig=abc%3D",
            "https://acct.blob.core.windows.net/calls/a.wav?sv=***&sig=***",
        ),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
    ],
)
def test_credential_urls_of_brokers_and_stores(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown
    assert redact_uri(shown) == shown  # redacting twice changes nothing


def test_a_presigned_url_keeps_its_path_and_parameter_names_only() -> None:
    shown = redact_uri(PRESIGNED)
    assert shown.startswith("https://calls.s3.eu-west-1.amazonaws.com/2026/11/call%20one.wav?")
    assert "X-Amz-Signature=***" in shown and "X-Amz-Security-Token=***" in shown
    for secret in (SIGNATURE, "AKIAEXAMPLE", "FwoGZXIvYXdzEXAMPLE"):
        assert secret not in shown


def test_urls_inside_messages_from_libraries() -> None:
    text = (
        f"Error 111 connecting to rediss://fleet:hunter2@redis:6380/0. "
        f"Then GET {PRESIGNED}: 403 (amqp://guest:guest@rabbit//)"
    )
    shown = redact_text(text)
    for secret in ("hunter2", SIGNATURE, "guest:guest"):
        assert secret not in shown
    assert shown.endswith("(amqp://***@rabbit//)")


def result_for(uri: str, **fields: object) -> Result:
    return Result(
        job_id="j1",
        batch_id="b1",
        status=State.FAILED,
        source=SourceIdentity(uri=uri, size=10),
        timings=Timings(started_at=1.0, finished_at=2.0),
        attempts=1,
        worker="host:1",
        **fields,  # type: ignore[arg-type]
    )


def test_a_result_never_holds_the_credentials_of_its_source() -> None:
    result = result_for(
        PRESIGNED,
        error=ErrorInfo(code="forbidden", message=f"access denied for {PRESIGNED} (403)"),
        warnings=[f"retried {PRESIGNED}"],
    )
    document = result.model_dump_json()
    for secret in (SIGNATURE, "AKIAEXAMPLE", "FwoGZXIvYXdzEXAMPLE"):
        assert secret not in document
    assert result.source.uri == redact_uri(PRESIGNED)
    assert result.source.size == 10
    # and what is read back is the same document
    assert Result.model_validate_json(document) == result


def test_an_error_message_hides_credential_urls() -> None:
    error = ErrorInfo(code="connection", message="ConnectionError: redis://:pw@redis:6379/0")
    assert error.message == "ConnectionError: redis://***@redis:6379/0"
