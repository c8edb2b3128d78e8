"""Audio for the emulator's models: decode to mono 16 kHz float, find voiced regions,
measure acoustic features. Pure functions over bytes and arrays (PyAV decodes in memory).

Voice activity is energy based, on 20 ms frames: a frame is voiced when its RMS level is
above `max(-50 dBFS, min(peak - 6 dB, max(peak - 30 dB, floor + 6 dB)))`, where `peak` and
`floor` are the loudest frame and the 10th-percentile frame of the analysed audio. Voiced
runs closer than 300 ms are merged (pauses between words), and runs shorter than 100 ms are
dropped (clicks). A steady tone therefore counts as voice: the emulator has no notion of
speech beyond energy, which is what tests need (speech and silence at known offsets).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from emulator.errors import ApiError
from hume_stream.errors import Code

__all__ = [
    "RATE",
    "AcousticFeatures",
    "DecodedAudio",
    "Region",
    "VoiceTracker",
    "decode_audio",
    "features",
    "voice_threshold_db",
    "voiced_regions",
]

Mono = npt.NDArray[np.float32]

#: Sample rate everything is analysed at.
RATE = 16_000
FRAME = RATE // 50  # 20 ms
ABS_FLOOR_DB = -50.0
MERGE_GAP_S = 0.3
MIN_REGION_S = 0.1
MERGE_FRAMES = round(MERGE_GAP_S * 50)
MIN_FRAMES = round(MIN_REGION_S * 50)


@dataclass(frozen=True)
class DecodedAudio:
    """Mono samples at `RATE`, and the duration measured at the source's own rate."""

    samples: Mono
    duration_ms: float


@dataclass(frozen=True)
class Region:
    """A voiced stretch, in samples at `RATE` (end exclusive)."""

    begin: int
    end: int

    @property
    def begin_s(self) -> float:
        return self.begin / RATE

    @property
    def end_s(self) -> float:
        return self.end / RATE

    @property
    def seconds(self) -> float:
        return (self.end - self.begin) / RATE


@dataclass(frozen=True)
class AcousticFeatures:
    """What the prosody and burst scores are computed from."""

    level_db: float  # mean RMS level in dBFS
    level_spread_db: float  # standard deviation of the frame levels
    zero_crossing_rate: float  # crossings per sample
    centroid_hz: float  # spectral centroid
    pitch_hz: float  # median autocorrelation pitch of periodic frames, 0 when none
    seconds: float

    def scaled(self) -> dict[str, float]:
        """Features centred and scaled to roughly [-2, 2] for `scoring.label_scores`."""
        return {
            "level": _clip((self.level_db + 25.0) / 12.0),
            "spread": _clip((self.level_spread_db - 6.0) / 4.0),
            "zcr": _clip((self.zero_crossing_rate - 0.08) / 0.06),
            "centroid": _clip((self.centroid_hz - 1500.0) / 900.0),
            "pitch": _clip((self.pitch_hz - 170.0) / 70.0) if self.pitch_hz else -1.0,
            "duration": _clip((self.seconds - 1.5) / 1.2),
        }


def decode_audio(data: bytes) -> DecodedAudio:
    """Decode the first audio stream of a media file to mono float at 16 kHz.

    Raises `ApiError(E0200)` when the bytes are no media PyAV can read and `E0202` when
    there is no audio stream or it holds no samples.
    """
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise ApiError(Code.UNPARSEABLE_MEDIA, _unparseable(exc)) from None
    with container:
        if not container.streams.audio:
            raise ApiError(Code.NO_AUDIO_SIGNAL, "No audio signal could be read from the media.")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks: list[Mono] = []
        source_seconds = 0.0
        try:
            for frame in container.decode(stream):
                if frame.sample_rate:
                    source_seconds += frame.samples / frame.sample_rate
                chunks.extend(_plane(f) for f in resampler.resample(frame))
            chunks.extend(_plane(f) for f in resampler.resample(None))
        except (av.FFmpegError, ValueError) as exc:
            raise ApiError(Code.UNPARSEABLE_MEDIA, _unparseable(exc)) from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size == 0:
        raise ApiError(Code.NO_AUDIO_SIGNAL, "No audio signal could be read from the media.")
    return DecodedAudio(samples=samples, duration_ms=round(source_seconds * 1000.0, 3))


def voiced_regions(samples: Mono) -> list[Region]:
    """Voiced stretches of 16 kHz mono audio (see the module docstring for the rule)."""
    levels = _frame_levels_db(samples)
    if levels.size == 0:
        return []
    voiced = levels > voice_threshold_db(levels)
    runs: list[list[int]] = []
    for index in np.flatnonzero(voiced):
        if runs and index - runs[-1][1] <= MERGE_FRAMES:
            runs[-1][1] = int(index) + 1
        else:
            runs.append([int(index), int(index) + 1])
    return [
        Region(begin * FRAME, min(end * FRAME, samples.size))
        for begin, end in runs
        if end - begin >= MIN_FRAMES
    ]


def voice_threshold_db(levels: npt.NDArray[np.float64]) -> float:
    """The level (dBFS) above which a 20 ms frame counts as voiced, given the frame levels
    it is judged among (see the module docstring)."""
    peak = float(levels.max())
    floor = float(np.percentile(levels, 10))
    return max(ABS_FLOOR_DB, min(peak - 6.0, max(peak - 30.0, floor + 6.0)))


class VoiceTracker:
    """Voice activity of a stream that grows, decided as the audio arrives.

    The rule of `voiced_regions`, made causal: each 20 ms frame is judged against the
    threshold of the last `HISTORY_S` of frame levels (itself included); a voiced run
    starts at its first voiced frame, continues over pauses of at most 300 ms, and counts
    once it spans 100 ms. So a region is *confirmed* 100 ms after it begins and *ended*
    just over 300 ms after its last voiced frame. `feed` returns what changed, as sample
    positions from the start of the stream.
    """

    #: Seconds of frame levels the threshold is taken over (the stream's recent loudness).
    HISTORY_S = 30.0

    def __init__(self) -> None:
        self._levels = np.zeros(0)
        self._carry = np.zeros(0, dtype=np.float32)
        self._frames = 0  # 20 ms frames judged so far
        self._run: list[int] | None = None  # [begin, end) in frames
        self._confirmed = False

    @property
    def in_voice(self) -> bool:
        """Whether a confirmed region is open (begun and not yet ended)."""
        return self._run is not None and self._confirmed

    def feed(self, samples: Mono) -> list[tuple[str, int, int]]:
        """Judge the new samples; returns ``("start", begin, frame_end)`` when a region is
        confirmed and ``("end", end, frame_end)`` when one ends, in order, where
        `frame_end` is the stream position at which it was decided."""
        joined = np.concatenate([self._carry, samples]) if self._carry.size else samples
        whole = joined.size // FRAME * FRAME
        self._carry = joined[whole:].copy()
        new = _frame_levels_db(joined[:whole])
        if new.size == 0:
            return []
        keep = round(self.HISTORY_S * 50)
        self._levels = np.concatenate([self._levels, new])[-keep:]
        voiced = new > voice_threshold_db(self._levels)
        changes: list[tuple[str, int, int]] = []
        for is_voiced in voiced:
            index = self._frames
            self._frames += 1
            change = self._step(index, bool(is_voiced))
            if change is not None:
                changes.append((change[0], change[1] * FRAME, self._frames * FRAME))
        return changes

    def finish(self) -> int | None:
        """End the stream: the end (in samples) of a confirmed region still open, else None."""
        run, confirmed = self._run, self._confirmed
        self._run, self._confirmed = None, False
        return run[1] * FRAME if run is not None and confirmed else None

    def _step(self, index: int, voiced: bool) -> tuple[str, int] | None:
        run = self._run
        if voiced:
            if run is None:
                self._run, self._confirmed = [index, index + 1], False
                run = self._run
            else:
                run[1] = index + 1
            if not self._confirmed and run[1] - run[0] >= MIN_FRAMES:
                self._confirmed = True
                return ("start", run[0])
            return None
        if run is not None and index + 1 - run[1] > MERGE_FRAMES:
            self._run = None
            if self._confirmed:
                self._confirmed = False
                return ("end", run[1])
        return None


def features(segment: Mono) -> AcousticFeatures:
    """Acoustic features of one stretch of 16 kHz mono audio."""
    levels = _frame_levels_db(segment)
    level = float(levels.mean()) if levels.size else ABS_FLOOR_DB
    spread = float(levels.std()) if levels.size else 0.0
    signs = np.signbit(segment)
    zcr = float(np.count_nonzero(signs[1:] != signs[:-1]) / max(1, segment.size - 1))
    return AcousticFeatures(
        level_db=level,
        level_spread_db=spread,
        zero_crossing_rate=zcr,
        centroid_hz=_centroid(segment),
        pitch_hz=_pitch(segment),
        seconds=segment.size / RATE,
    )


def _plane(frame: av.AudioFrame) -> Mono:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def _unparseable(exc: Exception) -> str:
    return f"The media could not be parsed as a known audio, video or image format ({exc})."


def _frame_levels_db(samples: Mono) -> npt.NDArray[np.float64]:
    n = samples.size // FRAME
    if n == 0:
        return np.zeros(0)
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return np.asarray(20.0 * np.log10(rms + 1e-10))


def _centroid(segment: Mono) -> float:
    if segment.size < 2:
        return 0.0
    spectrum = np.abs(np.fft.rfft(segment.astype(np.float64)))
    total = float(spectrum.sum())
    if total <= 0:
        return 0.0
    freqs = np.fft.rfftfreq(segment.size, 1.0 / RATE)
    return float((freqs * spectrum).sum() / total)


def _pitch(segment: Mono, window: int = 640, hop: int = 1600) -> float:
    """Median autocorrelation pitch (60-400 Hz) over periodic 40 ms windows, 0 if none."""
    lo, hi = RATE // 400, RATE // 60
    pitches = []
    for start in range(0, segment.size - window + 1, hop):
        x = segment[start : start + window].astype(np.float64)
        x = x - x.mean()
        energy = float(np.dot(x, x))
        if energy < 1e-6:
            continue
        spectrum = np.fft.rfft(x, 2 * window)
        corr = np.fft.irfft(spectrum * np.conj(spectrum))[:window]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] / energy > 0.3:
            pitches.append(RATE / lag)
    return float(np.median(pitches)) if pitches else 0.0


def _clip(x: float, bound: float = 2.0) -> float:
    return max(-bound, min(bound, x))
