"""Decode the audio of an open media file with PyAV, frame by frame, to 16 kHz s16 PCM.

Output rate and format: **16 kHz, signed 16-bit, one array row per channel.** Call audio is
8 kHz narrowband (speech up to 4 kHz) or 16 kHz wideband (up to 8 kHz); 16 kHz keeps all of
either, and higher rates add only bytes: 5 s of 16 kHz s16 mono is 160 KB of WAV (≈213 KB
base64) against 441 KB at 44.1 kHz, and the speech models gain nothing from the extra band.
Plain 16-bit PCM has no encoder delay or priming, so a payload's first sample is exactly
where its offset says. A 16 kHz source is passed through without resampling.

Channels are kept apart (agent / customer on a 2-channel call) or averaged to mono.
Memory stays bounded: one decoded frame and one resampled block at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import av
import av.container
import av.error
import numpy as np
import numpy.typing as npt

from worker.media.errors import CorruptMedia, NoAudioStream, UnsupportedCodec, ZeroDuration
from worker.media.source import MediaFile

__all__ = [
    "TARGET_RATE",
    "AudioInfo",
    "DecodedAudio",
    "Pcm",
    "channel_label",
    "decode_audio",
]

#: Output sample rate in Hz (see the module docstring for why).
TARGET_RATE: Final = 16_000

#: Samples per resampled block handed to the chunker (0.5 s at 16 kHz): few Python calls
#: per second of audio, little memory.
BLOCK_SAMPLES: Final = 8192

# A jump in timestamps longer than this is a gap (a dropped packet), not jitter; the
# shortest packet that can go missing is about 20 ms (Opus), most are longer.
GAP_TOLERANCE_S: Final = 0.015

# A decode that ends this much short of the container's declared duration is reported.
_TRUNCATION_TOLERANCE_S: Final = 0.5
_TRUNCATION_TOLERANCE_FRACTION: Final = 0.02

Pcm = npt.NDArray[np.int16]
"""Signed 16-bit samples, shape (channels, n)."""

_SPLIT_LABELS: Final = ("agent", "customer")

# RIFF-family containers of a WAVE: "RIFF" <size> "WAVE" (RIFX big-endian, RF64/BW64 large).
_WAV_MAGIC: Final = (b"RIFF", b"RIFX", b"RF64", b"BW64")
_WAV_HEAD_BYTES: Final = 12


def channel_label(index: int, total: int) -> str:
    """The name of output channel `index` of `total`: "mono", "agent", "customer", "ch2"…"""
    if total == 1:
        return "mono"
    return _SPLIT_LABELS[index] if index < len(_SPLIT_LABELS) else f"ch{index}"


@dataclass(frozen=True)
class AudioInfo:
    """The audio stream as found, and the output it is decoded to."""

    container: str
    codec: str
    source_rate: int
    source_channels: int
    declared_duration_s: float | None
    rate: int
    #: source channel index of each output row (empty when mixed to mono)
    channels: tuple[int, ...]
    #: label of each output row, same order
    labels: tuple[str, ...]


class DecodedAudio:
    """A decoder over one audio stream; `blocks()` yields PCM as it is decoded.

    After `blocks()` is exhausted, `samples` is the decoded length per channel and
    `warnings` says what was odd but not fatal (e.g. a file shorter than it declares).
    """

    def __init__(
        self,
        media: MediaFile,
        container: av.container.InputContainer,
        stream: av.AudioStream,
        info: AudioInfo,
    ) -> None:
        self._uri = media.uri
        self._container = container
        self._stream = stream
        self.info = info
        self.samples = 0
        self.warnings: list[str] = []
        # (where, how long) in seconds of each timestamp gap filled with silence
        self._gaps: list[tuple[float, float]] = []
        every = tuple(range(info.source_channels))
        self._rows = list(info.channels) if info.channels and info.channels != every else None

    @property
    def duration_s(self) -> float:
        """Seconds decoded so far (all of the file once `blocks()` is exhausted)."""
        return self.samples / self.info.rate

    def blocks(self) -> Iterator[Pcm]:
        """PCM blocks of shape (len(info.labels), n), in order, covering the whole stream.

        A gap in the stream's timestamps (a packet the decoder dropped) is filled with
        silence, so every later sample stays at its place on the file's time axis.
        Raises `CorruptMedia` on undecodable data and `ZeroDuration` when nothing decodes.
        """
        resampler: av.AudioResampler | None = None
        shape: tuple[str, str, int] | None = None
        origin: float | None = None
        fed_s = 0.0  # source audio given to the resampler, in seconds
        try:
            for frame in self._container.decode(self._stream):
                frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                if frame_shape != shape:
                    if frame.layout.nb_channels != self.info.source_channels:
                        raise CorruptMedia(
                            self._uri,
                            f"the channel count changes at {self.duration_s:.2f} s "
                            f"({self.info.source_channels} → {frame.layout.nb_channels})",
                        )
                    if resampler is not None:
                        yield from self._take(resampler.resample(None))
                    resampler = av.AudioResampler(
                        format="s16p", rate=self.info.rate, frame_size=BLOCK_SAMPLES
                    )
                    shape = frame_shape
                assert resampler is not None
                time = frame.time
                if time is not None:
                    origin = time if origin is None else origin
                    gap = time - origin - fed_s
                    if gap > GAP_TOLERANCE_S:
                        self._gaps.append((fed_s, gap))
                        filler = _silence_like(frame, round(gap * frame.sample_rate))
                        fed_s += filler.samples / filler.sample_rate
                        yield from self._take(resampler.resample(filler))
                fed_s += frame.samples / frame.sample_rate
                frame.pts = None  # the resampler counts samples; gaps are handled above
                yield from self._take(resampler.resample(frame))
            if resampler is not None:
                yield from self._take(resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise CorruptMedia(
                self._uri,
                f"undecodable audio data after {self.duration_s:.2f} s: {exc.strerror}",
            ) from exc
        if self.samples == 0:
            raise ZeroDuration(self._uri, "the audio stream holds no samples")
        self._report_gaps()
        self._check_length()

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> DecodedAudio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _take(self, frames: list[av.AudioFrame]) -> Iterator[Pcm]:
        for frame in frames:
            pcm: Pcm = np.vstack(
                [np.frombuffer(memoryview(p), np.int16, frame.samples) for p in _planes(frame)]
            )
            if not self.info.channels:
                pcm = (pcm.sum(axis=0, dtype=np.int32) // pcm.shape[0]).astype(np.int16)[
                    np.newaxis, :
                ]
            elif self._rows is not None:
                pcm = pcm[self._rows]
            self.samples += pcm.shape[1]
            yield pcm

    def _report_gaps(self) -> None:
        if self._gaps:
            at, _ = self._gaps[0]
            total = sum(gap for _, gap in self._gaps)
            self.warnings.append(
                f"gaps: {len(self._gaps)} gap(s) in the audio ({total:.2f} s in all, "
                f"the first at {at:.2f} s) filled with silence"
            )

    def _check_length(self) -> None:
        declared = self.info.declared_duration_s
        if declared is None:
            return
        tolerance = max(_TRUNCATION_TOLERANCE_S, declared * _TRUNCATION_TOLERANCE_FRACTION)
        if self.duration_s < declared - tolerance:
            self.warnings.append(
                f"truncated: decoded {self.duration_s:.2f} s of a declared {declared:.2f} s"
            )


def decode_audio(
    media: MediaFile,
    *,
    rate: int = TARGET_RATE,
    split_channels: bool = True,
    channels: Sequence[int] | None = None,
) -> DecodedAudio:
    """Open the best audio stream of `media` for decoding to `rate` Hz s16.

    split_channels: one output row per channel; False averages all channels into one ("mono").
    channels: keep only these source channels when splitting, e.g. `[1]` for the customer.

    Raises `CorruptMedia` (not a media file / damaged header), `NoAudioStream`,
    `UnsupportedCodec`; a bad `channels` selection is a `ValueError`.
    """
    try:
        container = av.open(media.file, mode="r", options=_probe_options(media))
    except av.error.EOFError as exc:
        raise CorruptMedia(media.uri, "the file ends before any media data (truncated)") from exc
    except av.error.FFmpegError as exc:
        raise CorruptMedia(
            media.uri, f"not a media file FFmpeg can read, or its header is damaged: {exc.strerror}"
        ) from exc
    try:
        stream = _audio_stream(media, container)
        info = _info(container, stream, rate, split_channels, channels)
    except BaseException:
        container.close()
        raise
    return DecodedAudio(media, container, stream, info)


def _audio_stream(media: MediaFile, container: av.container.InputContainer) -> av.AudioStream:
    if not container.streams.audio:
        kinds = ", ".join(s.type for s in container.streams) or "none"
        raise NoAudioStream(media.uri, f"the file has no audio stream (streams: {kinds})")
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise UnsupportedCodec(
            media.uri, f"no decoder for the audio codec of stream #{stream.index}"
        )
    return stream


def _probe_options(media: MediaFile) -> dict[str, str]:
    """FFmpeg options for opening `media`: a WAV header names codec, rate and channels, so
    FFmpeg's stream probing (about 3 ms per file, whatever its length) adds nothing to it;
    other formats get the default probing, which some of them need."""
    head = media.file.read(_WAV_HEAD_BYTES)
    media.file.seek(0)
    if head[:4] in _WAV_MAGIC and head[8:12] == b"WAVE":
        return {"probesize": "32"}
    return {}


def _info(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    rate: int,
    split_channels: bool,
    channels: Sequence[int] | None,
) -> AudioInfo:
    total = stream.codec_context.channels
    if not split_channels:
        kept: tuple[int, ...] = ()
        labels: tuple[str, ...] = ("mono",)
    else:
        kept = tuple(channels) if channels is not None else tuple(range(total))
        bad = [c for c in kept if not 0 <= c < total]
        if bad or not kept:
            raise ValueError(f"channels {list(kept)}: the file has channels 0..{total - 1}")
        labels = tuple(channel_label(c, total) for c in kept)
    return AudioInfo(
        container=container.format.name,
        codec=stream.codec_context.name,
        source_rate=stream.codec_context.sample_rate,
        source_channels=total,
        declared_duration_s=_declared_duration(container, stream),
        rate=rate,
        channels=kept,
        labels=labels,
    )


def _silence_like(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """A frame of `samples` zero samples in the format, layout and rate of `frame`."""
    filler = av.AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=samples)
    filler.sample_rate = frame.sample_rate
    for plane in _planes(filler):
        plane.update(bytes(plane.buffer_size))
    return filler


def _planes(frame: av.AudioFrame) -> tuple[av.audio.plane.AudioPlane, ...]:
    """The frame's own planes. PyAV's `planes` (and `to_ndarray`) count data pointers up to
    the first null one, which from 8 planar channels on runs past the frame's: reading the
    extra "plane" crashed the process on every 7.1 recording."""
    return frame.planes[: frame.layout.nb_channels if frame.format.is_planar else 1]


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None
