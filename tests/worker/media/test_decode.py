"""Decoding every format a call center produces, channel handling, and bad media."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support.media import MediaFactory, Utterance
from tests.worker.media.helpers import (
    assert_tiles,
    drop_packets,
    read_wav,
    spans_by_channel,
    write_long_call,
    write_video,
    write_wav,
)
from worker.media import (
    Chunk,
    ChunkOptions,
    CorruptMedia,
    EmptyMedia,
    MediaError,
    MediaOptions,
    NoAudioStream,
    UnsupportedCodec,
    ZeroDuration,
    decode,
    decode_audio,
    open_media,
    stream_chunks,
)

RATE = 16000

# suffix → (decoder name, whether the decoded length is exact)
FORMATS = {
    "wav": ("pcm_s16le", True),
    "ulaw.wav": ("pcm_mulaw", True),
    "alaw.wav": ("pcm_alaw", True),
    "flac": ("flac", True),
    "mp3": ("mp3float", False),
    "ogg": ("opus", False),
    "m4a": ("aac", False),
}


def collect(path: Path, **options: object) -> tuple[list[Chunk], object]:
    with stream_chunks(str(path), MediaOptions(**options)) as media:  # type: ignore[arg-type]
        return list(media), media


def tone_level(chunks: list[Chunk]) -> float:
    """RMS of all chunks' samples, relative to full scale."""
    samples = np.concatenate([read_wav(c.wav)[1] for c in chunks]).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)) / 32768)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (16000, 2)])
def test_each_format_decodes_to_16k_pcm_per_channel(
    media: MediaFactory, suffix: str, rate: int, channels: int
) -> None:
    path = media.tone(3.0, rate=rate, channels=channels, suffix=suffix)
    codec, exact = FORMATS[suffix]

    chunks, stream = collect(path)

    info = stream.info  # type: ignore[attr-defined]
    # Opus always decodes at 48 kHz, whatever rate it was made from
    source_rate = 48000 if codec == "opus" else rate
    assert (info.codec, info.source_rate, info.source_channels) == (codec, source_rate, channels)
    assert info.rate == RATE
    labels = ("mono",) if channels == 1 else ("agent", "customer")
    assert info.labels == labels
    assert {c.label for c in chunks} == set(labels)
    total = stream.samples  # type: ignore[attr-defined]
    if exact:
        assert total == 3 * RATE
    else:  # priming is trimmed; the last frame may be padded (an AAC frame is 128 ms at 8 kHz)
        assert 3 * RATE <= total <= 3.15 * RATE
    for spans in spans_by_channel(chunks).values():
        assert_tiles(spans, total)
    # a 0.5-amplitude sine has an RMS of about 0.354
    assert tone_level(chunks) == pytest.approx(0.354, abs=0.03)
    assert stream.warnings == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_sample_rates_are_converted_to_16k(media: MediaFactory, rate: int) -> None:
    path = media.tone(2.5, rate=rate, channels=2, suffix="flac")

    chunks, stream = collect(path)

    assert stream.info.source_rate == rate  # type: ignore[attr-defined]
    assert abs(stream.samples - 2.5 * RATE) <= 2  # type: ignore[attr-defined]
    assert tone_level(chunks) == pytest.approx(0.354, abs=0.02)


def test_speech_lands_on_its_speaker_channel(media: MediaFactory) -> None:
    path = media.call(
        [Utterance(0, 0.5, "Thank you for calling"), Utterance(1, 6.0, "My bill is wrong")],
        seconds=10.0,
        rate=8000,
        suffix="mp3",
    )

    chunks, stream = collect(path, chunk=ChunkOptions(chunk_ms=2000, silence_cut_ms=0))

    agent = [c for c in chunks if c.label == "agent"]
    customer = [c for c in chunks if c.label == "customer"]
    assert agent and customer
    assert agent[0].start_s < 1.0 and all(c.start_s < 6.0 for c in agent)
    assert all(c.end_s > 6.0 for c in customer)
    skipped = {(s.label, s.start_s) for s in stream.skipped}  # type: ignore[attr-defined]
    assert ("customer", 0.0) in skipped


def test_mixing_averages_the_channels_to_mono(media: MediaFactory) -> None:
    path = media.tone(3.0, rate=RATE, channels=2, only_channel=1)

    chunks, stream = collect(path, split_channels=False)

    assert stream.info.labels == ("mono",)  # type: ignore[attr-defined]
    assert {(c.channel, c.label) for c in chunks} == {(0, "mono")}
    assert tone_level(chunks) == pytest.approx(0.354 / 2, abs=0.01)


def test_a_selected_channel_is_decoded_alone(media: MediaFactory) -> None:
    path = media.tone(3.0, rate=RATE, channels=3, only_channel=2, suffix="flac")

    chunks, stream = collect(path, channels=(2,))

    assert stream.info.labels == ("ch2",)  # type: ignore[attr-defined]
    assert {(c.channel, c.label) for c in chunks} == {(2, "ch2")}
    assert stream.skipped == []  # type: ignore[attr-defined]


def test_a_channel_the_file_lacks_is_refused(media: MediaFactory) -> None:
    path = media.tone(1.0, rate=RATE, channels=2)
    with pytest.raises(ValueError, match=r"channels \[2\]: the file has channels 0\.\.1"):
        collect(path, channels=(2,))


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
def test_the_audio_track_of_a_video_is_used(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"clip.{suffix}", with_audio=True)

    chunks, stream = collect(path)

    assert stream.info.labels == ("agent", "customer")  # type: ignore[attr-defined]
    assert abs(stream.duration_s - 2.0) < 0.1  # type: ignore[attr-defined]
    assert tone_level(chunks) == pytest.approx(0.4 / 2**0.5, abs=0.05)


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
def test_a_video_without_sound_has_no_audio_stream(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"mute.{suffix}", with_audio=False)

    with pytest.raises(NoAudioStream, match="no audio stream") as caught:
        collect(path)

    assert caught.value.code == "no_audio_stream"
    assert caught.value.uri == str(path)
    assert "video" in caught.value.reason


def test_a_long_call_is_decoded_in_bounded_steps(tmp_path: Path) -> None:
    # 30 minutes, stereo, 8 kHz: resampled, split, chunked; silence between turns skipped.
    path = write_long_call(tmp_path / "long.wav", minutes=30)

    with stream_chunks(str(path)) as stream:
        chunks = list(stream)

    total = 30 * 60 * RATE
    assert stream.samples == total
    spans = spans_by_channel([*chunks, *stream.skipped])
    for channel in (0, 1):
        assert_tiles(spans[channel], total)
    assert max(c.length for c in chunks) <= 5 * RATE
    # each channel speaks 3 s in every 10 s: about every other 5 s chunk is silent
    for channel in (0, 1):
        sent = sum(c.length for c in chunks if c.channel == channel)
        assert 0.45 < sent / total < 0.55
    assert {c.index for c in chunks} == set(range(len(chunks)))


# ---------------------------------------------------------------- bad media


def test_text_named_mp3_is_corrupt(media: MediaFactory) -> None:
    path = media.raw("notes.mp3", b"this is a meeting note, not audio\n" * 50)

    with pytest.raises(CorruptMedia, match="not a media file") as caught:
        collect(path)

    assert caught.value.code == "corrupt"


def test_empty_file(media: MediaFactory) -> None:
    path = media.raw("empty.wav", b"")

    with pytest.raises(EmptyMedia, match="empty") as caught:
        collect(path)

    assert caught.value.code == "empty_file"


def test_damaged_packets_are_corrupt(media: MediaFactory, tmp_path: Path) -> None:
    data = bytearray(media.tone(3.0, rate=RATE, suffix="m4a").read_bytes())
    middle = len(data) // 3
    data[middle : middle + 2000] = np.random.default_rng(3).bytes(2000)
    path = tmp_path / "damaged.m4a"
    path.write_bytes(bytes(data))

    with pytest.raises(CorruptMedia, match=r"undecodable audio data after \d+\.\d\d s") as caught:
        collect(path)

    assert caught.value.code == "corrupt"


def test_a_hole_in_the_stream_is_filled_so_later_audio_keeps_its_time(
    media: MediaFactory, tmp_path: Path
) -> None:
    path = drop_packets(media.tone(4.0, rate=RATE, suffix="ogg"), tmp_path / "hole.mka", 1.0, 2.0)

    chunks, stream = collect(path, chunk=ChunkOptions(skip_silent=False))

    assert abs(stream.duration_s - 4.0) < 0.05  # type: ignore[attr-defined]
    (warning,) = stream.warnings  # type: ignore[attr-defined]
    assert warning.startswith("gaps: 1 gap(s)") and "the first at 1.0" in warning
    signal = np.concatenate([read_wav(c.wav)[1] for c in chunks])
    window = RATE // 100
    peaks = np.abs(signal[: signal.size // window * window]).reshape(-1, window).max(axis=1)
    quiet = np.flatnonzero(peaks < 100) / 100  # start of each silent 10 ms, in seconds
    # the dropped packets (20 ms each, from about 1.01 s to 2.01 s) became silence
    hole = quiet[(quiet > 0.5) & (quiet < 3.5)]
    assert abs(hole[0] - 1.01) < 0.02 and abs(hole[-1] - 2.0) < 0.02
    assert hole.size == round((hole[-1] - hole[0]) * 100) + 1
    assert np.abs(signal[round(2.05 * RATE) :]).max() > 10000


def test_a_file_cut_before_its_audio_is_corrupt(media: MediaFactory, tmp_path: Path) -> None:
    data = media.tone(3.0, rate=RATE, suffix="flac").read_bytes()
    path = tmp_path / "stub.flac"
    path.write_bytes(data[:100])

    with pytest.raises(CorruptMedia, match="truncated"):
        collect(path)


def test_an_m4a_cut_in_half_is_corrupt(media: MediaFactory, tmp_path: Path) -> None:
    # the index (moov) of this M4A is at the end: without it nothing can be read
    data = media.tone(3.0, rate=RATE, suffix="m4a").read_bytes()
    path = tmp_path / "half.m4a"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(CorruptMedia):
        collect(path)


def test_a_truncated_file_decodes_what_is_there_and_says_so(
    media: MediaFactory, tmp_path: Path
) -> None:
    # MP3 declares its length in its Xing header; a WAV's length follows its file size
    data = media.tone(6.0, rate=RATE, suffix="mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 3])

    chunks, stream = collect(path)

    assert 1.5 < stream.duration_s < 2.5  # type: ignore[attr-defined]
    assert_tiles(chunks, stream.samples)  # type: ignore[attr-defined]
    (warning,) = stream.warnings  # type: ignore[attr-defined]
    assert warning.startswith("truncated: decoded") and "of a declared 6.00 s" in warning


def test_a_wav_without_samples_has_zero_duration(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "nothing.wav", np.zeros((1, 0), np.int16), RATE)

    with pytest.raises(ZeroDuration, match="no samples") as caught:
        collect(path)

    assert caught.value.code == "zero_duration"


def test_a_codec_without_decoder_is_unsupported(media: MediaFactory, tmp_path: Path) -> None:
    data = bytearray(media.tone(1.0, rate=RATE).read_bytes())
    data[20:22] = struct.pack("<H", 0x7777)  # WAVE format tag that no decoder knows
    path = tmp_path / "odd.wav"
    path.write_bytes(bytes(data))

    with pytest.raises(UnsupportedCodec, match="no decoder") as caught:
        collect(path)

    assert caught.value.code == "unsupported_codec"


def test_decode_audio_can_be_used_on_its_own(media: MediaFactory) -> None:
    path = media.tone(1.0, rate=8000, channels=2)

    with open_media(str(path)) as source, decode_audio(source) as audio:
        blocks = list(audio.blocks())

    assert {b.shape[0] for b in blocks} == {2}
    assert {b.dtype for b in blocks} == {np.dtype(np.int16)}
    assert sum(b.shape[1] for b in blocks) == RATE == audio.samples


def test_every_media_error_names_uri_reason_and_code(media: MediaFactory) -> None:
    path = media.raw("bad.ogg", b"OggS" + bytes(200))

    with pytest.raises(MediaError) as caught:
        collect(path)

    error = caught.value
    assert str(error) == f"{path}: {error.reason} [{error.code}]"
    assert not error.retryable


# WAV files holding other codecs than plain PCM: (ffmpeg encoder, extra ffmpeg arguments)
WAV_CODECS = {
    "adpcm_ima_wav": [], "adpcm_ms": [], "gsm_ms": ["-ac", "1"], "libmp3lame": [],
    "pcm_f32le": [], "pcm_s24le": [], "pcm_u8": [],
    "rf64": ["-c:a", "pcm_s16le", "-rf64", "always"],
}  # fmt: skip


@pytest.mark.parametrize("codec", sorted(WAV_CODECS))
def test_a_wav_decodes_the_same_without_stream_probing(
    media: MediaFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """A WAV is opened without FFmpeg's stream probing (its header says it all): every
    codec a WAV can hold decodes to the same samples as with the probing."""
    source = media.tone(3.0, rate=8000, channels=2, suffix="wav")
    path = tmp_path / f"{codec}.wav"
    encoder = [] if codec == "rf64" else ["-c:a", codec]
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), *encoder, *WAV_CODECS[codec],
         str(path)],
        check=True,
    )  # fmt: skip
    with open_media(str(path)) as opened:
        assert decode._probe_options(opened) == {"probesize": "32"}
        assert opened.file.tell() == 0

    fast, fast_stream = collect(path)
    monkeypatch.setattr(decode, "_probe_options", lambda media: {})
    probed, probed_stream = collect(path)

    assert fast_stream.info == probed_stream.info  # type: ignore[attr-defined]
    assert [c.wav for c in fast] == [c.wav for c in probed]
    assert tone_level(fast) == pytest.approx(0.354, abs=0.05)


@pytest.mark.parametrize("suffix", ["mp3", "flac", "ogg", "m4a"])
def test_other_formats_keep_the_stream_probing(media: MediaFactory, suffix: str) -> None:
    with open_media(str(media.tone(1.0, suffix=suffix))) as opened:
        assert decode._probe_options(opened) == {}
        assert opened.file.tell() == 0
