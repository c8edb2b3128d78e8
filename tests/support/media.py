"""Real media files made at test time (espeak-ng speech, tones, silence; any container)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samples import synth
from samples.synth import Samples, Utterance

__all__ = ["MediaFactory", "Utterance"]


class MediaFactory:
    """Writes media into one directory; the same request returns the same cached file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, kind: str, suffix: str, *parts: object) -> Path:
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
        return self.directory / f"{kind}-{digest}.{suffix}"

    def _write(self, path: Path, samples: Samples, rate: int, suffix: str) -> Path:
        if not path.exists():
            synth.write(path, samples, rate, suffix)
        return path

    def call(
        self,
        utterances: Sequence[Utterance],
        seconds: float,
        rate: int = 8000,
        channels: int = 2,
        suffix: str = "wav",
    ) -> Path:
        """A call with speech at known offsets on known channels."""
        path = self._path("call", suffix, tuple(utterances), seconds, rate, channels)
        if path.exists():
            return path
        return self._write(path, synth.call(utterances, seconds, rate, channels), rate, suffix)

    def speech(self, text: str, rate: int = 16000, suffix: str = "wav", lead: float = 0.0) -> Path:
        """Mono speech, optionally preceded by `lead` seconds of silence."""
        path = self._path("speech", suffix, text, rate, lead)
        if path.exists():
            return path
        speech = synth.speak(text, rate)
        samples = np.concatenate([synth.silence(lead, rate), speech], axis=1)
        return self._write(path, samples, rate, suffix)

    def tone(
        self,
        seconds: float,
        rate: int = 16000,
        freq: float = 440.0,
        channels: int = 1,
        only_channel: int | None = None,
        suffix: str = "wav",
    ) -> Path:
        """A tone on every channel, or on `only_channel` with the others silent."""
        path = self._path("tone", suffix, seconds, rate, freq, channels, only_channel)
        if path.exists():
            return path
        mono = synth.tone(freq, seconds, rate)[0]
        samples = synth.silence(seconds, rate, channels)
        for ch in range(channels):
            if only_channel is None or ch == only_channel:
                samples[ch] = mono
        return self._write(path, samples, rate, suffix)

    def silence(
        self, seconds: float, rate: int = 16000, channels: int = 1, suffix: str = "wav"
    ) -> Path:
        path = self._path("silence", suffix, seconds, rate, channels)
        return self._write(path, synth.silence(seconds, rate, channels), rate, suffix)

    def raw(self, name: str, content: bytes) -> Path:
        """A file with exactly these bytes (corrupt media, text with an audio suffix, …)."""
        path = self.directory / name
        path.write_bytes(content)
        return path
