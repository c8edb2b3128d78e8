"""The same generated calls on both backends (HUME_API=v0 and v1): real Redis, a real
emulator process serving both APIs, a real Celery worker. Speech lands at its known offset
on its own channel, every job has exactly one result, and the worker's /metrics count the
jobs and the audio under the backend that ran them.

v1 paces audio at real time, so its calls are short (5 s) and run at once: one worker
process with the threads pool runs all of them, each channel in a session of its own on
the process's one event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.observability.support import scrape
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from worker import keys
from worker.jobs import Result, State

pytestmark = pytest.mark.e2e

TOLERANCE_S = 0.25
CALLS = 6
SECONDS = 5.0
AGENT = ("Hello, how can I help?", "Thanks for calling us.", "One moment please.")
CUSTOMER = ("My bill is wrong.", "I was charged twice.", "Please cancel it.")
#: backend → (the result's model key, worker pool, processes or threads)
BACKENDS = {"v0": ("prosody", "prefork", 2), "v1": ("audio", "threads", CALLS)}


def short_calls(media: MediaFactory) -> list[tuple[Path, list[Utterance]]]:
    """CALLS stereo 8 kHz calls of 5 s: the agent (channel 0) first, then the customer."""
    calls = []
    for i in range(CALLS):
        utterances = [
            Utterance(0, 0.3 + 0.1 * (i % 4), AGENT[i % 3]),
            Utterance(1, 2.8 + 0.1 * (i % 3), CUSTOMER[i % 3]),
        ]
        suffix = ("wav", "mp3", "flac")[i % 3]
        calls.append((media.call(utterances, seconds=SECONDS, suffix=suffix), utterances))
    return calls


def assert_speech_at_known_offsets(result: Result, utterances: list[Utterance], model: str) -> None:
    channels = {c.index: c for c in result.channels}
    assert [channels[i].label for i in sorted(channels)] == ["agent", "customer"]
    for u in utterances:
        begins = [p["time"]["begin"] for p in channels[u.channel].predictions.get(model, [])]
        assert any(abs(b - u.start) <= TOLERANCE_S for b in begins), (
            f"{result.backend} {result.source.uri}: nothing on channel {u.channel} near "
            f"{u.start}s: {begins}"
        )
        other = channels[1 - u.channel].predictions.get(model, [])
        assert not any(abs(p["time"]["begin"] - u.start) <= TOLERANCE_S for p in other), (
            f"{result.backend}: channel {u.channel}'s speech at {u.start}s leaked across"
        )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_same_calls_on_both_backends(
    backend: str, fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    model, pool, concurrency = BACKENDS[backend]
    calls = short_calls(media)
    fleet = fleet_factory()
    worker = fleet.start_worker(concurrency=concurrency, pool=pool, HUME_API=backend)
    batch = f"backends-{backend}"
    jobs = fleet.jobs_for([p for p, _ in calls], batch_id=batch)
    fleet.submit(jobs)
    counts = fleet.wait(batch, len(jobs), timeout=90)
    assert counts[State.DONE] == CALLS, counts

    for job, (_, utterances) in zip(jobs, calls, strict=True):
        result = fleet.store.result(job.job_id)
        assert result is not None and result.status is State.DONE, fleet.logs()[-3000:]
        assert result.backend == backend and result.attempts == 1
        assert result.label_set == ("v1-audio-415" if backend == "v1" else "v0-48")
        assert result.duration_s is not None and abs(result.duration_s - SECONDS) < 0.1
        assert_speech_at_known_offsets(result, utterances, model)
        for channel in result.channels:
            assert channel.summary[model].segments >= 1
            if backend == "v1":
                assert len(channel.sessions) == 1  # one session per recording and channel
    assert len(fleet.store.client.keys(keys.result("*"))) == CALLS  # one result per job

    metrics = scrape(int(worker.env["METRICS_PORT"]))
    assert metrics.value("hume_fleet_jobs_total", status="done", backend=backend) == CALLS
    other = "v0" if backend == "v1" else "v1"
    assert metrics.total("hume_fleet_jobs_total", backend=other) == 0
    assert metrics.value("hume_fleet_audio_seconds_total", backend=backend) > 0
    assert metrics.total("hume_fleet_payload_latency_seconds_count", backend=backend) > 0

    if backend == "v1":
        sessions = [e for e in fleet.emulator.events() if e["event"] == "session"]
        assert len(sessions) == 2 * CALLS
        assert all(e["reason"] == "client_request" for e in sessions)
        # Silence is not streamed: every session took in less audio than its channel.
        assert all(e["audio_ms"] < SECONDS * 1000 for e in sessions)
        accepted = sum(e["audio_ms"] for e in sessions) / 1000
        assert metrics.value("hume_fleet_audio_seconds_total", backend="v1") == pytest.approx(
            accepted
        )
        assert metrics.value("hume_fleet_billed_seconds_total", backend="v1") >= 10 * 2 * CALLS
