"""One media file from URI to payloads: open → decode → chunk, as a single stream.

with stream_chunks(job.media_uri, MediaOptions(split_channels=True)) as media:
    for chunk in media:            # decoding continues while the caller sends
        send(chunk.wav)
    media.skipped, media.duration_s, media.warnings   # complete after the loop
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from worker.media.chunk import Chunk, ChunkOptions, SkippedSpan, chunk_pcm
from worker.media.decode import TARGET_RATE, AudioInfo, DecodedAudio, decode_audio
from worker.media.source import DEFAULT_BLOCK_SIZE, SourceIdentity, open_media

__all__ = ["ChunkStream", "MediaOptions", "stream_chunks"]

_NOT_ENTERED = "use the ChunkStream in a `with` block first"


@dataclass(frozen=True)
class MediaOptions:
    """How a job's media is read and cut."""

    #: one payload stream per channel (agent / customer); False averages them to mono
    split_channels: bool = True
    #: keep only these source channels (None = all); ignored when mixing
    channels: tuple[int, ...] | None = None
    #: output sample rate in Hz
    rate: int = TARGET_RATE
    chunk: ChunkOptions = field(default_factory=ChunkOptions)
    #: fsspec options for the URI's filesystem (credentials, endpoint, …)
    storage_options: Mapping[str, Any] | None = None
    block_size: int = DEFAULT_BLOCK_SIZE


class ChunkStream:
    """The chunks of one media file, decoded and cut while the caller iterates.

    Use as a context manager; `identity` and `info` are known on entry, `skipped`,
    `samples`, `duration_s` and `warnings` grow during iteration and are final after it.
    Iterate once.
    """

    def __init__(self, uri: str, options: MediaOptions) -> None:
        self.uri = uri
        self.options = options
        self._stack = ExitStack()
        self._audio: DecodedAudio | None = None
        self._identity: SourceIdentity | None = None
        self._iterated = False
        #: silent spans not sent, merged per channel where they touch
        self.skipped: list[SkippedSpan] = []
        self._last_skipped: dict[int, int] = {}
        #: chunks yielded so far
        self.chunks = 0

    def __enter__(self) -> ChunkStream:
        with ExitStack() as stack:
            media = stack.enter_context(
                open_media(self.uri, self.options.storage_options, self.options.block_size)
            )
            self._audio = stack.enter_context(
                decode_audio(
                    media,
                    rate=self.options.rate,
                    split_channels=self.options.split_channels,
                    channels=self.options.channels,
                )
            )
            self._identity = media.identity
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    @property
    def identity(self) -> SourceIdentity:
        """What the file is (redacted URI, size, etag, mtime)."""
        if self._identity is None:
            raise RuntimeError(_NOT_ENTERED)
        return self._identity

    @property
    def info(self) -> AudioInfo:
        return self._decoded.info

    @property
    def labels(self) -> Sequence[str]:
        """Label of each channel that chunks are made for ("agent", "customer" / "mono")."""
        return self._decoded.info.labels

    @property
    def samples(self) -> int:
        """Samples per channel decoded so far, at `info.rate`."""
        return self._decoded.samples

    @property
    def duration_s(self) -> float:
        """Seconds decoded so far: the file's duration once iteration has finished."""
        return self._decoded.duration_s

    @property
    def warnings(self) -> list[str]:
        return self._decoded.warnings

    def __iter__(self) -> Iterator[Chunk]:
        audio = self._decoded
        if self._iterated:
            raise RuntimeError("a ChunkStream can be iterated only once")
        self._iterated = True
        channels = audio.info.channels or (0,)
        for item in chunk_pcm(
            audio.blocks(), audio.info.labels, audio.info.rate, self.options.chunk, channels
        ):
            if isinstance(item, Chunk):
                self.chunks += 1
                yield item
            else:
                self._skip(item)

    @property
    def _decoded(self) -> DecodedAudio:
        if self._audio is None:
            raise RuntimeError(_NOT_ENTERED)
        return self._audio

    def _skip(self, span: SkippedSpan) -> None:
        last = self._last_skipped.get(span.channel)
        if last is not None and self.skipped[last].end == span.start:
            merged = self.skipped[last]
            self.skipped[last] = replace(merged, length=merged.length + span.length)
            return
        self._last_skipped[span.channel] = len(self.skipped)
        self.skipped.append(span)


def stream_chunks(uri: str, options: MediaOptions | None = None) -> ChunkStream:
    """The chunks of the media at `uri`; see `ChunkStream`.

    Entering raises the `MediaError` for a file that cannot be opened or has no decodable
    audio stream; iterating raises `CorruptMedia` / `ZeroDuration` when decoding fails.
    """
    return ChunkStream(uri, options or MediaOptions())
