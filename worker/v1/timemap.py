"""Map a realtime session's stream times back onto the file's time axis.

A session's times count the audio it accepted, from 0. The worker sends a channel's audio
minus its silent spans, and keeps a short stretch of each skipped span (a *bridge*, the
first part of the silence itself) so the service still hears speech stop there. The
stream is therefore a sequence of pieces, each a contiguous stretch of the file; a stream
time falls in one piece and maps into the file by that piece's offset.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

__all__ = ["Piece", "StreamMap"]


@dataclass(frozen=True)
class Piece:
    """`length` samples of the stream starting at `stream_start` are the file's samples
    from `file_start` on."""

    stream_start: int
    file_start: int
    length: int


class StreamMap:
    """The pieces of one session's stream, in the order sent."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.pieces: list[Piece] = []
        self._starts: list[int] = []
        #: Samples sent so far (the stream's length).
        self.samples = 0

    def add(self, file_start: int, length: int) -> None:
        """The next `length` samples of the stream are the file's from `file_start`."""
        if length <= 0:
            raise ValueError(f"a piece holds samples, got {length}")
        self.pieces.append(Piece(self.samples, file_start, length))
        self._starts.append(self.samples)
        self.samples += length

    def file_seconds(self, stream_ms: float) -> float:
        """The file time (s) of a stream time (ms); past the end it runs on from the last
        piece (the service may report a window a little beyond the audio it holds)."""
        if not self.pieces:
            raise ValueError("no audio was sent, so no stream time exists")
        position = stream_ms * self.rate / 1000.0
        index = max(0, bisect.bisect_right(self._starts, position) - 1)
        piece = self.pieces[index]
        return round((piece.file_start + position - piece.stream_start) / self.rate, 6)
