"""Chunking: exact offsets, the payload limit, silence cuts, skipped spans, WAV payloads."""

from __future__ import annotations

import wave
from io import BytesIO
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hume_stream.limits import AUDIO_MS_LIMIT
from tests.support.media import MediaFactory
from tests.worker.media.helpers import (
    assert_tiles,
    bursts,
    read_wav,
    spans_by_channel,
    write_wav,
)
from worker.media import (
    Chunk,
    ChunkOptions,
    MediaOptions,
    SkippedSpan,
    chunk_pcm,
    stream_chunks,
    wav_bytes,
)
from worker.media.chunk import WAV_HEADER_BYTES

RATE = 16000
LIMIT = AUDIO_MS_LIMIT * RATE // 1000


def run(path: Path, **chunk: object) -> tuple[list[Chunk], list[SkippedSpan], int]:
    """All chunks and skipped spans of a local file, and its decoded length."""
    with stream_chunks(str(path), MediaOptions(chunk=ChunkOptions(**chunk))) as media:  # type: ignore[arg-type]
        chunks = list(media)
        return chunks, media.skipped, media.samples


@pytest.mark.parametrize("silence_cut_ms", [0, 500])
def test_chunks_hold_the_source_samples_at_exact_offsets(
    tmp_path: Path, silence_cut_ms: int
) -> None:
    # 16 kHz WAV: no resampling, so every decoded sample is a source sample.
    speech = [(0.3, 4.1), (4.6, 11.0), (13.2, 13.9), (21.0, 23.37)]
    source = bursts(23.37, RATE, speech)
    path = write_wav(tmp_path / "exact.wav", source[np.newaxis, :], RATE)

    chunks, skipped, total = run(path, silence_cut_ms=silence_cut_ms)

    assert total == source.size
    spans = spans_by_channel([*chunks, *skipped])
    assert list(spans) == [0]
    assert_tiles(spans[0], source.size)
    assert sum(c.length for c in chunks) + sum(s.length for s in skipped) == source.size
    for chunk in chunks:
        rate, samples = read_wav(chunk.wav)
        assert rate == RATE
        assert chunk.length <= LIMIT
        assert chunk.duration_s * 1000 <= AUDIO_MS_LIMIT
        assert chunk.start_s == chunk.start / RATE
        np.testing.assert_array_equal(samples, source[chunk.start : chunk.end])
    for span in skipped:
        assert not source[span.start : span.end].any()
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_silence_cut_ends_a_chunk_in_the_pause_before_the_limit(tmp_path: Path) -> None:
    source = bursts(9.0, RATE, [(0.0, 4.70), (4.82, 9.0)])
    path = write_wav(tmp_path / "pause.wav", source[np.newaxis, :], RATE)

    hard, _, _ = run(path, silence_cut_ms=0)
    soft, _, _ = run(path, silence_cut_ms=500)

    assert hard[0].length == LIMIT
    assert 4.70 <= soft[0].end_s <= 4.82
    assert soft[1].start == soft[0].end


def test_without_a_pause_the_cut_stays_within_the_look_back(tmp_path: Path) -> None:
    source = bursts(12.0, RATE, [(0.0, 12.0)])
    path = write_wav(tmp_path / "talk.wav", source[np.newaxis, :], RATE)

    chunks, skipped, total = run(path, silence_cut_ms=300)

    assert not skipped
    for chunk in chunks[:-1]:
        assert LIMIT - 300 * RATE // 1000 <= chunk.length <= LIMIT
    assert_tiles(chunks, total)


def test_tone_on_the_right_channel_goes_only_to_the_customer(media: MediaFactory) -> None:
    path = media.tone(12.0, rate=RATE, channels=2, only_channel=1)

    chunks, skipped, total = run(path)

    assert {(c.channel, c.label) for c in chunks} == {(1, "customer")}
    assert_tiles([c for c in chunks], total)
    # The silent agent channel is one skipped span covering the whole file.
    assert [(s.channel, s.label, s.start, s.length) for s in skipped] == [(0, "agent", 0, total)]


def test_silent_chunks_are_sent_when_skipping_is_off(media: MediaFactory) -> None:
    path = media.silence(7.0, rate=RATE)

    chunks, skipped, total = run(path, skip_silent=False)

    assert not skipped
    assert [c.length for c in chunks] == [LIMIT, total - LIMIT]


def test_a_shorter_chunk_length_is_honoured(media: MediaFactory) -> None:
    path = media.tone(4.25, rate=8000, channels=2)

    chunks, skipped, total = run(path, chunk_ms=1000, silence_cut_ms=200)

    assert not skipped
    assert total == 4.25 * RATE
    for channel, spans in spans_by_channel(chunks).items():
        assert channel in (0, 1)
        assert_tiles(spans, total)
        assert all(s.length <= RATE for s in spans)


def test_the_silence_threshold_decides_what_is_skipped(tmp_path: Path) -> None:
    quiet = (bursts(6.0, RATE, [(0.0, 6.0)]) // 8).astype(np.int16)  # about -35 dBFS RMS
    path = write_wav(tmp_path / "quiet.wav", quiet[np.newaxis, :], RATE)

    _, skipped_default, _ = run(path)
    _, skipped_strict, total = run(path, silence_dbfs=-20.0)

    assert skipped_default == []
    assert sum(s.length for s in skipped_strict) == total


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_ms": 0}, "chunk_ms=0"),
        ({"chunk_ms": AUDIO_MS_LIMIT + 1}, "the API's limit"),
        ({"silence_cut_ms": -1}, "silence_cut_ms=-1"),
        ({"silence_dbfs": 3.0}, "silence_dbfs=3.0"),
    ],
)
def test_bad_options_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChunkOptions(**options)  # type: ignore[arg-type]


def test_wav_payload_is_a_standard_file() -> None:
    samples = np.array([0, 1, -1, 32767, -32768], dtype=np.int16)

    payload = wav_bytes(samples, 16000)

    assert WAV_HEADER_BYTES == 44
    assert len(payload) == WAV_HEADER_BYTES + 2 * samples.size
    with wave.open(BytesIO(payload)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
            1,
            2,
            16000,
            5,
        )
    np.testing.assert_array_equal(read_wav(payload)[1], samples)


def loud_noise(rng: np.random.Generator, n: int) -> npt.NDArray[np.int16]:
    """Noise whose every sample is far above the silence threshold."""
    magnitude = rng.integers(2000, 9000, n)
    return np.where(rng.random(n) < 0.5, -magnitude, magnitude).astype(np.int16)


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.lists(st.tuples(st.booleans(), st.integers(1, 9000)), min_size=1, max_size=12),
    block=st.integers(1, 7000),
    chunk_ms=st.integers(100, AUDIO_MS_LIMIT),
    cut_ms=st.integers(0, 2000),
)
def test_any_signal_is_tiled_within_the_limit(
    pattern: list[tuple[bool, int]], block: int, chunk_ms: int, cut_ms: int
) -> None:
    # rate 1000 Hz keeps examples small; the cutter works in samples whatever the rate.
    rate = 1000
    rng = np.random.default_rng(len(pattern))
    mono = np.concatenate(
        [loud_noise(rng, n) if loud else np.zeros(n, np.int16) for loud, n in pattern]
    )
    pcm = np.stack([mono, mono[::-1].copy()])
    blocks = [pcm[:, i : i + block] for i in range(0, mono.size, block)]
    options = ChunkOptions(chunk_ms=chunk_ms, silence_cut_ms=cut_ms)

    items = list(chunk_pcm(blocks, ["agent", "customer"], rate, options))

    limit = chunk_ms * rate // 1000
    for channel, spans in spans_by_channel(items).items():
        assert_tiles(spans, mono.size)
        source = pcm[channel]
        for span in spans:
            assert span.length <= limit
            if isinstance(span, Chunk):
                np.testing.assert_array_equal(read_wav(span.wav)[1], source[span.start : span.end])
            else:
                assert not source[span.start : span.end].any()


def test_a_chunk_stream_is_used_once_inside_its_with_block(media: MediaFactory) -> None:
    stream = stream_chunks(str(media.tone(1.0)))
    with pytest.raises(RuntimeError, match="with"):
        list(stream)

    with stream:
        assert len(list(stream)) == 1
        with pytest.raises(RuntimeError, match="only once"):
            list(stream)
