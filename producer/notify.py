"""`--notify URL`: one POST of the batch summary (JSON) when a watched batch finishes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from producer.errors import InputError, ProducerError
from worker.media.redact import redact_uri


def check_url(url: str) -> None:
    """`InputError` unless `url` is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--notify needs an http:// or https:// URL, got {redact_uri(url)!r}")


def post_summary(url: str, summary: dict[str, Any], timeout_s: float) -> int:
    """POST `summary` as JSON; the HTTP status, or `ProducerError` naming the failure."""
    check_url(url)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above: http(s) only
        url,
        data=json.dumps(summary).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "hume-fleet-producer"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise ProducerError(f"notify {redact_uri(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProducerError(f"notify {redact_uri(url)} failed: {reason}") from None
