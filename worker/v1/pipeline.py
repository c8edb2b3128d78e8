"""One job on the v1 realtime audio API, start to finish: decode the recording, open one
session per channel on the process's loop, stream each channel's speech at real time,
map the results back onto the file's axis, build the Result (`backend="v1"`).

Silent chunks are not streamed (billing is per second of audio taken in): each silent
span between two sent chunks is replaced by its first `SILENCE_KEEP_MS`, so the service
still hears the speech before it stop; leading and trailing silence is not sent at all,
and a channel with no sound opens no session. `worker.v1.timemap.StreamMap` maps the
session's times back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from worker import metrics
from worker.failures import Disposition, JobFailure
from worker.jobs import ChannelResult, ErrorInfo, Job, Result, Span
from worker.limiter import leased
from worker.media import Chunk, MediaOptions, stream_chunks
from worker.media.chunk import WAV_HEADER_BYTES, ChunkOptions
from worker.pipeline import done_result
from worker.runtime import Runtime
from worker.summary import summarise
from worker.v1.sessions import QUEUE_SECONDS, ChannelOutcome, Piece, ProcessSessions, stream_channel

__all__ = ["LABEL_SET", "MODEL", "SILENCE_KEEP_MS", "deadline_s", "run_job_v1"]

#: The one v1 measurement; the result's model key for it.
MODEL = "audio"
#: The label set of v1 results: 415 lowercase expressions plus voice attributes, each a
#: thresholded probability (v0 results are "v0-48": 48 emotions, every one scored).
LABEL_SET = "v1-audio-415"
#: v0 models the v1 audio measurement replaces; the others have no v1 equivalent.
AUDIO_MODELS = frozenset({"prosody", "burst"})
#: Skip granularity: chunks of this length that are silent throughout are not sent.
CHUNK_MS = 1000
#: Silence kept in place of a skipped span, so the service's voice activity detection ends
#: the utterance before it (its hangover is not documented; the emulator's is 300 ms).
SILENCE_KEEP_MS = 1000
#: Deadline: real-time pacing makes a channel take its duration; channels run in parallel.
DEADLINE_BASE_S = 60.0
SECONDS_PER_AUDIO_SECOND = 1.5


def deadline_s(duration_s: float, hard_limit_s: float) -> float:
    """The soft time limit of a v1 job from its media's duration."""
    budget = DEADLINE_BASE_S + SECONDS_PER_AUDIO_SECOND * duration_s
    # 30 s under the hard limit, or a twentieth of it for a short one
    return min(budget, hard_limit_s - min(30.0, hard_limit_s / 20))


def run_job_v1(job: Job, rt: Runtime, attempt: int, started: float) -> Result:
    """Process the job through realtime sessions and return its `done` Result.

    Raises JobFailure (a model with no v1 equivalent), MediaError, HumeClientException,
    TimeoutError… for the task to classify.
    """
    _check_models(job)
    sessions = ProcessSessions.get(rt.settings)
    options = MediaOptions(
        split_channels=job.options.split_channels,
        chunk=ChunkOptions(chunk_ms=CHUNK_MS, silence_cut_ms=0),
    )
    with stream_chunks(job.uri, options) as media:
        info = media.info
        labels = list(info.labels)
        channels = list(zip(info.channels or (0,), labels, strict=True))
        deadline = time.monotonic() + deadline_s(
            info.declared_duration_s or 0.0, rt.settings.fleet_task_hard_limit_s
        )
        _check_cap(job, len(labels), rt.limiter.cap)
        if not sessions.slots.acquire(len(labels), timeout=max(1.0, deadline - time.monotonic())):
            raise TimeoutError("no realtime session slot in this process before the deadline")
        # The fleet-wide cap counts every session; a job takes all of its slots at once.
        lease = leased(rt.limiter, *(f"{rt.worker_id}/{job.job_id}/{label}" for label in labels))
        try:
            rt.runner.call(lease.__aenter__())
            try:
                feeder = _Feeder(rt, sessions, labels, info.rate, deadline)
                decode_seconds = feeder.run(media)
                outcomes = feeder.results()
            finally:
                rt.runner.call(lease.__aexit__(None, None, None))
        finally:
            sessions.slots.release(len(labels))
        duration = media.duration_s
        skipped = list(media.skipped)
        warnings = list(media.warnings)
        identity = media.identity
    metrics.DECODE_SECONDS.observe(decode_seconds)

    channel_results = []
    for (index, name), outcome in zip(channels, outcomes, strict=True):
        predictions = [_prediction(m, outcome) for m in outcome.measurements]
        channel_results.append(
            ChannelResult(
                index=index,
                label=name,
                predictions={MODEL: predictions} if predictions else {},
                summary={MODEL: summarise(predictions, "expressions", "probability")}
                if predictions
                else {},
                skipped=[Span(begin=s.start_s, end=s.end_s) for s in skipped if s.label == name],
                payloads=outcome.frames,
                sessions=[outcome.session_id] if outcome.session_id else [],
            )
        )
    finished = time.time()
    return done_result(
        job, rt, attempt, identity,
        api_seconds=finished - started - decode_seconds, decode_seconds=decode_seconds,
        started=started, finished=finished,
        duration_s=duration, channels=channel_results, warnings=warnings,
        backend="v1", label_set=LABEL_SET,
    )  # fmt: skip


class _Feeder:
    """Hands each channel's chunks to its session on the loop (bounded queues, so the
    decoding thread waits for the slowest session instead of buffering the file)."""

    def __init__(
        self,
        rt: Runtime,
        sessions: ProcessSessions,
        labels: list[str],
        rate: int,
        deadline: float,
    ) -> None:
        self.rt = rt
        self.rate = rate
        self.deadline = deadline
        self.keep = SILENCE_KEEP_MS * rate // 1000
        self.queues: list[asyncio.Queue[Piece | None]] = rt.runner.call(
            _make_queues(len(labels), QUEUE_SECONDS * 1000 // CHUNK_MS), timeout=10
        )
        self.futures = [
            rt.runner.submit(stream_channel(sessions.client, label, queue, rate))
            for label, queue in zip(labels, self.queues, strict=True)
        ]
        self.sent_end: list[int | None] = [None] * len(labels)
        self.rows = {label: row for row, label in enumerate(labels)}

    def run(self, media: Any) -> float:
        """Feed every chunk, then the end marks; the seconds spent decoding."""
        decode_seconds = 0.0
        try:
            began = time.monotonic()
            for chunk in media:
                decode_seconds += time.monotonic() - began
                self._feed(chunk)
                began = time.monotonic()
            for row in range(len(self.queues)):
                self._put(row, None)
        except BaseException:
            for future in self.futures:
                future.cancel()
            raise
        return decode_seconds

    def _feed(self, chunk: Chunk) -> None:
        row = self.rows[chunk.label]
        end = self.sent_end[row]
        if end is not None and chunk.start > end:
            # A silent span was skipped: keep its first part, so speech is heard to stop.
            gap = min(chunk.start - end, self.keep)
            self._put(row, Piece(bytes(2 * gap), end))
        self._put(row, Piece(chunk.wav[WAV_HEADER_BYTES:], chunk.start))
        self.sent_end[row] = chunk.end

    def _put(self, row: int, piece: Piece | None) -> None:
        put: concurrent.futures.Future[Any] = self.rt.runner.submit(self.queues[row].put(piece))
        session: concurrent.futures.Future[Any] = self.futures[row]
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                put.cancel()
                raise TimeoutError(
                    "job exceeded its time limit (derived from the media's duration)"
                )
            done, _ = concurrent.futures.wait(
                [put, session], timeout=remaining, return_when=concurrent.futures.FIRST_COMPLETED
            )
            if put in done:
                return
            if session in done:
                put.cancel()
                session.result()  # raises the session's failure
                raise RuntimeError(f"session {row} ended before its audio did")

    def results(self) -> list[ChannelOutcome]:
        """Wait for every session's outcome (the first failure is raised)."""
        outcomes = []
        for future in self.futures:
            remaining = self.deadline - time.monotonic()
            try:
                outcomes.append(future.result(timeout=max(0.0, remaining)))
            except concurrent.futures.TimeoutError:
                for other in self.futures:
                    other.cancel()
                raise TimeoutError(
                    "job exceeded its time limit (derived from the media's duration)"
                ) from None
            except BaseException:
                for other in self.futures:
                    other.cancel()
                raise
        return outcomes


async def _make_queues(n: int, size: int) -> list[asyncio.Queue[Piece | None]]:
    # Made on the loop that uses them.
    return [asyncio.Queue(maxsize=size) for _ in range(n)]


def _prediction(result: Any, outcome: ChannelOutcome) -> dict[str, Any]:
    stream = outcome.stream
    return {
        "time": {
            "begin": stream.file_seconds(result.audio_start_ms),
            "end": stream.file_seconds(result.audio_end_ms),
        },
        "utterance_id": result.utterance_id,
        "measurement_id": result.measurement_id,
        "trigger": result.trigger,
        "expressions": [s.model_dump() for s in result.expressions],
        "voice_attributes": [s.model_dump() for s in result.voice_attributes],
    }


def _check_models(job: Job) -> None:
    others = sorted(set(job.models) - AUDIO_MODELS)
    if others:
        message = (
            f"model(s) {', '.join(others)} have no equivalent in the v1 realtime audio API "
            "(HUME_API=v1 measures audio only; prosody and burst map to its audio measurement)"
        )
        raise JobFailure(ErrorInfo(code="unsupported_model", message=message), Disposition.FAIL)


def _check_cap(job: Job, sessions: int, cap: int) -> None:
    if 0 < cap < sessions:
        message = (
            f"{job.uri}: its {sessions} channels need {sessions} realtime sessions at once, "
            f"more than FLEET_MAX_API_CONNECTIONS={cap}; submit it mixed to mono (--mix) or "
            "raise the cap"
        )
        raise JobFailure(ErrorInfo(code="connection_cap", message=message), Disposition.FAIL)
