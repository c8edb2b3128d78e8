"""Remove credentials from media URIs before they reach a message, a log or a result.

Credentials ride in URIs in two places: the user-info part (`https://user:pass@host/…`)
and the query string of presigned / signed URLs (`X-Amz-Signature=…`, `X-Goog-Signature=…`,
`sig=…`). Query values are hidden wholesale: a signing scheme we do not know of must not leak.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["redact_text", "redact_uri"]

HIDDEN = "***"

# A URI inside free text (an error message from a library): scheme://… up to whitespace or quote.
_URI_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_TRAILING = ").,;:]}"


def redact_uri(uri: str) -> str:
    """The URI with user-info replaced by `***@` and every query value by `***`.

    Plain paths and URIs without credentials come back unchanged; keys of the query are
    kept so a reader can still tell a presigned URL from a plain one.
    """
    if "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri.split('://', 1)[0]}://{HIDDEN}"
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(_hide_value(item) for item in parts.query.split("&")) if parts.query else ""
    # Joined here rather than by urlunsplit, which drops the `//` of an empty authority
    # for schemes it does not know (s3:///key would come back as s3:/key).
    return (
        f"{uri.split('://', 1)[0]}://{netloc}{parts.path}"
        + (f"?{query}" if parts.query else "")
        + (f"#{HIDDEN}" if parts.fragment else "")
    )


def redact_text(text: str) -> str:
    """`text` with every URI in it passed through `redact_uri`."""
    return _URI_IN_TEXT.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    # Punctuation that closes the sentence or a bracket around the URI is not part of it.
    uri = match.group(0).rstrip(_TRAILING)
    return redact_uri(uri) + match.group(0)[len(uri) :]


def _hide_value(item: str) -> str:
    key, sep, _ = item.partition("=")
    # a bare item (`?TOKEN`) may itself be the secret
    return f"{key}={HIDDEN}" if sep else HIDDEN
