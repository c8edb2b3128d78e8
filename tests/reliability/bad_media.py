"""Bad and odd media made at test time, each with the outcome the fleet owes it.

Every file is real bytes on disk or in a bucket; nothing is mocked. Makers that need no
speech are cheap, so the whole set is made in about a second.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samples import synth
from tests.support.media import MediaFactory, Utterance
from tests.worker.media.helpers import write_video, write_wav
from worker.jobs import State

#: 6 hours of 8 kHz mono 16-bit PCM: 345 MB, written sparse (digital silence costs no disk).
SIX_HOURS_S = 6 * 3600
SPEECH = [Utterance(0, 0.2, "Thank you for calling, how can I help?")]


@dataclass(frozen=True)
class BadMedia:
    """One file of the matrix: how to make it, and what the fleet must do with it."""

    id: str
    #: File name (object key below the batch's prefix); its extension is what the producer sees.
    name: str
    make: Callable[[MediaFactory, Path], None]
    state: State
    #: The error code a failed job carries (None for `done`).
    code: str | None = None
    #: A fragment of the error message, or of a warning of a `done` result.
    says: str = ""


def _bytes(content: bytes) -> Callable[[MediaFactory, Path], None]:
    def write(media: MediaFactory, path: Path) -> None:
        path.write_bytes(content)

    return write


def _copy(make: Callable[[MediaFactory], Path]) -> Callable[[MediaFactory, Path], None]:
    def write(media: MediaFactory, path: Path) -> None:
        path.write_bytes(make(media).read_bytes())

    return write


def _cut(make: Callable[[MediaFactory], Path], keep: float) -> Callable[[MediaFactory, Path], None]:
    def write(media: MediaFactory, path: Path) -> None:
        data = make(media).read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return write


def _call(suffix: str) -> Callable[[MediaFactory], Path]:
    return lambda media: media.call(SPEECH, seconds=4.0, channels=1, suffix=suffix)


def _wav_header(frames_claimed: int, rate: int = 8000, channels: int = 1, fmt: int = 1) -> bytes:
    """A canonical 44-byte WAV header claiming `frames_claimed` frames of 16-bit audio."""
    data = frames_claimed * channels * 2
    return (
        b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, fmt, channels, rate, rate * channels * 2,
                                channels * 2, 16)
        + b"data" + struct.pack("<I", data)
    )  # fmt: skip


def _samples(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-6000, 6000, (channels, round(seconds * rate)), dtype=np.int16)


def _silence(media: MediaFactory, path: Path) -> None:
    path.write_bytes(media.silence(30.0).read_bytes())


def _six_hours_of_silence(media: MediaFactory, path: Path) -> None:
    frames = SIX_HOURS_S * 8000
    with path.open("wb") as f:
        f.write(_wav_header(frames))
        f.truncate(44 + frames * 2)  # sparse: the zeros are never written


def _claims_six_hours(media: MediaFactory, path: Path) -> None:
    pcm = (_samples(2.0, 8000, 1)).tobytes()
    path.write_bytes(_wav_header(SIX_HOURS_S * 8000) + pcm)


def _one_sample(media: MediaFactory, path: Path) -> None:
    write_wav(path, np.array([[1000]], dtype=np.int16), 8000)


def _zero_frames(media: MediaFactory, path: Path) -> None:
    write_wav(path, np.zeros((1, 0), dtype=np.int16), 8000)


def _wide(media: MediaFactory, path: Path) -> None:
    """2 s of 96 kHz 7.1 (8 channels) FLAC, a tone of another loudness on each channel."""
    import av

    rate = 96000
    tone = synth.tone(300.0, 2.0, rate)[0]
    samples = np.stack([tone * (0.2 + 0.1 * ch) * 32767 for ch in range(8)]).astype(np.int16)
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="7.1")
        for start in range(0, samples.shape[1], 4096):
            # interleaved s16: PyAV 18 miscounts the planes of an 8-channel planar frame
            block = np.ascontiguousarray(samples[:, start : start + 4096].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="7.1")
            frame.rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _unknown_codec(media: MediaFactory, path: Path) -> None:
    path.write_bytes(_wav_header(8000, fmt=0x7F7F) + _samples(1.0, 8000, 1).tobytes())


def _one_silent_channel(media: MediaFactory, path: Path) -> None:
    synth.write(path, synth.call([Utterance(1, 0.3, "Hello?")], 3.0, 8000, 2), 8000, "wav")


def _png(media: MediaFactory, path: Path) -> None:
    import av

    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


def _video(with_audio: bool, suffix: str) -> Callable[[MediaFactory, Path], None]:
    def write(media: MediaFactory, path: Path) -> None:
        made = write_video(path.with_suffix(f".tmp.{suffix}"), with_audio)
        made.rename(path)

    return write


def _id3_only(media: MediaFactory, path: Path) -> None:
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16)


def _gzip_wav(media: MediaFactory, path: Path) -> None:
    path.write_bytes(gzip.compress(_call("wav")(media).read_bytes()))


def _ulaw(media: MediaFactory, path: Path) -> None:
    path.write_bytes(media.call(SPEECH, seconds=3.0, channels=1, suffix="ulaw.wav").read_bytes())


def _riff_no_data(media: MediaFactory, path: Path) -> None:
    header = _wav_header(0)
    path.write_bytes(header[:36])


def _clipped_square(media: MediaFactory, path: Path) -> None:
    square = np.where(np.arange(16000 * 2) % 40 < 20, 32767, -32768).astype(np.int16)
    write_wav(path, square[np.newaxis, :], 16000)


def _dc_offset(media: MediaFactory, path: Path) -> None:
    write_wav(path, np.full((1, 16000 * 2), 12000, dtype=np.int16), 16000)


def _wav_text(media: MediaFactory, path: Path) -> None:
    path.write_bytes(b"RIFF....WAVEfmt this is not a header, just text\n" * 10)


#: A good mono call (4 s of speech) and a web server's error page saved as audio.
call_wav = _copy(_call("wav"))
html_page = _bytes(b"<html><body>403 Forbidden</body></html>\n" * 8)
NOT_MEDIA = "not a media file FFmpeg can read"

#: Files a producer lists and the workers must each settle with a clear outcome.
LOCAL: tuple[BadMedia, ...] = (
    BadMedia("zero-frames", "zero-frames.wav", _zero_frames, State.FAILED, "zero_duration",
             "holds no samples"),
    BadMedia("pure-silence", "silence.wav", _silence, State.DONE),
    BadMedia("corrupt-header", "corrupt-header.wav", _wav_text, State.FAILED, "corrupt",
             NOT_MEDIA),
    BadMedia("truncated-mp3", "truncated.mp3", _cut(_call("mp3"), 0.4), State.FAILED,
             "corrupt", "undecodable audio data after"),
    BadMedia("truncated-flac", "truncated.flac", _cut(_call("flac"), 0.5), State.FAILED,
             "corrupt", "undecodable audio data after"),
    BadMedia("truncated-ogg", "truncated.ogg", _cut(_call("ogg"), 0.5), State.DONE),
    BadMedia("truncated-m4a", "truncated.m4a", _cut(_call("m4a"), 0.5), State.FAILED,
             "corrupt", "header is damaged"),
    BadMedia("truncated-wav", "truncated.wav", _cut(_call("wav"), 0.5), State.DONE),
    BadMedia("riff-without-data", "riff-no-data.wav", _riff_no_data, State.FAILED, "corrupt",
             NOT_MEDIA),
    BadMedia("video-without-audio", "no-sound.mp4", _video(False, "mp4"), State.FAILED,
             "no_audio_stream", "no audio stream (streams: video)"),
    BadMedia("webm-without-audio", "no-sound.webm", _video(False, "webm"), State.FAILED,
             "no_audio_stream", "no audio stream"),
    BadMedia("video-with-audio", "with-sound.mp4", _video(True, "mp4"), State.DONE),
    BadMedia("image-named-mp4", "picture.mp4", _png, State.FAILED, "no_audio_stream",
             "no audio stream"),
    BadMedia("text-named-wav", "notes.wav", _bytes(b"meeting notes, not audio\n" * 40),
             State.FAILED, "corrupt", NOT_MEDIA),
    BadMedia("html-named-mp3", "error-page.mp3", html_page, State.FAILED, "corrupt", NOT_MEDIA),
    BadMedia("gzip-named-wav", "archive.wav", _gzip_wav, State.FAILED, "corrupt", NOT_MEDIA),
    BadMedia("random-bytes-mp3", "noise.mp3", _bytes(np.random.default_rng(5).bytes(4096)),
             State.FAILED, "corrupt", NOT_MEDIA),
    BadMedia("id3-tag-only", "tag-only.mp3", _id3_only, State.FAILED, "corrupt", NOT_MEDIA),
    BadMedia("unknown-wav-codec", "codec.wav", _unknown_codec, State.FAILED,
             "unsupported_codec", "no decoder for the audio codec"),
    BadMedia("six-hours", "six-hours.wav", _six_hours_of_silence, State.DONE),
    BadMedia("claims-six-hours", "claims-six-hours.wav", _claims_six_hours, State.DONE),
    BadMedia("one-sample", "one-sample.wav", _one_sample, State.FAILED, "zero_duration",
             "holds no samples"),
    BadMedia("96khz-8-channels", "wide.flac", _wide, State.DONE),
    BadMedia("one-silent-channel", "one-sided.wav", _one_silent_channel, State.DONE),
    BadMedia("ulaw-8khz", "ulaw.wav", _ulaw, State.DONE),
    BadMedia("clipped-square", "square.wav", _clipped_square, State.DONE),
    BadMedia("dc-offset", "dc.wav", _dc_offset, State.DONE),
    BadMedia("unicode-name", "звонок 📞 café.wav", call_wav, State.DONE),
    BadMedia("percent-encoded-name", "a%20b%2Fc.wav", call_wav, State.DONE),
    BadMedia("shell-chars-name", "call #1 & $HOME's (copy).wav", call_wav, State.DONE),
    BadMedia("upper-case-extension", "LOUD.WAV", call_wav, State.DONE),
)  # fmt: skip
