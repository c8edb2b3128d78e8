"""Cut decoded PCM into API-sized payloads: one small WAV per channel and span.

A payload never holds more than `AUDIO_MS_LIMIT` of audio (PROTOCOL.md §5). With
`silence_cut_ms` > 0 a chunk ends at the quietest 10 ms window within that distance before
its maximum length, so a word is rarely split between two payloads. Chunks in which every
10 ms window is below `silence_dbfs` are not sent; they come out as `SkippedSpan`s so the
result can say which parts of the file were not analysed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from hume_stream.limits import AUDIO_MS_LIMIT
from worker.media.decode import Pcm

__all__ = [
    "WAV_HEADER_BYTES",
    "Chunk",
    "ChunkOptions",
    "SkippedSpan",
    "chunk_pcm",
    "wav_bytes",
]

#: Length of the analysis window for silence (10 ms): short enough to find the gap
#: between two words, long enough that one zero crossing does not look like silence.
WINDOW_MS: Final = 10

_FULL_SCALE: Final = 32768.0
_WAV_HEADER: Final = struct.Struct("<4sI4s4sIHHIIHH4sI")
#: Bytes before the samples in every WAV that `wav_bytes` writes.
WAV_HEADER_BYTES: Final = _WAV_HEADER.size


@dataclass(frozen=True)
class ChunkOptions:
    """How to cut: the longest payload, the look-back for a quiet cut point, silence."""

    #: longest payload in milliseconds (at most the API's limit)
    chunk_ms: int = AUDIO_MS_LIMIT
    #: look back up to this many ms from `chunk_ms` for the quietest point; 0 = hard cuts.
    #: At most half the chunk is searched, so no chunk is cut shorter than half its length.
    silence_cut_ms: int = 500
    #: a 10 ms window whose RMS is below this level (dB relative to full scale) is silent
    silence_dbfs: float = -50.0
    #: leave out chunks that are silent throughout (reported as `SkippedSpan`)
    skip_silent: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.chunk_ms <= AUDIO_MS_LIMIT:
            raise ValueError(
                f"chunk_ms={self.chunk_ms}: must be in 1..{AUDIO_MS_LIMIT} (the API's limit)"
            )
        if self.silence_cut_ms < 0:
            raise ValueError(f"silence_cut_ms={self.silence_cut_ms}: must be ≥ 0")
        if self.silence_dbfs > 0:
            raise ValueError(f"silence_dbfs={self.silence_dbfs}: must be ≤ 0 dBFS")


class _Timed:
    """Sample-exact position of a span of one channel; `start` counts from the file start."""

    start: int
    length: int
    rate: int

    @property
    def end(self) -> int:
        """First sample after the span."""
        return self.start + self.length

    @property
    def start_s(self) -> float:
        return self.start / self.rate

    @property
    def end_s(self) -> float:
        return self.end / self.rate

    @property
    def duration_s(self) -> float:
        return self.length / self.rate


@dataclass(frozen=True)
class Chunk(_Timed):
    """One payload: a mono 16-bit PCM WAV of `length` samples of one channel."""

    #: order of the chunk among all chunks of the file (0, 1, …)
    index: int
    #: source channel index (0 when mixed to mono)
    channel: int
    label: str
    start: int
    length: int
    rate: int
    wav: bytes


@dataclass(frozen=True)
class SkippedSpan(_Timed):
    """A silent span of one channel that was not sent."""

    channel: int
    label: str
    start: int
    length: int
    rate: int


def wav_bytes(samples: Pcm, rate: int) -> bytes:
    """A self-contained mono 16-bit PCM WAV file holding `samples` (1-D)."""
    data = samples.astype("<i2", copy=False).tobytes()
    header = _WAV_HEADER.pack(
        b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", len(data),
    )  # fmt: skip
    return header + data


def chunk_pcm(
    blocks: Iterable[Pcm],
    labels: Sequence[str],
    rate: int,
    options: ChunkOptions | None = None,
    channels: Sequence[int] | None = None,
) -> Iterator[Chunk | SkippedSpan]:
    """Chunks and skipped spans of every channel, as soon as each is complete.

    blocks: PCM of shape (len(labels), n), contiguous from the start of the file.
    channels: source channel index of each row (default 0, 1, …).
    Within a channel the spans are contiguous and in order; across channels they come out
    as the decoding reaches them.
    """
    opts = options or ChunkOptions()
    rows = list(channels) if channels else list(range(len(labels)))
    if len(rows) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(rows)} channels")
    cutters = [_Cutter(rate, opts) for _ in labels]
    index = 0
    for block in blocks:
        for row, cutter in enumerate(cutters):
            for start, pcm in cutter.feed(block[row]):
                item = _emit(index, rows[row], labels[row], start, pcm, rate, cutter, opts)
                index += isinstance(item, Chunk)
                yield item
    for row, cutter in enumerate(cutters):
        for start, pcm in cutter.finish():
            item = _emit(index, rows[row], labels[row], start, pcm, rate, cutter, opts)
            index += isinstance(item, Chunk)
            yield item


def _emit(
    index: int,
    channel: int,
    label: str,
    start: int,
    pcm: Pcm,
    rate: int,
    cutter: _Cutter,
    opts: ChunkOptions,
) -> Chunk | SkippedSpan:
    if opts.skip_silent and cutter.is_silent(pcm):
        return SkippedSpan(channel=channel, label=label, start=start, length=pcm.size, rate=rate)
    return Chunk(
        index=index,
        channel=channel,
        label=label,
        start=start,
        length=pcm.size,
        rate=rate,
        wav=wav_bytes(pcm, rate),
    )


class _Cutter:
    """Buffers one channel and cuts it into spans of at most `limit` samples."""

    def __init__(self, rate: int, opts: ChunkOptions) -> None:
        self.limit = opts.chunk_ms * rate // 1000
        self.window = max(1, rate * WINDOW_MS // 1000)
        # whole windows only, so the search never looks past the limit
        lookback_ms = min(opts.silence_cut_ms, opts.chunk_ms // 2)
        self.lookback = lookback_ms * rate // 1000 // self.window * self.window
        level = _FULL_SCALE * 10 ** (opts.silence_dbfs / 20)
        self.silent_power = level * level
        self.pending: list[Pcm] = []
        self.pending_len = 0
        self.offset = 0

    def feed(self, samples: Pcm) -> Iterator[tuple[int, Pcm]]:
        self.pending.append(samples)
        self.pending_len += samples.size
        if self.pending_len < self.limit:
            return
        buf = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        pos = 0
        while buf.size - pos >= self.limit:
            cut = self._cut_point(buf[pos : pos + self.limit])
            yield self.offset, buf[pos : pos + cut]
            self.offset += cut
            pos += cut
        self.pending = [buf[pos:]]
        self.pending_len = buf.size - pos

    def finish(self) -> Iterator[tuple[int, Pcm]]:
        if self.pending_len:
            buf = np.concatenate(self.pending)
            yield self.offset, buf
            self.offset += buf.size
        self.pending, self.pending_len = [], 0

    def is_silent(self, pcm: Pcm) -> bool:
        return bool(_window_power(pcm, self.window).max() < self.silent_power)

    def _cut_point(self, span: Pcm) -> int:
        """Where to end a span of exactly `limit` samples: mid-way through its quietest
        window within the look-back (the latest one on ties), or at the limit when that
        window is the last one anyway."""
        if not self.lookback:
            return self.limit
        power = _window_power(span[self.limit - self.lookback :], self.window)
        quietest = power.size - 1 - int(np.argmin(power[::-1]))
        if quietest == power.size - 1:
            return self.limit
        return self.limit - self.lookback + quietest * self.window + self.window // 2


def _window_power(pcm: Pcm, window: int) -> npt.NDArray[np.float32]:
    """Mean square of each `window`-sample window (a shorter last window included)."""
    whole = pcm.size // window * window
    frames = pcm[:whole].astype(np.float32).reshape(-1, window)
    power = np.einsum("ij,ij->i", frames, frames) / window
    if whole < pcm.size:
        tail = pcm[whole:].astype(np.float32)
        power = np.append(power, np.dot(tail, tail) / tail.size)
    result: npt.NDArray[np.float32] = power.astype(np.float32, copy=False)
    return result
