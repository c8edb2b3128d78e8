"""The installed `producer` console script, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.producer.conftest import ProducerEnv
from worker.jobs import State

PRODUCER = Path(sys.executable).parent / "producer"


def producer(*args: str, env: ProducerEnv) -> subprocess.CompletedProcess[str]:
    assert PRODUCER.exists(), f"{PRODUCER} missing: install the project (`make venv`)"
    return subprocess.run(
        [str(PRODUCER), *args],
        env={**os.environ, "REDIS_URL": env.redis_url, "FLEET_QUEUE": env.queue},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_submit_status_and_bad_input_as_a_process(
    producer_env: ProducerEnv, tmp_path: Path
) -> None:
    for name in ("one.wav", "two.ogg", "skip.txt"):
        (tmp_path / name).write_bytes(b"RIFF....")
    done = producer(
        "submit", str(tmp_path), "-m", "prosody", "-b", "proc", "--json", env=producer_env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["batch_id"], report["enqueued"]) == ("proc", 2)
    assert len(producer_env.messages()) == 2
    assert producer_env.store.counts("proc")[State.QUEUED] == 2

    status = producer("status", "proc", "--json", env=producer_env)
    assert status.returncode == 0 and json.loads(status.stdout)["counts"]["queued"] == 2

    bad = producer("submit", str(tmp_path), "-m", "ner", env=producer_env)
    assert bad.returncode == 2
    assert "NerConfig is not supported by the streaming API" in bad.stderr
    assert bad.stdout == ""
    usage = producer("submit", env=producer_env)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
