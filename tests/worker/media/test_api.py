"""The public surface of worker.media is what the worker task calls: pin it."""

from __future__ import annotations

import worker.media


def test_public_names() -> None:
    assert sorted(worker.media.__all__) == sorted(
        [
            "TARGET_RATE",
            "AudioInfo",
            "Chunk",
            "ChunkOptions",
            "ChunkStream",
            "CorruptMedia",
            "DecodedAudio",
            "EmptyMedia",
            "MediaError",
            "MediaFile",
            "MediaNotFound",
            "MediaOptions",
            "MediaPermissionDenied",
            "MediaUnavailable",
            "NoAudioStream",
            "PredictionTimeline",
            "SkippedSpan",
            "SourceIdentity",
            "UnsupportedCodec",
            "ZeroDuration",
            "channel_label",
            "chunk_pcm",
            "decode_audio",
            "identity_from_info",
            "open_media",
            "redact_text",
            "redact_uri",
            "shift_predictions",
            "stat_media",
            "stream_chunks",
            "wav_bytes",
        ]
    )
    for name in worker.media.__all__:
        assert getattr(worker.media, name) is not None


def test_error_codes_are_distinct_and_stable() -> None:
    codes = {
        cls.__name__: cls.code
        for cls in vars(worker.media).values()
        if isinstance(cls, type) and issubclass(cls, worker.media.MediaError)
    }
    assert codes == {
        "MediaError": "media_error",
        "MediaNotFound": "not_found",
        "MediaPermissionDenied": "permission_denied",
        "MediaUnavailable": "unavailable",
        "EmptyMedia": "empty_file",
        "NoAudioStream": "no_audio_stream",
        "CorruptMedia": "corrupt",
        "UnsupportedCodec": "unsupported_codec",
        "ZeroDuration": "zero_duration",
    }
