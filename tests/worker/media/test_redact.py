"""Credentials never leave a URI: user-info and query values are hidden."""

from __future__ import annotations

import pytest

from worker.media import MediaNotFound, redact_text, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("/data/calls/a.wav", "/data/calls/a.wav"),
        ("s3://calls/2026/a.wav", "s3://calls/2026/a.wav"),
        ("file:///data/a.wav", "file:///data/a.wav"),
        (
            "https://b.s3.amazonaws.com/a.wav?X-Amz-Credential=AKIA1&X-Amz-Signature=abc",
            "https://b.s3.amazonaws.com/a.wav?X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        ("https://user:pa55@host:8443/a.mp3", "https://***@host:8443/a.mp3"),
        ("https://token@host/a.mp3#frag", "https://***@host/a.mp3#***"),
        ("gs://bucket/a.flac?TOKEN", "gs://bucket/a.flac?***"),
        # an empty authority keeps its `//`, whatever the scheme
        ("s3://", "s3://"),
        ("s3:///a.wav", "s3:///a.wav"),
        ("s3://key@/a.wav?x=1", "s3://***@/a.wav?x=***"),
        ("HTTPS://host/a.wav#t=3", "HTTPS://host/a.wav#***"),
    ],
)
def test_redact_uri(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_every_uri_in_a_text_is_redacted() -> None:
    text = "GET https://h/a.wav?sig=SECRET failed (see http://u:SECRET@h/b)."

    assert redact_text(text) == "GET https://h/a.wav?sig=*** failed (see http://***@h/b)."


def test_errors_redact_their_uri_and_reason() -> None:
    uri = "https://h/a.wav?sig=SECRET"

    error = MediaNotFound(uri, f"404 for {uri}")

    assert "SECRET" not in str(error)
    assert error.uri == "https://h/a.wav?sig=***"
    assert error.reason == "404 for https://h/a.wav?sig=***"
