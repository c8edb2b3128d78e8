"""Open media by URI (local path, file://, s3://, gs://, http(s)://) as a seekable stream.

fsspec does the I/O. Remote files are read through a read-ahead cache of `block_size`
bytes, so a multi-hour recording is never held in memory whole and PyAV's small reads do
not each become a request. Store failures become `MediaError`s with a stable code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import fsspec
from fsspec.core import url_to_fs

from worker.jobs import SourceIdentity
from worker.media.errors import (
    EmptyMedia,
    MediaError,
    MediaNotFound,
    MediaPermissionDenied,
    MediaUnavailable,
)
from worker.media.redact import redact_uri

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "MediaFile",
    "MediaReader",
    "SourceIdentity",
    "identity_from_info",
    "open_media",
    "stat_media",
]

#: Bytes fetched per remote read: big enough that a 2-hour 8 kHz MP3 (~30 MB) takes a few
#: requests, small enough that each worker process holds only one such block.
DEFAULT_BLOCK_SIZE: Final = 8 * 2**20

# keys that fsspec implementations use for an entity tag / a modification time, in order
_ETAG_KEYS: Final = ("ETag", "etag", "Etag")
_MTIME_KEYS: Final = ("LastModified", "mtime", "updated", "last_modified", "Last-Modified")


@dataclass(frozen=True)
class MediaFile:
    """An open media file: a seekable binary stream plus its identity."""

    uri: str
    identity: SourceIdentity
    file: MediaReader


def identity_from_info(uri: str, info: Mapping[str, Any]) -> SourceIdentity:
    """Build the identity from an fsspec `info()`/`ls(detail=True)` entry for `uri`.

    The producer can call this on a listing entry and get the same identity (and job id)
    that the worker computes after opening the file.
    """
    size = info.get("size")
    etag = next((str(info[k]) for k in _ETAG_KEYS if info.get(k) is not None), None)
    mtime = next((info[k] for k in _MTIME_KEYS if info.get(k) is not None), None)
    return SourceIdentity(
        uri=redact_uri(uri),
        size=int(size) if size is not None else None,
        etag=etag.strip('"') if etag is not None else None,
        mtime=_epoch_seconds(mtime) if mtime is not None else None,
    )


def stat_media(uri: str, storage_options: Mapping[str, Any] | None = None) -> SourceIdentity:
    """The identity of the file at `uri` without opening it."""
    fs, path = _filesystem(uri, storage_options)
    return identity_from_info(uri, _file_info(uri, fs, path))


@contextmanager
def open_media(
    uri: str,
    storage_options: Mapping[str, Any] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[MediaFile]:
    """Open `uri` for streaming reads; close it on exit.

    Raises `MediaNotFound`, `MediaPermissionDenied`, `EmptyMedia` or `MediaUnavailable`.
    Reads from the returned file raise the same types (not plain OSError), so a store
    failure in the middle of decoding is told apart from a failure of the caller's own I/O.
    """
    fs, path = _filesystem(uri, storage_options)
    identity = identity_from_info(uri, _file_info(uri, fs, path))
    if identity.size == 0:
        raise EmptyMedia(uri, "the file is empty (0 bytes)")
    try:
        raw = fs.open(path, "rb", block_size=block_size, cache_type="readahead")
    except Exception as exc:
        raise _store_error(uri, exc) from exc
    try:
        yield MediaFile(uri=uri, identity=identity, file=MediaReader(uri, raw))
    finally:
        raw.close()


def _store_error(uri: str, exc: BaseException) -> MediaError:
    """The `MediaError` for an exception raised by fsspec or the store's client."""
    if isinstance(exc, MediaError):
        return exc
    detail = str(exc) or type(exc).__name__
    cause = exc.__cause__
    # fsspec's HTTP filesystem re-raises every failure of `info` as FileNotFoundError from
    # the real one (a 403, a refused connection): judge by that one.
    status = _http_status(exc) or _http_status(cause)
    if isinstance(exc, IsADirectoryError):
        return MediaNotFound(uri, "the URI names a directory, not a file")
    if (refused := _refused_parameters(exc)) is not None:
        return MediaNotFound(uri, f"not a usable media URI: {refused}")
    if isinstance(exc, PermissionError) or status in (401, 403):
        return MediaPermissionDenied(uri, f"access denied ({detail})")
    if status in (404, 410):
        return MediaNotFound(uri, f"no such file or object ({detail})")
    if isinstance(exc, FileNotFoundError) and (status is not None or isinstance(cause, OSError)):
        reason = cause if cause is not None else exc
        return MediaUnavailable(uri, f"the store failed: {type(reason).__name__}: {reason}")
    if isinstance(exc, FileNotFoundError):
        return MediaNotFound(uri, f"no such file or object ({detail})")
    return MediaUnavailable(uri, f"the store failed: {type(exc).__name__}: {detail}")


def _refused_parameters(exc: BaseException) -> str | None:
    """What the store's client refused before sending anything (botocore checks bucket
    names client-side): such a request can never succeed, so it is no store failure."""
    for error in (exc, exc.__cause__):
        if error is not None and type(error).__name__ == "ParamValidationError":
            problem = str(error).splitlines()[-1]
            # "Invalid bucket name "x!": Bucket name must match the regex …": the name will do
            return problem.split(": Bucket name must match", 1)[0]
    return None


def _filesystem(
    uri: str, storage_options: Mapping[str, Any] | None
) -> tuple[fsspec.AbstractFileSystem, str]:
    local = _local_path(uri)
    if local is not None:
        return fsspec.filesystem("file"), local
    options = _default_options(uri)
    options.update(storage_options or {})
    try:
        fs, path = url_to_fs(uri, **options)
    except ImportError as exc:
        # e.g. gs:// without the `gcs` extra installed
        raise MediaUnavailable(uri, f"no filesystem for this scheme: {exc}") from exc
    except ValueError as exc:
        raise MediaNotFound(uri, f"not a usable media URI: {exc}") from exc
    except OSError as exc:
        # filesystems that connect when made (ftp://, sftp://) fail here, not on open
        raise _store_error(uri, exc) from exc
    return fs, path


def _local_path(uri: str) -> str | None:
    """The absolute path for a plain path or a file:// URI, else None.

    Handled here rather than by fsspec, which takes `::` in a path for URL chaining and
    leaves the percent-escapes of a file URI (`a%20b.wav`) undecoded.
    """
    if "://" not in uri:
        return os.path.abspath(uri)
    parts = urlsplit(uri)
    if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
        return unquote(parts.path)
    return None


def _default_options(uri: str) -> dict[str, Any]:
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else "file"
    if scheme in ("s3", "s3a"):
        # Passed explicitly (botocore also reads it) so fsspec's per-options instance cache
        # never hands back a filesystem bound to an endpoint the environment no longer names.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return {"endpoint_url": endpoint} if endpoint else {}
    if scheme in ("http", "https"):
        # Presigned URLs are already percent-encoded; re-quoting them breaks the signature.
        return {"encoded": True}
    return {}


def _file_info(uri: str, fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any]:
    try:
        info: dict[str, Any] = fs.info(path)
    except Exception as exc:
        raise _store_error(uri, exc) from exc
    if info.get("type") == "directory":
        raise MediaNotFound(uri, "the URI names a directory, not a file")
    return info


def _http_status(exc: BaseException | None) -> int | None:
    # aiohttp (http, s3fs) calls it `status`, gcsfs `code`
    for attr in ("status", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


def _epoch_seconds(value: object) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return None


class MediaReader:
    """A binary file from the store (read, seek, tell) whose failures are `MediaError`s."""

    def __init__(self, uri: str, raw: Any) -> None:
        self._uri = uri
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._raw.read(size)
        except Exception as exc:
            raise _store_error(self._uri, exc) from exc
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        try:
            return int(self._raw.seek(offset, whence))
        except Exception as exc:
            raise _store_error(self._uri, exc) from exc

    def tell(self) -> int:
        return int(self._raw.tell())

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
