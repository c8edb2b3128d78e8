"""Measuring payloads before sending: WAV headers by hand, other containers with PyAV."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable

import pytest

from hume_stream._media import MediaInfo, probe_media, probe_media_b64, wav_duration_ms
from tests.emulator.pictures import encode_image, encode_video, face_picture
from tests.support.media import MediaFactory


def wav(
    byte_rate: int, data: bytes, extra_chunks: bytes = b"", data_size: int | None = None
) -> bytes:
    """A RIFF/WAVE file built by hand (16-bit mono PCM header with the given byte rate)."""
    fmt = struct.pack("<HHIIHH", 1, 1, byte_rate // 2, byte_rate, 2, 16)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wav_duration_from_header() -> None:
    assert wav_duration_ms(wav(32_000, bytes(160_000))) == 5000.0


def test_wav_duration_skips_other_chunks_including_odd_sized_ones() -> None:
    odd = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"
    assert wav_duration_ms(wav(32_000, bytes(32_000), extra_chunks=odd)) == 1000.0


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF, 10**9])
def test_streamed_or_truncated_wav_counts_the_bytes_present(declared: int) -> None:
    assert wav_duration_ms(wav(32_000, bytes(64_000), data_size=declared)) == 2000.0


@pytest.mark.parametrize("data", [b"", b"RIFF", b"RIFF\x00\x00\x00\x00AVI ", b"ID3" + bytes(100)])
def test_not_a_wav(data: bytes) -> None:
    assert wav_duration_ms(data) is None


def test_wav_without_fmt_chunk_is_unmeasurable() -> None:
    body = b"WAVE" + b"data" + struct.pack("<I", 4) + bytes(4)
    assert wav_duration_ms(b"RIFF" + struct.pack("<I", len(body)) + body) is None


@pytest.mark.parametrize("suffix", ["wav", "ulaw.wav", "alaw.wav"])
def test_real_wavs_are_measured_exactly(media: MediaFactory, suffix: str) -> None:
    info = probe_media(media.tone(6.0, rate=8000, suffix=suffix).read_bytes())
    assert info == MediaInfo("audio", 6000.0, exact=True)


@pytest.mark.parametrize("suffix", ["mp3", "flac", "ogg", "m4a"])
def test_compressed_audio_is_measured_from_metadata(media: MediaFactory, suffix: str) -> None:
    info = probe_media(media.tone(6.0, suffix=suffix).read_bytes())
    assert info is not None and info.kind == "audio" and not info.exact
    assert info.duration_ms is not None and abs(info.duration_ms - 6000.0) < 100


def test_image_size() -> None:
    info = probe_media(encode_image(face_picture(320, 200)))
    assert info == MediaInfo("image", None, 320, 200)


def test_video_duration_and_size() -> None:
    info = probe_media(encode_video(6.0, fps=5, with_audio=True))
    assert info is not None and info.kind == "video" and (info.width, info.height) == (160, 120)
    assert info.duration_ms is not None and abs(info.duration_ms - 6000.0) < 300


@pytest.mark.parametrize("data", [b"", b"hello world, not media", b"\x00" * 4096])
def test_unreadable_bytes_are_left_to_the_service(data: bytes) -> None:
    assert probe_media(data) is None


@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.encodebytes], ids=["plain", "with-newlines"]
)
@pytest.mark.parametrize("seconds", [1.0, 5.0, 6.0])
def test_base64_input_is_measured_like_raw(
    media: MediaFactory, seconds: float, encode: Callable[[bytes], bytes]
) -> None:
    raw = media.tone(seconds).read_bytes()
    assert (
        probe_media_b64(encode(raw))
        == probe_media(raw)
        == MediaInfo("audio", seconds * 1000, exact=True)
    )


@pytest.mark.parametrize("pad", [0, 1, 2, 3])
def test_base64_length_arithmetic_with_every_padding(pad: int) -> None:
    data = wav(32_000, bytes(32_000 + 2 * pad))  # sizes that need 0, 1 or 2 "=" of padding
    assert probe_media_b64(base64.b64encode(data)) == probe_media(data)


def test_base64_wav_whose_data_chunk_is_past_the_decoded_head() -> None:
    big_list = b"LIST" + struct.pack("<I", 20_000) + bytes(20_000)
    data = wav(32_000, bytes(64_000), extra_chunks=big_list)
    assert probe_media_b64(base64.b64encode(data)) == MediaInfo("audio", 2000.0, exact=True)


def test_base64_of_compressed_audio_is_probed(media: MediaFactory) -> None:
    raw = media.tone(2.0, suffix="flac").read_bytes()
    assert probe_media_b64(base64.b64encode(raw)) == probe_media(raw)


@pytest.mark.parametrize("encoded", [b"not base64 at all!", b"abc", b"****"])
def test_invalid_base64_is_left_to_the_service(encoded: bytes) -> None:
    assert probe_media_b64(encoded) is None
