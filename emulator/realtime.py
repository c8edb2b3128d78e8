"""The pure core of the v1 realtime audio endpoint: one session's state machine. No sockets.

A `RealtimeSession` takes the client's messages (`on_text`, `on_audio`, with the arrival
time for pacing) and returns a `Reaction`: the messages to send and whether the session
ends (and with which close code). The server adds faults, timeouts and the socket.

Rules (PROTOCOL-v1.md §2-§5):

* `session.update` only before the first accepted frame; omitted fields reset to their
  defaults; the format must be exactly s16le / 16 000 Hz / 1 channel and the timer
  3000-10 000 ms, else `config_invalid` and the session ends (close 1008). After the first
  accepted frame any `session.update` is `config_invalid` too.
* Binary frames: empty, odd-length or over 320 000 bytes → `invalid_audio_frame` (dropped,
  the session goes on); any message over 1 MiB → `message_too_large` (ends).
* Pacing: a frame is accepted unless the stream is already more than `burst_ms` ahead of
  real time when it arrives (a GCRA: each accepted frame moves the stream's theoretical
  play-out time by its length). Otherwise `rate_limited`: the frame is dropped and counts
  nowhere (not in times, not in `received`).
* Text that is not a known client message → `message_invalid` (the session goes on).
* Voice activity: `emulator.audio.VoiceTracker` over the accepted stream. Each confirmed
  region is an utterance: `utterance.start`; a `measurement.result` (`interval`) every
  `measurement_timer_ms` of the utterance while it is open, covering its last ≤ 10 s; on
  its end a `speech_ended` one unless the previous one ended < 1 s before (at least one per
  utterance); then `utterance.end`. `session.close` (and an idle timeout) ends an open
  utterance the same way, at its last voiced frame.
* Scores come from the window's acoustic features (`emulator.audio.features`) through
  `emulator.scoring.label_scores`: expressions judged present against a per-name
  threshold, voice attributes at ≥ 0.725; 4-decimal probabilities, sorted by probability
  (then the raw score, then the name).

Times are integer ms of accepted audio from the session's start.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from emulator import audio
from emulator.scoring import hashed_unit, label_scores
from hume_stream.errors import RealtimeCode
from hume_stream.labels import AUDIO_EXPRESSIONS, VOICE_ATTRIBUTES
from hume_stream.limits import (
    MEASUREMENT_TIMER_MS_DEFAULT,
    MEASUREMENT_TIMER_MS_MAX,
    MEASUREMENT_TIMER_MS_MIN,
    MEASUREMENT_WINDOW_MS,
    REALTIME_BYTES_PER_MS,
    REALTIME_CHANNELS,
    REALTIME_FRAME_MAX_BYTES,
    REALTIME_MESSAGE_MAX_BYTES,
    REALTIME_SAMPLE_RATE,
    SPEECH_ENDED_MIN_GAP_MS,
    VOICE_ATTRIBUTE_MIN_PROBABILITY,
)
from hume_stream.models.realtime import SessionClose, SessionUpdate, parse_client_message

__all__ = ["AUDIO_FORMAT", "CLOSE_ERROR", "CLOSE_NORMAL", "Reaction", "RealtimeSession"]

AUDIO_FORMAT: dict[str, Any] = {
    "type": "audio/pcm",
    "encoding": "s16le",
    "sample_rate": REALTIME_SAMPLE_RATE,
    "channels": REALTIME_CHANNELS,
}
#: WebSocket close codes: an orderly end, and an end after a session-ending error.
CLOSE_NORMAL = 1000
CLOSE_ERROR = 1008

_PROBABILITY_DIGITS = 4
_SAMPLES_PER_MS = REALTIME_SAMPLE_RATE // 1000
# Audio kept for measurement windows: the longest window plus a margin.
_KEEP_MS = MEASUREMENT_WINDOW_MS + 2000
# Expressions: the logit bias of `label_scores`, and each name's presence threshold, drawn
# once per name from [0.20, 0.40], so a window typically shows a handful of names.
_EXPRESSION_BIAS = -2.2
_THRESHOLD_BASE = 0.30
_THRESHOLD_SPREAD = 0.10
# Voice attributes lean high: calibrated intensities, most qualities clearly present or not.
_VOICE_BIAS = 0.6

Kind = Literal["audio", "session.update", "session.close", "invalid", "limit"]


@dataclass
class Reaction:
    """What to send after one client message, and whether the session ends."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    kind: Kind = "invalid"
    #: The error code sent, if any (for the event log and counters).
    code: str | None = None
    audio_ms: float | None = None
    #: Set when the session is over: the WebSocket close code to end with.
    close_code: int | None = None


@dataclass
class _Utterance:
    id: int
    start: int  # samples
    next_due: int  # samples: end of the next interval window
    last_end: int | None = None  # samples: end of the last measurement's window


class RealtimeSession:
    """One session of the realtime audio endpoint (see the module docstring)."""

    def __init__(self, burst_ms: float = 500.0, session_id: str | None = None) -> None:
        self.session_id = session_id or str(uuid.uuid4())
        self.burst_s = burst_ms / 1000.0
        self.timer_ms = MEASUREMENT_TIMER_MS_DEFAULT
        self.ended = False
        #: Why the session ended (a `session.closed` reason), None while it runs.
        self.end_reason: str | None = None
        self.frames = 0
        self.utterances = 0
        self.measurements = 0
        self._samples = 0  # accepted audio, in samples
        self._due: float | None = None  # the stream's theoretical play-out time (GCRA)
        self._voice = audio.VoiceTracker()
        self._utterance: _Utterance | None = None
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # sample position of _buffer[0]

    @property
    def audio_ms(self) -> int:
        """Accepted audio so far, in whole ms."""
        return self._samples // _SAMPLES_PER_MS

    def created(self) -> dict[str, Any]:
        """The `session.created` message (sent first, at once)."""
        return {
            "type": "session.created",
            "session_id": self.session_id,
            "audio": dict(AUDIO_FORMAT),
            "measurement_timer_ms": self.timer_ms,
        }

    # ------------------------------------------------------------ client messages

    def on_text(self, text: str) -> Reaction:
        """A text frame: `session.update`, `session.close`, or something unreadable."""
        if len(text.encode()) > REALTIME_MESSAGE_MAX_BYTES:
            return self._end_with_error(
                RealtimeCode.MESSAGE_TOO_LARGE, _too_large(len(text.encode())), "invalid"
            )
        try:
            message = parse_client_message(json.loads(text))
        except (ValueError, ValidationError) as exc:
            return self._error(RealtimeCode.MESSAGE_INVALID, _unreadable(text, exc), "invalid")
        if isinstance(message, SessionClose):
            return self.finish("client_request", kind="session.close")
        return self._update(message)

    def on_audio(self, frame: bytes, now: float) -> Reaction:
        """A binary frame arriving at `now` (monotonic seconds)."""
        size = len(frame)
        if size > REALTIME_MESSAGE_MAX_BYTES:
            return self._end_with_error(RealtimeCode.MESSAGE_TOO_LARGE, _too_large(size), "audio")
        if size == 0 or size % 2 or size > REALTIME_FRAME_MAX_BYTES:
            return self._error(RealtimeCode.INVALID_AUDIO_FRAME, _bad_frame(size), "audio")
        audio_ms = size / REALTIME_BYTES_PER_MS
        if self._due is not None and self._due - now > self.burst_s:
            reaction = self._error(
                RealtimeCode.RATE_LIMITED, "audio arrived faster than real time", "audio"
            )
            reaction.audio_ms = audio_ms
            return reaction
        self._due = (now if self._due is None else max(self._due, now)) + audio_ms / 1000.0
        self.frames += 1
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
        return Reaction(messages=self._accept(samples), kind="audio", audio_ms=audio_ms)

    def finish(self, reason: str, kind: Kind = "session.close") -> Reaction:
        """End the session in an orderly way: close an open utterance, then `session.closed`
        (`client_request`, `idle_timeout` or `server_shutdown`)."""
        messages: list[dict[str, Any]] = []
        end = self._voice.finish()
        if end is not None and self._utterance is not None:
            messages += self._end_utterance(end)
        messages.append(self.closed_message(reason))
        self.ended, self.end_reason = True, reason
        return Reaction(messages=messages, kind=kind, close_code=CLOSE_NORMAL)

    def fail(self, code: str, message: str) -> Reaction:
        """End the session on a service failure (e.g. an injected `internal_error`)."""
        return self._end_with_error(code, message, "audio")

    def closed_message(self, reason: str) -> dict[str, Any]:
        """`session.closed` with the totals so far."""
        return {
            "type": "session.closed",
            "session_id": self.session_id,
            "reason": reason,
            "received": {"audio_duration_ms": self.audio_ms, "frames": self.frames},
            "produced": {"utterances": self.utterances, "measurements": self.measurements},
        }

    # ------------------------------------------------------------ configuration

    def _update(self, update: SessionUpdate) -> Reaction:
        if self.frames:
            return self._end_with_error(
                RealtimeCode.CONFIG_INVALID,
                "session.update is accepted only before the first audio frame",
                "session.update",
            )
        problem = _config_problem(update)
        if problem is not None:
            return self._end_with_error(RealtimeCode.CONFIG_INVALID, problem, "session.update")
        self.timer_ms = update.measurement_timer_ms or MEASUREMENT_TIMER_MS_DEFAULT
        updated = {
            "type": "session.updated",
            "audio": dict(AUDIO_FORMAT),
            "measurement_timer_ms": self.timer_ms,
        }
        return Reaction(messages=[updated], kind="session.update")

    # ------------------------------------------------------------ audio

    def _accept(self, samples: audio.Mono) -> list[dict[str, Any]]:
        self._keep(samples)
        self._samples += samples.size
        messages: list[dict[str, Any]] = []
        for change, position, decided_at in self._voice.feed(samples):
            messages += self._intervals(decided_at)
            if change == "start":
                messages.append(self._start_utterance(position))
            else:
                messages += self._end_utterance(position)
        messages += self._intervals(self._samples)
        return messages

    def _keep(self, samples: audio.Mono) -> None:
        self._buffer = np.concatenate([self._buffer, samples])
        excess = self._buffer.size - _KEEP_MS * _SAMPLES_PER_MS
        if excess > REALTIME_SAMPLE_RATE:  # trim in steps of a second or more
            self._buffer = self._buffer[excess:]
            self._buffer_start += excess

    def _start_utterance(self, start: int) -> dict[str, Any]:
        timer = self.timer_ms * _SAMPLES_PER_MS
        self._utterance = _Utterance(id=self.utterances, start=start, next_due=start + timer)
        self.utterances += 1
        return {
            "type": "utterance.start",
            "utterance_id": self._utterance.id,
            "audio_start_ms": _ms(start),
        }

    def _intervals(self, reached: int) -> list[dict[str, Any]]:
        """Interval measurements due by stream position `reached` for the open utterance."""
        utterance = self._utterance
        out: list[dict[str, Any]] = []
        while utterance is not None and utterance.next_due <= reached:
            out.append(self._measure(utterance, utterance.next_due, "interval"))
            utterance.next_due += self.timer_ms * _SAMPLES_PER_MS
        return out

    def _end_utterance(self, end: int) -> list[dict[str, Any]]:
        utterance = self._utterance
        assert utterance is not None
        self._utterance = None
        out: list[dict[str, Any]] = []
        gap_ok = (
            utterance.last_end is None
            or end - utterance.last_end >= SPEECH_ENDED_MIN_GAP_MS * _SAMPLES_PER_MS
        )
        if gap_ok:
            out.append(self._measure(utterance, end, "speech_ended"))
        out.append(
            {
                "type": "utterance.end",
                "utterance_id": utterance.id,
                "audio_start_ms": _ms(utterance.start),
                "audio_end_ms": _ms(end),
            }
        )
        return out

    def _measure(self, utterance: _Utterance, end: int, trigger: str) -> dict[str, Any]:
        begin = max(utterance.start, end - MEASUREMENT_WINDOW_MS * _SAMPLES_PER_MS)
        window = self._buffer[max(0, begin - self._buffer_start) : max(0, end - self._buffer_start)]
        expressions, voice = scores(window)
        utterance.last_end = end
        message = {
            "type": "measurement.result",
            "measurement_id": self.measurements,
            "utterance_id": utterance.id,
            "audio_start_ms": _ms(begin),
            "audio_end_ms": _ms(end),
            "trigger": trigger,
            "expressions": expressions,
            "voice_attributes": voice,
        }
        self.measurements += 1
        return message

    # ------------------------------------------------------------ errors

    def _error(self, code: str, message: str, kind: Kind) -> Reaction:
        error = {"type": "error", "code": code, "message": message, "retryable": True}
        return Reaction(messages=[error], kind=kind, code=code)

    def _end_with_error(self, code: str, message: str, kind: Kind) -> Reaction:
        error = {"type": "error", "code": code, "message": message, "retryable": False}
        self.ended, self.end_reason = True, "error"
        return Reaction(
            messages=[error, self.closed_message("error")],
            kind=kind,
            code=code,
            close_code=CLOSE_ERROR,
        )


def scores(window: audio.Mono) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Expressions and voice attributes judged present in a window of 16 kHz mono audio."""
    if window.size < audio.FRAME:
        return [], []
    feats = audio.features(window).scaled()
    expressions = label_scores(
        AUDIO_EXPRESSIONS, feats, namespace="v1-expression", bias=_EXPRESSION_BIAS
    )
    present = [
        s for s in expressions if float(str(s["score"])) >= _expression_threshold(str(s["name"]))
    ]
    voice = label_scores(VOICE_ATTRIBUTES, feats, namespace="v1-voice", bias=_VOICE_BIAS)
    strong = [s for s in voice if float(str(s["score"])) >= VOICE_ATTRIBUTE_MIN_PROBABILITY]
    return _ranked(present), _ranked(strong)


def _expression_threshold(name: str) -> float:
    return _THRESHOLD_BASE + _THRESHOLD_SPREAD * hashed_unit("v1-threshold", name)


def _ranked(scored: Sequence[dict[str, object]]) -> list[dict[str, Any]]:
    ordered = sorted(scored, key=lambda s: (-float(str(s["score"])), str(s["name"])))
    return [
        {"name": s["name"], "probability": round(float(str(s["score"])), _PROBABILITY_DIGITS)}
        for s in ordered
    ]


def _config_problem(update: SessionUpdate) -> str | None:
    timer = update.measurement_timer_ms
    if timer is not None and not MEASUREMENT_TIMER_MS_MIN <= timer <= MEASUREMENT_TIMER_MS_MAX:
        return (
            f"measurement_timer_ms must be {MEASUREMENT_TIMER_MS_MIN} to "
            f"{MEASUREMENT_TIMER_MS_MAX}, got {timer}"
        )
    if update.audio is not None:
        given = update.audio.model_dump(exclude_none=True)
        wrong = {k: v for k, v in given.items() if AUDIO_FORMAT.get(k) != v}
        if wrong:
            return (
                f"unsupported audio format {wrong}: the only format is "
                "audio/pcm, s16le, 16000 Hz, 1 channel"
            )
    return None


def _ms(samples: int) -> int:
    return samples // _SAMPLES_PER_MS


def _too_large(size: int) -> str:
    return f"message of {size} bytes exceeds the limit of {REALTIME_MESSAGE_MAX_BYTES} bytes"


def _bad_frame(size: int) -> str:
    if size == 0:
        return "empty audio frame"
    if size % 2:
        return f"audio frame of {size} bytes is not a whole number of 16-bit samples"
    return f"audio frame of {size} bytes holds more than 10 s ({REALTIME_FRAME_MAX_BYTES} bytes)"


def _unreadable(text: str, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        return f"unreadable message: {where}: {first['msg']}"
    return f"unreadable message: not JSON ({exc})"
