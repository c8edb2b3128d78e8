"""Observability of a real worker: `celery -A worker.app worker --concurrency 2` runs jobs
from a real S3-compatible server (moto) against a real emulator; its /metrics add up
across the two pool processes, and nothing it logs holds the API key, the S3 secret or a
presigned URL's signature."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import redis
from botocore.config import Config

from tests.observability.support import Scrape, get, promtool, scrape
from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.s3 import s3_client
from tests.support.worker import WorkerProcess
from worker.jobs import State

pytestmark = pytest.mark.e2e

#: Jobs read from s3:// that finish `done`; one more comes from a presigned https URL and
#: one names a missing object (finishes `failed`).
S3_JOBS = 5
API_KEY = f"obs-api-key-{uuid.uuid4().hex}"
S3_SECRET = f"obsS3Secret{uuid.uuid4().hex}"
BUCKET = "obs-calls"
CALL = [Utterance(0, 0.4, "Thanks for calling."), Utterance(1, 2.0, "My bill is wrong.")]


@dataclass
class Run:
    """What one worker did, looked at after its jobs finished and again after it stopped."""

    worker: WorkerProcess
    fleet: Fleet
    metrics: Scrape
    ready: dict[str, Any]
    counts: dict[State, int]
    child_pids: set[int]
    signature: str
    multiproc_dir: Path
    logs: str


@pytest.fixture(scope="module")
def run(
    redis_server_url: str,
    redis_test_db: int,
    s3_endpoint: str,
    media: MediaFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    redis_url = f"{redis_server_url}/{redis_test_db}"
    redis.Redis.from_url(redis_url).flushdb()
    s3 = s3_client(s3_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    keys = []
    for i in range(S3_JOBS + 1):
        keys.append(f"2026/call-{i}.wav")
        s3.upload_file(str(media.call(CALL, seconds=3.0 + i)), BUCKET, keys[-1])
    signer = boto3.client("s3", endpoint_url=s3_endpoint, config=Config(signature_version="s3v4"))
    presigned = signer.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": keys[-1]}, ExpiresIn=600
    )
    signature = parse_qs(urlsplit(presigned).query)["X-Amz-Signature"][0]

    with EmulatorProcess(api_keys=(API_KEY,)) as emulator:
        fleet = Fleet(redis_url, emulator, tmp_path_factory.mktemp("obs-worker"))
        try:
            worker = fleet.start_worker(concurrency=2, AWS_SECRET_ACCESS_KEY=S3_SECRET)
            port = int(worker.env["METRICS_PORT"])
            try:
                get(port, "/healthz")
            except OSError as exc:
                pytest.fail(
                    f"the worker serves nothing on METRICS_PORT {port} ({exc}): worker/app.py "
                    "must call `observability.install(app, settings)`",
                    pytrace=False,
                )
            uris = [f"s3://{BUCKET}/{k}" for k in keys[:-1]]
            jobs = fleet.jobs_for([*uris, presigned, f"s3://{BUCKET}/2026/missing.wav"], "obs")
            fleet.submit(jobs)
            counts = fleet.wait("obs", len(jobs))
            metrics, ready = scrape(port), get(port, "/readyz").json()
            results = [fleet.store.result(job.job_id) for job in jobs]
            child_pids = {int(r.worker.rsplit(":", 1)[1]) for r in results if r and r.worker}
        finally:
            fleet.stop()
        yield Run(
            worker=worker,
            fleet=fleet,
            metrics=metrics,
            ready=ready,
            counts=counts,
            child_pids=child_pids,
            signature=signature,
            multiproc_dir=Path(worker.env["PROMETHEUS_MULTIPROC_DIR"]),
            logs=worker.logs(),
        )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_jobs_ran_on_both_pool_processes(run: Run) -> None:
    assert (run.counts[State.DONE], run.counts[State.FAILED]) == (S3_JOBS + 1, 1)
    assert len(run.child_pids) == 2, run.child_pids


def test_counts_add_up_across_processes(run: Run) -> None:
    m, jobs = run.metrics, S3_JOBS + 2
    assert m.value("hume_fleet_jobs_total", status="done", backend="v0") == S3_JOBS + 1
    assert m.value("hume_fleet_jobs_total", status="failed", backend="v0") == 1
    assert m.value("hume_fleet_jobs_total", status="dead", backend="v0") == 0
    assert m.value("hume_fleet_job_duration_seconds_count") == jobs
    assert m.value("hume_fleet_job_duration_seconds_bucket", le="+Inf") == jobs
    assert m.value("hume_fleet_media_decode_seconds_count") == S3_JOBS + 1
    assert m.value("hume_fleet_stream_resets_total") >= S3_JOBS + 1
    assert m.total("hume_fleet_payload_latency_seconds_count") >= 2 * (S3_JOBS + 1)
    assert m.value("hume_fleet_audio_seconds_total", backend="v0") >= 2 * sum(
        3.0 + i for i in range(S3_JOBS)
    )
    assert m.value("hume_fleet_jobs_in_progress") == 0
    assert m.value("hume_fleet_api_errors_total", code="not_found") == 1
    # Each pool process wrote its own files; the main process merged them.
    for pid in run.child_pids:
        assert (run.multiproc_dir / f"counter_{pid}.db").exists()


def test_the_scrape_passes_promtool(run: Run) -> None:
    result = promtool("check", "metrics", stdin=run.metrics.text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_queue_is_sampled_and_the_worker_is_ready(run: Run) -> None:
    assert run.metrics.value("hume_fleet_queue_depth", queue=run.fleet.queue) >= 0
    assert run.ready == {"ready": True, "checks": {"broker": "ok", "redis": "ok"}}


def test_children_that_exited_left_no_live_gauges(run: Run) -> None:
    assert run.worker.proc is not None and run.worker.proc.returncode == 0
    left = {p.name for p in run.multiproc_dir.glob("gauge_livesum_*.db")}
    assert not {f"gauge_livesum_{pid}.db" for pid in run.child_pids} & left


def test_no_secret_reaches_the_logs(run: Run) -> None:
    assert '"job.done"' in run.logs and '"job.failed"' in run.logs  # the logs were captured
    for secret in (API_KEY, S3_SECRET, run.signature):
        assert secret not in run.logs, f"a secret leaked into the worker's output:\n{run.logs}"


def test_every_job_line_carries_the_job_context(run: Run) -> None:
    job_lines = [e for e in json_lines(run.logs) if str(e.get("event", "")).startswith("job.")]
    assert len(job_lines) >= S3_JOBS + 2
    for line in job_lines:
        assert {"job_id", "batch_id", "uri", "attempt"} <= line.keys(), line
        assert line["batch_id"] == "obs"
    presigned = [e["uri"] for e in job_lines if e["uri"].startswith("http")]
    assert presigned and all("X-Amz-Signature=***" in uri for uri in presigned)


def test_celery_own_lines_are_json_too(run: Run) -> None:
    loggers = {e.get("logger") for e in json_lines(run.logs)}
    assert {"celery.apps.worker", "celery.app.trace", "worker.observability"} <= loggers
