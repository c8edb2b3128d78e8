"""Fixtures for the producer: its environment on a real Redis, a real moto S3 server holding
a bucket of ~200 objects, and the CLI run in-process."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner
from typer.testing import Result as CliResult

from producer.cli import app
from tests.support.s3 import s3_client
from worker import keys
from worker.jobs import ChannelResult, ErrorInfo, Job, Result, State, Timings
from worker.store import JobStore
from worker.summary import summarise

MEDIA_SUFFIXES = ("wav", "mp3", "flac", "ogg", "opus", "m4a", "MP4", "webm", "mkv", "amr")
OTHER_NAMES = ("notes.txt", "index.json", "README", "calls.csv", "thumb.jpg")


@dataclass(frozen=True)
class Bucket:
    """What the test bucket holds: `media` are the keys a submit must turn into jobs."""

    name: str
    media: frozenset[str]
    others: frozenset[str]
    empty_media: frozenset[str]

    def uri(self, prefix: str = "") -> str:
        return f"s3://{self.name}/{prefix}".rstrip("/")


@pytest.fixture(scope="session")
def calls_bucket(s3_endpoint: str) -> Bucket:
    """A bucket of 200 objects: media of many types under nested prefixes (unicode names,
    URL-encoded names, spaces), non-media files, a zero-byte recording, folder markers."""
    client = s3_client(s3_endpoint)
    name = f"calls-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    media: set[str] = set()
    others: set[str] = set()
    for i in range(160):
        day = f"2026-11/day-{i % 4:02d}"
        sub = "agent/queue-a" if i % 3 else "customer"
        media.add(f"{day}/{sub}/call-{i:03d}.{MEDIA_SUFFIXES[i % len(MEDIA_SUFFIXES)]}")
    media |= {
        "intl/café-été/appel 1.wav",
        "intl/日本/通話.mp3",
        "intl/Ünïcødé-ñame.flac",
        "encoded/a%20b.wav",
        "encoded/100%25-sure.ogg",
        "encoded/x%2Fy%3Fz.m4a",
        "spaces/a call with spaces.wav",
        "top-level.wav",
    }
    for i in range(29):
        others.add(f"2026-11/day-{i % 4:02d}/meta/{OTHER_NAMES[i % len(OTHER_NAMES)]}.{i}")
    empty_media = {"2026-11/zero-bytes.wav"}
    for key in sorted(media):
        client.put_object(Bucket=name, Key=key, Body=f"media {key}".encode())
    for key in sorted(others):
        client.put_object(Bucket=name, Key=key, Body=b"not media")
    for key in empty_media:
        client.put_object(Bucket=name, Key=key, Body=b"")
    for marker in ("2026-11/", "empty-folder/"):
        client.put_object(Bucket=name, Key=marker, Body=b"")
    client.create_bucket(Bucket=f"{name}-empty")
    assert len(media) + len(others) + len(empty_media) + 2 == 200
    return Bucket(name, frozenset(media), frozenset(others), frozenset(empty_media))


@dataclass
class ProducerEnv:
    """The producer's environment for one test: its own queue on the test Redis."""

    redis_url: str
    queue: str
    client: redis.Redis
    store: JobStore

    def messages(self) -> list[dict[str, Any]]:
        """The task messages waiting in the queue (every priority list), oldest first."""
        out = []
        for key in sorted(self.client.keys(f"{self.queue}*")):
            if self.client.type(key) == b"list":
                out += [json.loads(m) for m in reversed(self.client.lrange(key, 0, -1))]
        return out

    def jobs_sent(self) -> list[dict[str, Any]]:
        """The Job argument of every waiting message."""
        sent = []
        for message in self.messages():
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            sent.append(args[0])
        return sent


@pytest.fixture
def producer_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProducerEnv]:
    queue = f"ptest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("BROKER_URL", raising=False)
    monkeypatch.setenv("FLEET_QUEUE", queue)
    monkeypatch.delenv("PRODUCER_DEFAULT_SCHEME", raising=False)
    client = redis.Redis.from_url(redis_url)
    yield ProducerEnv(redis_url, queue, client, JobStore(client, result_ttl_s=3600))
    client.close()


Run = Callable[..., CliResult]


@pytest.fixture
def run(producer_env: ProducerEnv) -> Run:
    """Run `producer ARGS…` in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str | Path) -> CliResult:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


@dataclass(frozen=True)
class FinishedBatch:
    """A batch submitted through the CLI whose jobs a worker has (partly) finished."""

    batch_id: str
    done: list[Job]
    failed: list[Job]
    dead: list[Job]
    queued: list[Job]


@pytest.fixture
def finished_batch(run: Run, producer_env: ProducerEnv, tmp_path: Path) -> FinishedBatch:
    """8 recordings submitted as batch "calls": 3 done (two channels, two models), 2 failed,
    1 dead, 2 still queued — written with the store's own worker-side calls."""
    media = tmp_path / "calls"
    media.mkdir()
    for i in range(8):
        (media / f"call-{i}.wav").write_bytes(b"RIFF" + bytes([i]) * 64)
    result = run("submit", media, "-m", "prosody,burst", "-b", "calls")
    assert result.exit_code == 0, result.stderr
    jobs = sorted((Job.model_validate(j) for j in producer_env.jobs_sent()), key=lambda j: j.uri)
    producer_env.client.delete(producer_env.queue)  # as if workers had taken them
    for job in jobs[:3]:
        producer_env.store.finish(done_result(job))
    for job, (code, message) in zip(
        jobs[3:5],
        [("E0202", "No audio signal in the payload"), ("media_unreadable", "not a WAV file")],
        strict=True,
    ):
        producer_env.store.finish(failed_result(job, State.FAILED, code, message))
    producer_env.store.dead_letter(
        failed_result(jobs[5], State.DEAD, "E0202", "No audio signal (last attempt)")
    )
    producer_env.client.hset(keys.job(jobs[5].job_id), "attempts", 5)  # as deliveries counted
    return FinishedBatch("calls", jobs[:3], jobs[3:5], jobs[5:6], jobs[6:])


def done_result(job: Job) -> Result:
    """A done result: agent and customer channels, prosody and burst summaries."""
    now = time.time()
    channels = []
    for index, label in ((0, "agent"), (1, "customer")):
        predictions = {
            model: [
                {
                    "time": {"begin": 0.5 * k, "end": 0.5 * k + 0.4},
                    "emotions": [
                        {"name": name, "score": score / (k + 1 + index)}
                        for name, score in EMOTIONS.items()
                    ],
                }
                for k in range(2)
            ]
            for model in ("prosody", "burst")
        }
        channels.append(
            ChannelResult(
                index=index,
                label=label,
                predictions=predictions,
                summary={m: summarise(p) for m, p in predictions.items()},
                payloads=1,
            )
        )
    return Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=State.DONE,
        source=job.source,
        duration_s=9.5,
        channels=channels,
        timings=Timings(queued_at=job.submitted_at, started_at=now - 1, finished_at=now),
        attempts=1,
        worker="w1@test",
    )


def failed_result(job: Job, state: State, code: str, message: str) -> Result:
    now = time.time()
    return Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=state,
        source=job.source,
        error=ErrorInfo(code=code, message=message),
        timings=Timings(started_at=now, finished_at=now),
        attempts=5 if state is State.DEAD else 1,
        worker="w1@test",
    )


EMOTIONS = {
    "Joy": 0.9,
    "Calmness": 0.8,
    "Interest": 0.7,
    "Anger": 0.6,
    "Sadness": 0.5,
    "Boredom": 0.1,
}
