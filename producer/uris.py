"""What the user names on `producer submit`: a URI or path, parsed into a listing root.

Accepted: `s3://bucket[/prefix]`, `gs://bucket[/prefix]` (`gcs://` too), `file:///abs/path`,
a local path (absolute, `./…`, `../…`, `~/…`, or any path that exists here), and a bare
`bucket/prefix`, which takes the default scheme (PRODUCER_DEFAULT_SCHEME, `s3`).
Pure: nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

from producer.errors import InputError
from worker.media.redact import redact_uri

SCHEMES: Final = ("s3", "gs", "file")
_ALIASES: Final = {"s3": "s3", "gs": "gs", "gcs": "gs", "file": "file"}
#: S3 and GCS bucket names: lower-case letters, digits, dots, dashes (GCS: underscores).
_BUCKET: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)


@dataclass(frozen=True)
class Root:
    """A place to list: `path` is what fsspec takes (`bucket/key` or `/abs/path`)."""

    scheme: str
    path: str

    @property
    def uri(self) -> str:
        return self.uri_of(self.path)

    def uri_of(self, path: str) -> str:
        """The URI of an object listed under this root (the worker opens exactly this).
        Object keys are kept verbatim: a `%` or a non-ASCII letter in a key is part of its
        name. A local path is percent-encoded, since a `file://` URI is decoded when read
        (a `%` or `#` in a file name would otherwise name another file)."""
        if self.scheme == "file":
            return f"file://{quote(path, safe='/')}"
        return f"{self.scheme}://{path}"

    @property
    def bucket(self) -> str | None:
        return None if self.scheme == "file" else self.path.split("/", 1)[0]


def parse_root(text: str, default_scheme: str = "s3", cwd: Path | None = None) -> Root:
    """The listing root named by `text`; `InputError` naming what is wrong otherwise."""
    if not text.strip():
        raise InputError("empty URI: name an s3://, gs:// or file:// URI or a local path")
    shown = redact_uri(text)  # what error messages quote: never a credential
    match = _SCHEME.fullmatch(text)
    if match is not None:
        scheme = _ALIASES.get(match.group(1).lower())
        if scheme is None:
            raise InputError(
                f"unsupported scheme {match.group(1)!r} in {shown!r}: "
                f"use one of {', '.join(s + '://' for s in SCHEMES)} or a local path"
            )
        rest = match.group(2)
        if scheme == "file":
            return _file_root(shown, rest)
        return _bucket_root(shown, scheme, rest)
    if "://" in text or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", text):
        raise InputError(f"malformed URI {shown!r}: expected SCHEME://…")
    if _is_local(text, cwd):
        return Root("file", _absolute(Path(text).expanduser(), cwd))
    if default_scheme == "file":
        return Root("file", _absolute(Path(text), cwd))
    return _bucket_root(shown, default_scheme, text)


def _bucket_root(text: str, scheme: str, rest: str) -> Root:
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InputError(f"malformed URI {text!r}: no bucket name")
    if "@" in bucket:
        raise InputError(
            f"malformed URI {text!r}: credentials do not belong in the URI; the store's client "
            f"reads them from the environment (AWS_ACCESS_KEY_ID…, GOOGLE_APPLICATION_CREDENTIALS)"
        )
    if not _BUCKET.fullmatch(bucket):
        raise InputError(
            f"malformed URI {text!r}: {bucket!r} is not a bucket name "
            f"(3-222 lower-case letters, digits, '.', '-' or '_')"
        )
    key = key.strip("/")
    return Root(scheme, f"{bucket}/{key}" if key else bucket)


def _file_root(text: str, rest: str) -> Root:
    host, sep, path = rest.partition("/")
    if host not in ("", "localhost") or not sep:
        raise InputError(
            f"malformed URI {text!r}: a file URI needs an absolute path (file:///abs/path)"
        )
    return Root("file", _absolute(Path("/" + path), None))


def _is_local(text: str, cwd: Path | None) -> bool:
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        return True
    return (cwd or Path.cwd()).joinpath(text).exists()


def _absolute(path: Path, cwd: Path | None) -> str:
    full = path if path.is_absolute() else (cwd or Path.cwd()) / path
    # normpath, not resolve(): symlinked directories keep the name the user gave
    return os.path.normpath(full).replace(os.sep, "/")
