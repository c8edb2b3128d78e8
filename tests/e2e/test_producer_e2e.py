"""The producer end to end: `producer submit` of generated calls (a local directory and a
real moto S3 bucket), real Celery worker processes against a real emulator, then
`producer status --watch`, `producer results` and an idempotent re-submit."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.s3 import s3_client
from worker.jobs import Result, State

pytestmark = pytest.mark.e2e

PRODUCER = Path(sys.executable).parent / "producer"
LINES = (
    "Thank you for calling, how can I help you today?",
    "I was charged twice on my bill and I am upset.",
    "I am so sorry, let me fix that for you right away.",
)


def producer(fleet: Fleet, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    assert PRODUCER.exists(), f"{PRODUCER} missing: install the project (`make venv`)"
    env = {**os.environ, "REDIS_URL": fleet.redis_url, "FLEET_QUEUE": fleet.queue}
    env.pop("BROKER_URL", None)
    return subprocess.run(
        [str(PRODUCER), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_submit_watch_and_export_with_real_workers(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, s3_endpoint: str, tmp_path: Path
) -> None:
    local = tmp_path / "calls"
    local.mkdir()
    for i, suffix in enumerate(("wav", "mp3", "flac")):
        call = media.call(
            [Utterance(0, 0.3 + 0.1 * i, LINES[i]), Utterance(1, 4.0, LINES[(i + 1) % 3])],
            seconds=7.0,
            suffix=suffix,
        )
        (local / f"call-{i}.{suffix}").write_bytes(call.read_bytes())
    (local / "notes.txt").write_text("not media")
    bucket = "e2e-calls"
    s3 = s3_client(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="2026-11/café call.ogg", Body=media.call(
        [Utterance(1, 0.5, LINES[1])], seconds=5.0, suffix="ogg").read_bytes())  # fmt: skip

    fleet = fleet_factory()
    worker_env = {"AWS_ENDPOINT_URL": s3_endpoint}
    fleet.start_worker(concurrency=2, **worker_env)

    submitted = producer(
        fleet, "submit", str(local), f"s3://{bucket}/2026-11", "-m", "prosody,burst",
        "-b", "e2e-producer", "--json",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    assert json.loads(submitted.stdout)["enqueued"] == 4

    watched = producer(
        fleet, "status", "e2e-producer", "--watch", "--json", "--interval", "0.5",
        "--timeout", "150",
    )  # fmt: skip
    assert watched.returncode == 0, watched.stderr + fleet.logs()[-4000:]
    final = json.loads(watched.stdout.splitlines()[-1])
    assert final["counts"]["done"] == 4, (final, fleet.logs()[-4000:])

    jsonl = producer(fleet, "results", "e2e-producer")
    assert jsonl.returncode == 0, jsonl.stderr
    results = [Result.model_validate_json(line) for line in jsonl.stdout.splitlines()]
    assert {r.status for r in results} == {State.DONE}
    assert {r.source.uri for r in results} == {
        *(f"file://{local}/call-{i}.{s}" for i, s in enumerate(("wav", "mp3", "flac"))),
        f"s3://{bucket}/2026-11/café call.ogg",
    }
    for result in results:
        assert [c.label for c in result.channels] == ["agent", "customer"]

    table = producer(fleet, "results", "e2e-producer", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    prosody = [r for r in rows if r["model"] == "prosody"]
    # every call has speech on the customer channel, the three local ones on both
    assert {(r["uri"].rsplit("/", 1)[1], r["label"]) for r in prosody} >= {
        ("call-0.wav", "agent"),
        ("call-0.wav", "customer"),
        ("café call.ogg", "customer"),
    }
    assert all(len(r["top_emotions"].split(";")) == 5 and r["top1_mean"] for r in prosody)

    again = producer(fleet, "submit", str(local), f"s3://{bucket}/2026-11", "-m", "prosody,burst",
                     "--json")  # fmt: skip
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["enqueued"], report["skipped"]) == (0, {"done": 4})
