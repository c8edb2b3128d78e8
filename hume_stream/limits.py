"""Limits of the v0 streaming API (PROTOCOL.md §5), checked by the client before sending
and enforced by the emulator. One place, so both sides agree."""

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
