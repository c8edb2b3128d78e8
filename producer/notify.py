"""`--notify URL`: one POST of the batch summary (JSON) when a watched batch finishes.

A webhook URL is often a credential in itself (a chat webhook's token is its path), so
messages name only its scheme and host."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from producer.errors import InputError, ProducerError


def shown(url: str) -> str:
    """`scheme://host[:port]` of the URL: what messages may show of it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def check_url(url: str) -> None:
    """`InputError` unless `url` is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--notify needs an http:// or https:// URL, got {shown(url)!r}")


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
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only, as above
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise ProducerError(f"notify {shown(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProducerError(f"notify {shown(url)} failed: {reason}") from None
