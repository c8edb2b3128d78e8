"""One job, start to finish: fetch and chunk the recording, send chunk by chunk on the
process's socket, move times onto the file's axis, summarise, build the Result.

The task thread decodes while the runner's loop waits for the API: the next chunk is cut
while the previous one is in flight, and at most one chunk is buffered, so memory stays
bounded however long the recording is.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import numpy as np

from hume_stream.models.config import ModelConfigBase, deserialize_configs
from hume_stream.models.messages import PredictionsMessage, WarningMessage
from worker import metrics
from worker.jobs import ChannelResult, Job, Result, SourceIdentity, Span, State, Timings
from worker.media import Chunk, MediaOptions, PredictionTimeline, stream_chunks
from worker.media.chunk import WAV_HEADER_BYTES, ChunkOptions, wav_bytes
from worker.runtime import STREAM_WINDOW_MS, Runtime
from worker.summary import summarise

#: A job may take this long per second of audio per channel (5 s payloads, allowing 2.5 s
#: per round trip), plus a fixed allowance; FLEET_TASK_HARD_LIMIT_S stays the ceiling.
SECONDS_PER_AUDIO_SECOND = 0.5
DEADLINE_BASE_S = 60.0

#: Seconds to wait for the reset after a job (or the hand-over of the socket).
RESET_TIMEOUT_S = 60.0


def deadline_s(duration_s: float, channels: int, hard_limit_s: float) -> float:
    """The soft time limit of a job, from its media's duration."""
    budget = DEADLINE_BASE_S + SECONDS_PER_AUDIO_SECOND * duration_s * max(1, channels)
    # 30 s under the hard limit, or a twentieth of it for a short one
    return min(budget, hard_limit_s - min(30.0, hard_limit_s / 20))


class _Flight:
    """The one request in flight: its future, and what to do with the reply."""

    def __init__(self, chunk: Chunk, future: concurrent.futures.Future[Any], sent: float):
        self.chunk = chunk
        self.future = future
        self.sent = sent


def run_job(job: Job, rt: Runtime, attempt: int, started: float) -> Result:
    """Process the job on this process's socket and return its `done` Result.

    Raises MediaError, HumeClientException, TimeoutError… for the task to classify. The
    stream is reset afterwards, success or failure, before the next job can send anything.
    """
    configs = deserialize_configs(job.models)
    label = ",".join(sorted(job.models))
    options = MediaOptions(
        split_channels=job.options.split_channels,
        chunk=ChunkOptions(
            chunk_ms=job.options.chunk_ms,
            silence_cut_ms=500 if job.options.cut_at_silence else 0,
        ),
    )
    timeline = PredictionTimeline()
    api_seconds = 0.0
    payloads: dict[int, int] = {}
    with rt.runner.job_lock, _Reset(rt) as reset:
        with stream_chunks(job.uri, options) as media:
            info = media.info
            deadline = time.monotonic() + deadline_s(
                info.declared_duration_s or 0.0, len(info.labels),
                rt.settings.fleet_task_hard_limit_s,
            )  # fmt: skip
            flight: _Flight | None = None
            decode_started = time.monotonic()
            decode_seconds = 0.0
            for chunk in media:
                decode_seconds += time.monotonic() - decode_started
                if flight is not None:
                    api_seconds += _land(flight, timeline, label, deadline)
                flight = _send(rt, job.job_id, chunk, configs)
                payloads[chunk.channel] = payloads.get(chunk.channel, 0) + 1
                decode_started = time.monotonic()
            if flight is not None:
                api_seconds += _land(flight, timeline, label, deadline)
            metrics.DECODE_SECONDS.observe(decode_seconds)
            duration = media.duration_s
            skipped = list(media.skipped)
            media_warnings = list(media.warnings)
            identity = media.identity
            channels = list(zip(info.channels or (0,), info.labels, strict=True))
        # The stream's context is cleared while the result is built.
        reset.start()
        merged = timeline.merged()
        channel_results = []
        for index, name in channels:
            predictions = merged.get(name, {})
            channel_results.append(
                ChannelResult(
                    index=index,
                    label=name,
                    predictions=predictions,
                    summary={m: summarise(p) for m, p in predictions.items() if p},
                    skipped=[
                        Span(begin=s.start_s, end=s.end_s) for s in skipped if s.label == name
                    ],
                    payloads=payloads.get(index, 0),
                )
            )
        warnings = media_warnings + [
            f"{w['channel']} {w['begin']:.2f}-{w['end']:.2f}s {w.get('model') or 'all'}: "
            f"{w.get('warning')} ({w.get('code')})"
            for w in timeline.warnings
        ]
        return done_result(
            job, rt, attempt, identity,
            api_seconds=api_seconds, decode_seconds=decode_seconds,
            started=started, finished=time.time(),
            duration_s=duration, channels=channel_results, warnings=warnings,
        )  # fmt: skip


def _send(rt: Runtime, job_id: str, chunk: Chunk, configs: list[ModelConfigBase]) -> _Flight:
    if rt.limiter.cap > 0 and not rt.limiter.try_acquire(rt.worker_id):
        # Our lease lapsed and the slot went elsewhere: reconnect under the cap.
        rt.runner.call(rt.runner.drop())
    # The payload id names the job and chunk, so one request can be traced across the
    # worker's logs and the service's.
    payload_id = f"{job_id}/{chunk.index}"
    future = rt.runner.submit(rt.runner.predict(padded_wav(chunk), configs, payload_id))
    return _Flight(chunk, future, time.monotonic())


def padded_wav(chunk: Chunk) -> bytes:
    """The chunk's WAV, padded with trailing silence to at least the stream window.

    The service prepends up to (window - payload) ms of the connection's earlier audio to a
    payload shorter than the window, which would shift its times and mix in another
    channel's speech. A payload at least as long as the window gets no context; silence
    adds no predictions, and times still count from the chunk's first sample.
    """
    minimum = chunk.rate * STREAM_WINDOW_MS // 1000
    if chunk.length >= minimum:
        return chunk.wav
    samples = np.frombuffer(chunk.wav, dtype="<i2", offset=WAV_HEADER_BYTES)
    return wav_bytes(np.pad(samples, (0, minimum - chunk.length)), chunk.rate)


def _land(flight: _Flight, timeline: PredictionTimeline, label: str, deadline: float) -> float:
    """Wait for the reply in flight and add it to the timeline; returns its latency."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        flight.future.cancel()
        raise TimeoutError("job exceeded its time limit (derived from the media's duration)")
    try:
        reply: PredictionsMessage | WarningMessage = flight.future.result(remaining)
    except concurrent.futures.TimeoutError:
        flight.future.cancel()
        raise TimeoutError(
            "job exceeded its time limit (derived from the media's duration)"
        ) from None
    latency = time.monotonic() - flight.sent
    metrics.PAYLOAD_LATENCY.labels(label, "v0").observe(latency)
    metrics.AUDIO_SECONDS.labels("v0").inc(flight.chunk.duration_s)
    chunk = flight.chunk
    timeline.add(chunk.label, chunk.start_s, reply, chunk.duration_s)
    return latency


class _Reset:
    """Clears the stream's context after a job, success or failure, before the job lock is
    released: `start()` sends the reset, the exit waits for it (and sends it first if the
    job failed before starting it). A failed reset has dropped the socket, which leaves no
    context either, so the next job is clean in both cases. Under a fleet-wide connection
    cap with other processes waiting, the socket (and its slot) is handed over instead."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._future: concurrent.futures.Future[bool] | None = None

    def start(self) -> None:
        """Send the reset (or hand the socket over) and return at once."""
        rt = self._rt
        if rt.limiter.others_waiting(rt.worker_id):
            self._future = rt.runner.submit(_hand_over(rt))
        else:
            self._future = rt.runner.submit(rt.runner.reset())

    def __enter__(self) -> _Reset:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._future is None:
                self.start()
            assert self._future is not None
            if self._future.result(RESET_TIMEOUT_S):
                metrics.RESETS.inc()
        except Exception:
            metrics.API_ERRORS.labels("reset").inc()


async def _hand_over(rt: Runtime) -> bool:
    """Close the socket, freeing its slot under the cap; no reset was sent."""
    await rt.runner.drop()
    return False


def done_result(
    job: Job,
    rt: Runtime,
    attempt: int,
    identity: SourceIdentity | None,
    *,
    api_seconds: float,
    decode_seconds: float,
    started: float,
    finished: float,
    **fields: Any,
) -> Result:
    """The `done` Result of a job run on this process (both backends); `fields` are the
    rest of the Result (duration_s, channels, warnings, backend…)."""
    return Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=State.DONE,
        source=_source_identity(job, identity),
        timings=Timings(
            queued_at=job.submitted_at,
            started_at=started,
            finished_at=finished,
            api_seconds=round(api_seconds, 6),
            decode_seconds=round(decode_seconds, 6),
        ),
        attempts=attempt,
        worker=rt.worker_id,
        **fields,
    )


def _source_identity(job: Job, identity: SourceIdentity | None) -> SourceIdentity:
    """The job's source as found when it was read (size, etag, mtime of this version)."""
    if identity is None:
        return job.source
    return identity.model_copy(update={"uri": job.source.uri})
