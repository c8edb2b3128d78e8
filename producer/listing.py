"""Listing media under a root with fsspec: S3 pages stream as the store returns them, other
stores by directory; each object comes with what identifies its version.

Media is kept by extension (MEDIA_EXTENSIONS, case-insensitive); `--pattern` globs narrow it
further, matched against the path below the root (`*` also matches `/`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, Final

import fsspec
from fsspec.asyn import sync

from producer.errors import InputError, ProducerError
from producer.settings import ProducerSettings
from producer.uris import Root
from worker.jobs import SourceIdentity
from worker.media.redact import redact_text
from worker.media.source import identity_from_info

#: What the worker can decode (PyAV): audio, and video whose audio track is used.
MEDIA_EXTENSIONS: Final = frozenset(
    {
        # audio
        "wav", "wave", "mp3", "flac", "ogg", "oga", "opus", "m4a", "aac", "wma", "amr",
        "aif", "aiff", "au", "caf", "mka", "spx", "wv", "ac3",
        # video
        "mp4", "m4v", "webm", "mov", "mkv", "avi", "3gp", "3gpp", "mpg", "mpeg", "ts", "wmv",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Listed:
    """One object found under a root."""

    root: Root
    path: str
    info: Mapping[str, Any]

    @property
    def uri(self) -> str:
        return self.root.uri_of(self.path)

    @property
    def relative(self) -> str:
        """The path below the root (the file name when the root is the file itself)."""
        rest = self.path[len(self.root.path) :].lstrip("/")
        return rest or PurePosixPath(self.path).name

    @property
    def size(self) -> int | None:
        size = self.info.get("size")
        return int(size) if size is not None else None

    def identity(self) -> SourceIdentity:
        """(uri, size, etag — or mtime where the store gives no etag): the job id's input."""
        # The bare path, not the URI: the store's info is all that is read from it, and the
        # URI (scheme + key, built here) has no credentials to redact.
        found = identity_from_info(self.path, self.info)
        # an etag names the content: a re-upload of the same bytes is the same job
        mtime = found.mtime if found.etag is None else None
        return SourceIdentity(uri=self.uri, size=found.size, etag=found.etag, mtime=mtime)


def is_media(path: str) -> bool:
    name = path.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    return bool(dot and stem) and suffix.lower() in MEDIA_EXTENSIONS


def matches(relative: str, patterns: Sequence[str]) -> bool:
    """True when no pattern is given or any pattern matches the relative path."""
    return not patterns or any(fnmatchcase(relative, p) for p in patterns)


class Lister:
    """Lists roots on their stores (one fresh filesystem per root)."""

    def __init__(self, settings: ProducerSettings) -> None:
        self.settings = settings

    def check(self, root: Root) -> None:
        """Fail now, before anything is enqueued, if the root cannot be listed."""
        self._start(root)

    def pages(self, root: Root, page_size: int) -> Iterator[list[Listed]]:
        """Every object under the root, `page_size` at a time, as the store returns them."""
        fs, info = self._start(root)
        if info.get("type") != "directory":
            yield [Listed(root, root.path, info)]
            return
        try:
            if root.scheme == "s3":
                yield from self._s3_pages(fs, root, page_size)
            else:
                yield from self._walk_pages(fs, root, page_size)
        except (InputError, ProducerError):
            raise
        except Exception as exc:
            raise _store_failure(root, exc) from exc

    def _start(self, root: Root) -> tuple[fsspec.AbstractFileSystem, dict[str, Any]]:
        try:
            fs = fsspec.filesystem(root.scheme, **self.settings.storage_options(root.scheme))
        except ImportError as exc:
            raise InputError(
                f"cannot list {root.uri}: {root.scheme}:// needs an optional package ({exc})"
            ) from None
        try:
            info: dict[str, Any] = fs.info(root.path)
        except FileNotFoundError:
            raise self._not_found(fs, root) from None
        except PermissionError as exc:
            raise ProducerError(f"access denied listing {root.uri}: {_say(exc)}") from None
        except Exception as exc:
            raise _store_failure(root, exc) from exc
        return fs, info

    @staticmethod
    def _not_found(fs: fsspec.AbstractFileSystem, root: Root) -> InputError:
        bucket = root.bucket
        if bucket is not None and bucket != root.path:
            try:
                exists = bool(fs.exists(bucket))
            except Exception:
                exists = False
            if not exists:
                return InputError(f"no such bucket {bucket!r} ({root.uri})")
        if bucket is not None and bucket == root.path:
            return InputError(f"no such bucket {bucket!r} ({root.uri})")
        return InputError(f"nothing found at {root.uri} (no such file, directory or prefix)")

    @staticmethod
    def _s3_pages(fs: Any, root: Root, page_size: int) -> Iterator[list[Listed]]:
        # One flat listing (no delimiter), handed over page by page as S3 returns it, so
        # enqueueing starts with the first page of a 100 000-object prefix. `find()` would
        # return only once the whole listing is in memory.
        bucket, _, key = root.path.partition("/")
        entries = fs._iterdir(bucket, delimiter="", prefix=f"{key}/" if key else "")

        async def take() -> list[dict[str, Any]]:
            page: list[dict[str, Any]] = []
            async for entry in _until(entries, page_size):
                page.append(entry)
            return page

        while page := sync(fs.loop, take):
            # keys ending in "/" are folder placeholders some tools create
            yield [Listed(root, e["name"], e) for e in page if not e["name"].endswith("/")]

    @staticmethod
    def _walk_pages(
        fs: fsspec.AbstractFileSystem, root: Root, page_size: int
    ) -> Iterator[list[Listed]]:
        page: list[Listed] = []
        for _, _, files in fs.walk(root.path, detail=True):
            for name in sorted(files):
                info = files[name]
                if info.get("type", "file") != "file":
                    continue
                page.append(Listed(root, info["name"], info))
                if len(page) >= page_size:
                    yield page
                    page = []
        if page:
            yield page


async def _until(entries: Any, limit: int) -> Any:
    """The next `limit` items of an async iterator (fewer at its end); it stays open."""
    for _ in range(limit):
        try:
            yield await entries.__anext__()
        except StopAsyncIteration:
            return


def _store_failure(root: Root, exc: BaseException) -> ProducerError:
    return ProducerError(f"cannot list {root.uri}: {_say(exc)}")


def _say(exc: BaseException) -> str:
    # store errors can quote endpoints and signed URLs: never let a credential through
    return redact_text(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
