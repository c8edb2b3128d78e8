"""The producer takes no secret on its command line: a webhook URL (often a credential, its
token in the path) can come from PRODUCER_NOTIFY_URL(_FILE), and messages show only its
scheme and host."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.producer.test_status import Receiver
from worker.jobs import Job, Result, SourceIdentity, State, Timings
from worker.store import JobStore

TOKEN = "T0SECRET/B0SECRET/xoxWebhookToken42"


def finished_batch(store: JobStore, batch: str) -> None:
    job = Job(
        job_id=f"{batch}-1",
        batch_id=batch,
        source=SourceIdentity(uri="/calls/a.wav"),
        models={"burst": {}},
        submitted_at=time.time(),
    )
    store.create_batch(batch, {"total": 1})
    store.mark_queued([job])
    store.finish(
        Result(
            job_id=job.job_id,
            batch_id=batch,
            status=State.DONE,
            source=job.source,
            timings=Timings(started_at=1.0, finished_at=2.0),
            attempts=1,
            worker="w:1",
        )
    )


def test_the_notify_url_comes_from_a_file_and_is_never_shown(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    finished_batch(JobStore(redis_client, result_ttl_s=60), "hooked")
    receiver = Receiver()
    hook = receiver.url.split("/hook")[0] + f"/services/{TOKEN}"
    url_file = tmp_path / "notify-url"
    url_file.write_text(hook + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_NOTIFY")}
    env.update(REDIS_URL=redis_url, PRODUCER_NOTIFY_URL_FILE=str(url_file))
    env.pop("BROKER_URL", None)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "producer", "status", "hooked", "--watch", "--json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        receiver.close()
    assert result.returncode == 0, result.stderr
    assert len(receiver.bodies) == 1 and receiver.bodies[0]["batch_id"] == "hooked"
    port = hook.split(":")[2].split("/")[0]
    assert f"notified http://127.0.0.1:{port} (HTTP 200)" in result.stderr
    assert "T0SECRET" not in result.stdout + result.stderr
