"""Media for the worker: open by URI, decode, split per channel, cut into API payloads,
and map predictions back onto the file's time axis. Pure library code (no Celery, no I/O
besides reading the media).

    with stream_chunks(uri, MediaOptions()) as media:
        timeline = PredictionTimeline()
        for chunk in media:
            response = send(chunk.wav)
            timeline.add(chunk.label, chunk.start_s, response, chunk.duration_s)
        result = timeline.merged(), media.skipped, media.duration_s, media.warnings
"""

from worker.media.align import PredictionTimeline, shift_predictions
from worker.media.chunk import Chunk, ChunkOptions, SkippedSpan, chunk_pcm, wav_bytes
from worker.media.decode import TARGET_RATE, AudioInfo, DecodedAudio, channel_label, decode_audio
from worker.media.errors import (
    CorruptMedia,
    EmptyMedia,
    MediaError,
    MediaNotFound,
    MediaPermissionDenied,
    MediaUnavailable,
    NoAudioStream,
    UnsupportedCodec,
    ZeroDuration,
)
from worker.media.pipeline import ChunkStream, MediaOptions, stream_chunks
from worker.media.redact import redact_text, redact_uri
from worker.media.source import (
    MediaFile,
    SourceIdentity,
    identity_from_info,
    open_media,
    stat_media,
)

__all__ = [
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
