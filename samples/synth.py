"""Synthesise call-like recordings: speech (espeak-ng), tones and silence, in any container.

Used by `samples/make_samples.py` for the bundled demo media, and by the tests and
benchmarks, which make their media at run time.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]  # shape (channels, n), values in [-1, 1]

# container format and audio codec for each file suffix we write
FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("wav", "pcm_s16le"),
    "ulaw.wav": ("wav", "pcm_mulaw"),
    "alaw.wav": ("wav", "pcm_alaw"),
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "libopus"),
    "opus": ("ogg", "libopus"),
    "m4a": ("ipod", "aac"),
}


@dataclass(frozen=True)
class Utterance:
    """Speech on one channel starting at `start` seconds."""

    channel: int
    start: float
    text: str


def speak(text: str, rate: int, voice: str = "en-us", words_per_minute: int = 160) -> Samples:
    """Speech for text from espeak-ng, mono, at the given sample rate."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is needed to make speech: apt-get install espeak-ng")
    # Arguments are a list (no shell); the text is data for espeak-ng, not a command.
    wav_bytes = subprocess.run(  # noqa: S603
        [binary, "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav_bytes)) as w:
        src_rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    speech = trim_silence(pcm / 32768.0)
    return resample(speech, src_rate, rate)[np.newaxis, :]


def trim_silence(x: npt.NDArray[np.float32], threshold: float = 1e-3) -> npt.NDArray[np.float32]:
    """Drop leading and trailing near-silence so an utterance starts where it is placed."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    return x[loud[0] : loud[-1] + 1] if loud.size else x[:0]


def resample(x: npt.NDArray[np.float32], src: int, dst: int) -> npt.NDArray[np.float32]:
    """Linear-interpolation resampling: good enough for synthetic test speech."""
    if src == dst or x.size == 0:
        return x.astype(np.float32)
    n = round(x.size * dst / src)
    t = np.arange(n, dtype=np.float64) * (src / dst)
    return np.interp(t, np.arange(x.size), x).astype(np.float32)


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> Samples:
    """A mono sine tone."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)[np.newaxis, :]


def silence(seconds: float, rate: int, channels: int = 1) -> Samples:
    return np.zeros((channels, round(seconds * rate)), dtype=np.float32)


def call(
    utterances: Sequence[Utterance], seconds: float, rate: int = 8000, channels: int = 2
) -> Samples:
    """A call of `seconds` with each utterance placed on its channel at its start time."""
    out = silence(seconds, rate, channels)
    for u in utterances:
        speech = speak(u.text, rate)[0]
        begin = round(u.start * rate)
        end = min(out.shape[1], begin + speech.size)
        out[u.channel, begin:end] += speech[: end - begin]
    return np.clip(out, -1.0, 1.0)


def write(path: Path, samples: Samples, rate: int, suffix: str | None = None) -> Path:
    """Encode samples (channels, n) to path; the container and codec follow the suffix."""
    key = suffix or _suffix(path)
    container_format, codec = FORMATS[key]
    channels = samples.shape[0]
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream), f"{codec} is not an audio codec"
        frame_len = 4096
        for start in range(0, samples.shape[1], frame_len):
            block = np.ascontiguousarray(samples[:, start : start + frame_len], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for key in sorted(FORMATS, key=len, reverse=True):
        if name.endswith("." + key):
            return key
    raise ValueError(f"{path}: no known audio format for this file name (know {sorted(FORMATS)})")
