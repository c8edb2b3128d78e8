"""The worker fleet end to end: real Redis, a real emulator process, real Celery workers
with 2 prefork processes, generated stereo calls with speech at known offsets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.observability.support import scrape
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from worker.jobs import Result, State

TOLERANCE_S = 0.25
LINES = (
    "Thank you for calling, how can I help you?",
    "I was charged twice on my bill.",
    "Let me look into that for you right away.",
    "That is wonderful, thank you so much.",
)
SUFFIXES = ("wav", "mp3", "flac", "ogg")


def generated_calls(media: MediaFactory, n: int) -> list[tuple[Path, list[Utterance]]]:
    """n stereo 8 kHz calls, the agent (channel 0) and customer (1) at offsets that vary."""
    calls = []
    for i in range(n):
        agent_at = 0.3 + 0.1 * (i % 5)
        customer_at = 4.0 + 0.15 * (i % 4)
        utterances = [
            Utterance(0, agent_at, LINES[i % 4]),
            Utterance(1, customer_at, LINES[(i + 1) % 4]),
        ]
        path = media.call(utterances, seconds=8.0, rate=8000, suffix=SUFFIXES[i % 4])
        calls.append((path, utterances))
    return calls


def assert_speech_at_known_offsets(result: Result, utterances: list[Utterance]) -> None:
    channels = {c.index: c for c in result.channels}
    assert [channels[i].label for i in sorted(channels)] == ["agent", "customer"]
    for u in utterances:
        segments = channels[u.channel].predictions.get("prosody", [])
        begins = [s["time"]["begin"] for s in segments]
        assert any(abs(b - u.start) <= TOLERANCE_S for b in begins), (
            f"{result.source.uri}: no prosody segment on channel {u.channel} near {u.start}s: "
            f"{begins}"
        )
        other = channels[1 - u.channel].predictions.get("prosody", [])
        assert not any(abs(s["time"]["begin"] - u.start) <= TOLERANCE_S for s in other), (
            f"channel {u.channel}'s speech at {u.start}s leaked into the other channel"
        )


def requests_by_connection(events: list[dict[str, Any]]) -> dict[int, list[tuple[str, str]]]:
    """conn → [(kind, job id or '')] in order."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e["t"]):
        if e["event"] == "request":
            job = (e.get("payload_id") or "").split("/")[0]
            out[e["conn"]].append((e["kind"], job))
    return out


def assert_one_reset_after_each_job(events: list[dict[str, Any]], job_ids: set[str]) -> None:
    seen_jobs: set[str] = set()
    for conn, requests in requests_by_connection(events).items():
        current: str | None = None
        resets_since_current = 0
        for kind, job in requests:
            if kind == "reset":
                assert current is not None, f"conn {conn}: reset before any job"
                resets_since_current += 1
                continue
            assert kind == "data", (conn, kind)
            if job != current:
                if current is not None:
                    assert resets_since_current == 1, (
                        f"conn {conn}: {resets_since_current} resets between {current} and {job}"
                    )
                assert job not in seen_jobs, f"job {job} came back after another job started"
                seen_jobs.add(job)
                current, resets_since_current = job, 0
            else:
                assert resets_since_current == 0, f"conn {conn}: reset inside job {job}"
        assert resets_since_current == 1, f"conn {conn}: last job not followed by one reset"
    assert seen_jobs == job_ids


def test_twenty_calls_land_at_known_offsets_with_one_socket_per_process(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    calls = generated_calls(media, 20)
    fleet = fleet_factory()
    fleet.start_worker(concurrency=2)
    jobs = fleet.jobs_for([p for p, _ in calls], batch_id="e2e-20")
    fleet.submit(jobs)
    counts = fleet.wait("e2e-20", len(jobs))
    assert counts[State.DONE] == 20, counts

    for job, (_, utterances) in zip(jobs, calls, strict=True):
        result = fleet.store.result(job.job_id)
        assert result is not None and result.status is State.DONE
        assert result.duration_s is not None and abs(result.duration_s - 8.0) < 0.1
        assert result.attempts == 1
        assert_speech_at_known_offsets(result, utterances)
        for channel in result.channels:
            summary = channel.summary["prosody"]
            assert len(summary.top) == 5 and summary.segments >= 1
            assert all(0.0 <= e.mean <= e.peak <= 1.0 for e in summary.emotions)

    events = fleet.emulator.events()
    opened = [e for e in events if e["event"] == "open"]
    assert len(opened) == 2, "one long-lived connection per worker process"
    assert_one_reset_after_each_job(events, {j.job_id for j in jobs})


def test_dropped_connections_are_survived_and_counted(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    calls = generated_calls(media, 10)
    fleet = fleet_factory("--drop-rate", "0.2", "--seed", "7")
    worker = fleet.start_worker(concurrency=2)
    jobs = fleet.jobs_for([p for p, _ in calls], batch_id="e2e-drops")
    fleet.submit(jobs)
    counts = fleet.wait("e2e-drops", len(jobs))
    assert counts[State.DONE] == 10, counts
    for job, (_, utterances) in zip(jobs, calls, strict=True):
        result = fleet.store.result(job.job_id)
        assert result is not None
        assert_speech_at_known_offsets(result, utterances)
    events = fleet.emulator.events()
    opened = sum(1 for e in events if e["event"] == "open")
    assert opened > 2, "drops should have forced reconnects"
    metrics = scrape(int(worker.env["METRICS_PORT"]))
    assert metrics.total("hume_fleet_socket_reconnects_total") == opened - 2
    assert metrics.total("hume_fleet_jobs_total", status="done") == 10


def test_a_bad_file_fails_alone_with_a_clear_error(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    calls = generated_calls(media, 4)
    bad = media.raw("not-audio.mp3", b"this is a text file, not an mp3\n" * 20)
    fleet = fleet_factory()
    fleet.start_worker(concurrency=2)
    paths = [calls[0][0], calls[1][0], bad, calls[2][0], calls[3][0]]
    jobs = fleet.jobs_for(paths, batch_id="e2e-bad")
    fleet.submit(jobs)
    counts = fleet.wait("e2e-bad", len(jobs))
    assert counts[State.DONE] == 4 and counts[State.FAILED] == 1, counts
    failed = fleet.store.result(jobs[2].job_id)
    assert failed is not None and failed.status is State.FAILED and failed.error is not None
    assert failed.error.code == "corrupt"
    assert "not-audio.mp3" in failed.error.message
    assert fleet.store.job_state(jobs[2].job_id)["error_code"] == "corrupt"
