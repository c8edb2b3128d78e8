"""Media made at test time that the shared `media` fixture does not make: exact PCM WAV,
long patterned calls, video with and without sound; and readers for chunk payloads."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from worker.media import Chunk, SkippedSpan

Int16 = npt.NDArray[np.int16]


def write_wav(path: Path, samples: Int16, rate: int) -> Path:
    """A 16-bit PCM WAV with exactly these samples, shape (channels, n)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples.T).astype("<i2").tobytes())
    return path


def bursts(seconds: float, rate: int, spans: Sequence[tuple[float, float]], seed: int = 0) -> Int16:
    """Mono noise (about -17 dBFS RMS) during `spans` (begin, end in seconds), digital silence
    elsewhere: a stand-in for speech whose loud and quiet parts are known exactly."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * rate), dtype=np.int16)
    for begin, end in spans:
        a, b = round(begin * rate), round(end * rate)
        out[a:b] = rng.integers(-8000, 8000, b - a, dtype=np.int16)
    return out


def write_long_call(path: Path, minutes: int, rate: int = 8000) -> Path:
    """A stereo call of `minutes`: every 10 s the agent speaks 0-3 s, the customer 4-7 s.

    Written block by block (one 10 s pattern repeated), so it costs little memory or time.
    """
    if path.exists():
        return path
    pattern = np.stack([bursts(10, rate, [(0, 3)], seed=1), bursts(10, rate, [(4, 7)], seed=2)])
    frames = np.ascontiguousarray(pattern.T).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(minutes * 6):
            w.writeframes(frames)
    return path


def write_video(path: Path, with_audio: bool, seconds: float = 2.0) -> Path:
    """A small MP4 (MPEG-4 video + AAC) or WebM (VP8 + Opus) with a moving picture and,
    if asked, a stereo tone; the container follows the suffix."""
    webm = path.suffix == ".webm"
    rate, fps = 48000, 10
    with av.open(str(path), "w", format="webm" if webm else "mp4") as container:
        video = container.add_stream("libvpx" if webm else "mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = (
            container.add_stream("libopus" if webm else "aac", rate=rate, layout="stereo")
            if with_audio
            else None
        )
        for i in range(round(seconds * fps)):
            picture = np.full((48, 64, 3), (i * 20) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            t = np.arange(round(seconds * rate)) / rate
            tone = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            step = 960
            for start in range(0, tone.size, step):
                block = np.stack([tone[start : start + step]] * 2)
                aframe = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                aframe.rate, aframe.pts, aframe.time_base = rate, start, Fraction(1, rate)
                container.mux(audio.encode(aframe))
            container.mux(audio.encode(None))
    return path


def drop_packets(source: Path, target: Path, begin: float, end: float) -> Path:
    """Copy the audio packets of `source` into a Matroska file, leaving out those that start
    in [begin, end) seconds: a stream with a hole that only its timestamps reveal."""
    with av.open(str(source)) as src, av.open(str(target), "w", format="matroska") as dst:
        audio = src.streams.audio[0]
        out = dst.add_stream_from_template(audio)
        for packet in src.demux(audio):
            if packet.pts is None or begin <= float(packet.pts * packet.time_base) < end:
                continue
            packet.stream = out
            dst.mux(packet)
    return target


def read_wav(payload: bytes) -> tuple[int, Int16]:
    """(rate, mono samples) of a chunk's WAV payload; asserts it is mono 16-bit PCM."""
    with wave.open(io.BytesIO(payload)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getcomptype()) == (1, 2, "NONE")
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def spans_by_channel(
    items: Iterable[Chunk | SkippedSpan],
) -> dict[int, list[Chunk | SkippedSpan]]:
    """Chunks and skipped spans grouped per channel, each list sorted by start."""
    out: dict[int, list[Chunk | SkippedSpan]] = {}
    for item in items:
        out.setdefault(item.channel, []).append(item)
    return {ch: sorted(spans, key=lambda s: s.start) for ch, spans in out.items()}


def assert_tiles(spans: Sequence[Chunk | SkippedSpan], total: int) -> None:
    """The spans cover 0..total exactly: contiguous, no overlap, no gap."""
    position = 0
    for span in spans:
        assert span.start == position, f"gap or overlap at sample {position}: {span}"
        assert span.length > 0
        position = span.end
    assert position == total
