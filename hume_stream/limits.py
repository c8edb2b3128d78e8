"""Limits of the v0 streaming API (PROTOCOL.md §5) and of the v1 realtime audio API
(PROTOCOL-v1.md §3), checked by the client before sending and enforced by the emulator.
One place, so both sides agree."""

from __future__ import annotations

from typing import Final

#: Longest audio (or video) per payload; longer → E0203 (E0204 for video).
AUDIO_MS_LIMIT: Final = 5000
VIDEO_MS_LIMIT: Final = 5000
#: Largest image edge in pixels; larger → E0205.
IMAGE_PX_LIMIT: Final = 3000
#: Longest raw text in characters; longer → E0206.
TEXT_CHAR_LIMIT: Final = 10_000
#: Facemesh payload: 1..100 faces of 478 (x, y, z) landmarks.
FACE_LIMIT: Final = 100
N_LANDMARKS: Final = 478
N_SPATIAL: Final = 3
#: Bounds and default of `stream_window_ms`.
STREAM_WINDOW_MS_MIN: Final = 500
STREAM_WINDOW_MS_MAX: Final = 10_000
STREAM_WINDOW_MS_DEFAULT: Final = 5000
#: Largest request message the emulator accepts (5 s of video can be several MB).
MAX_REQUEST_BYTES: Final = 16 * 2**20
#: Largest reply the client accepts; face and word-level replies exceed websockets' 1 MiB default.
MAX_RESPONSE_BYTES: Final = 64 * 2**20
#: The service closes a connection after this many seconds without a message.
IDLE_TIMEOUT_S: Final = 60.0

# ---------------------------------------------------------------- v1 realtime audio
# PROTOCOL-v1.md §2-§3: the audio realtime endpoint takes headerless s16le, 16 kHz, mono.

#: The only audio format: sample rate (Hz), channels, bytes per sample.
REALTIME_SAMPLE_RATE: Final = 16_000
REALTIME_CHANNELS: Final = 1
REALTIME_SAMPLE_BYTES: Final = 2
#: Bytes of audio per millisecond (32 000 B/s).
REALTIME_BYTES_PER_MS: Final = REALTIME_SAMPLE_RATE * REALTIME_SAMPLE_BYTES // 1000
#: Longest frame: 10 s of audio (320 000 bytes); longer, empty or odd → invalid_audio_frame.
REALTIME_FRAME_MAX_BYTES: Final = 10_000 * REALTIME_BYTES_PER_MS
#: Recommended frame length.
REALTIME_FRAME_MS_DEFAULT: Final = 100
#: Largest message of either kind; larger ends the session with message_too_large.
REALTIME_MESSAGE_MAX_BYTES: Final = 2**20
#: Bounds and default of `measurement_timer_ms` (ms of speech between measurements).
MEASUREMENT_TIMER_MS_MIN: Final = 3000
MEASUREMENT_TIMER_MS_MAX: Final = 10_000
MEASUREMENT_TIMER_MS_DEFAULT: Final = 3000
#: A measurement covers at most the most recent 10 s of its utterance.
MEASUREMENT_WINDOW_MS: Final = 10_000
#: No `speech_ended` measurement when the previous one ended less than this before.
SPEECH_ENDED_MIN_GAP_MS: Final = 1000
#: Voice attributes are reported only at or above this probability.
VOICE_ATTRIBUTE_MIN_PROBABILITY: Final = 0.725
#: Every run that took in any audio is billed at least this many seconds.
MIN_BILLED_SECONDS: Final = 10.0
