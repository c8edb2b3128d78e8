"""A real fleet with its secrets where they belong: a 2-process Celery worker whose API key
and Redis URL (ACL user and password) come from mounted-style files, its broker and store
on a TLS-only Redis with its own CA and client certificates, and the producer CLI on the
same Redis. Jobs read a presigned-style HTTP URL (the server answers only with the right
signature) and local files.

Nothing secret may show where someone who should not see it could look: the processes'
command lines (`ps`) and environments, the logs, /metrics, every key in Redis, the results
and their error messages. And no audio is written to disk or Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
import redis
import zstandard

from tests.observability.support import Scrape, get, scrape
from tests.security.conftest import TlsRedis
from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.worker import WorkerProcess
from tests.worker.media.http_files import serve_directory
from worker import keys
from worker.jobs import Result, State

pytestmark = pytest.mark.e2e

API_KEY = f"sec-api-key-{uuid.uuid4().hex}"
SIGNATURE = uuid.uuid4().hex * 2
CREDENTIAL = f"AKIASEC{uuid.uuid4().hex[:12].upper()}"
CALL = [Utterance(0, 0.4, "Thanks for calling."), Utterance(1, 1.6, "My card was charged.")]
LOCAL_CALLS = 2


@dataclass
class Run:
    """What the fleet did and showed, gathered while the worker ran and after its jobs."""

    tls: TlsRedis
    counts: dict[State, int]
    local_counts: dict[str, int]
    presigned_uri: str
    cmdlines: dict[int, str]
    environs: dict[int, str]
    metrics: Scrape
    ready: dict[str, object]
    redis_dump: dict[str, str]
    results: list[Result]
    exported: str
    producer_output: str
    logs: str
    tmpdir_files: list[Path]

    def secrets(self) -> dict[str, str]:
        """Every secret, by what it is (the password as typed and as written in a URL)."""
        return {
            "API key": API_KEY,
            "Redis password": self.tls.password,
            "Redis password (URL-encoded)": quote(self.tls.password, safe=""),
            "URL signature": SIGNATURE,
            "URL credential": CREDENTIAL,
        }


def process_text(proc: psutil.Process, what: str) -> str:
    """/proc/PID/cmdline or environ, NULs as spaces ("" if the process is gone)."""
    try:
        return Path(f"/proc/{proc.pid}/{what}").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def dump_redis(url: str) -> dict[str, str]:
    """Every key of the database and its value as text (results decompressed)."""
    client: Any = redis.Redis.from_url(url)  # replies are bytes (no decode_responses)
    unzstd = zstandard.ZstdDecompressor()
    out: dict[str, str] = {}
    for raw in client.scan_iter(count=500):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "string":
            blob = client.get(raw) or b""
            if blob.startswith(b"\x28\xb5\x2f\xfd"):  # zstd frame
                blob = unzstd.decompress(blob)
            value: object = blob.decode(errors="replace")
        elif kind == "hash":
            value = {k.decode(): v.decode(errors="replace") for k, v in client.hgetall(raw).items()}
        elif kind == "list":
            value = [v.decode(errors="replace") for v in client.lrange(raw, 0, -1)]
        elif kind == "set":
            value = sorted(v.decode() for v in client.smembers(raw))
        else:
            value = [m.decode() for m in client.zrange(raw, 0, -1)]
        out[key] = json.dumps(value) if not isinstance(value, str) else value
    client.close()
    return out


def fleet_env_from_files(
    fleet: Fleet, tls: TlsRedis, secrets_dir: Path, tmpdir: Path
) -> dict[str, str]:
    """The worker's and producer's environment: secrets only as files, TLS files, and a
    private TMPDIR to look into afterwards."""
    key_file = secrets_dir / "hume-api-key"
    key_file.write_text(API_KEY + "\n")
    url_file = secrets_dir / "redis-url"
    url_file.write_text(tls.url() + "\n")
    for path in (key_file, url_file):
        path.chmod(0o400)
    env = fleet.env(
        HUME_API_KEY_FILE=str(key_file),
        REDIS_URL_FILE=str(url_file),
        TMPDIR=str(tmpdir),
        **tls.tls_env(),
    )
    for name in ("REDIS_URL", "HUME_API_KEY"):
        del env[name]
    return env


def without_plain_secrets(env: dict[str, str]) -> dict[str, str]:
    """`os.environ` plus `env`, minus variables that would compete with the files."""
    merged = {**os.environ, **env}
    for name in ("REDIS_URL", "BROKER_URL", "HUME_API_KEY", "HUME_API_KEY_FILE"):
        if name not in env:
            merged.pop(name, None)
    return merged


def producer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "producer", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run(
    tls_redis: TlsRedis, media: MediaFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("secure-fleet")
    secrets_dir, tmpdir, served, local = (work / d for d in ("secrets", "tmp", "http", "calls"))
    for d in (secrets_dir, tmpdir, served / "signed", local):
        d.mkdir(parents=True)
    call = media.call(CALL, seconds=2.5)
    (served / "signed" / "call.wav").write_bytes(call.read_bytes())
    for i in range(LOCAL_CALLS):
        (local / f"call-{i}.wav").write_bytes(media.call(CALL, seconds=2.0 + i).read_bytes())
    query = f"X-Amz-Credential={CREDENTIAL}%2F20261127&X-Amz-Signature={SIGNATURE}"

    with (
        EmulatorProcess(api_keys=(API_KEY,)) as emulator,
        serve_directory(served, signature=SIGNATURE) as base,
    ):
        fleet = Fleet(tls_redis.client_url(), emulator, work)
        env = without_plain_secrets(fleet_env_from_files(fleet, tls_redis, secrets_dir, tmpdir))
        worker = WorkerProcess(env, work / "worker.log", concurrency=2)
        worker.env = env  # without what os.environ may add beside the files
        fleet.workers.append(worker.start())
        try:
            presigned = f"{base}/signed/call.wav?{query}"
            jobs = fleet.jobs_for([presigned, f"{base}/signed/missing.wav?{query}"], "signed")
            fleet.submit(jobs)
            submitted = producer(env, "submit", str(local), "-m", "prosody,burst", "-b", "local")
            watched = producer(env, "status", "local", "--watch", "--timeout", "120", "--json")
            counts = fleet.wait("signed", len(jobs))
            processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(True)]
            cmdlines = {p.pid: process_text(p, "cmdline") for p in processes}
            environs = {p.pid: process_text(p, "environ") for p in processes}
            port = int(env["METRICS_PORT"])
            metrics, ready = scrape(port), get(port, "/readyz").json()
            exported = producer(env, "results", "local")
        finally:
            fleet.stop()
        assert submitted.returncode == 0, submitted.stderr
        assert watched.returncode == 0, watched.stderr + worker.logs()[-3000:]
        assert exported.returncode == 0, exported.stderr
        dump = dump_redis(fleet.redis_url)
        results = [
            Result.model_validate_json(v) for k, v in dump.items() if k.startswith(keys.result(""))
        ]
        yield Run(
            tls=tls_redis,
            counts=counts,
            local_counts=json.loads(watched.stdout.splitlines()[-1])["counts"],
            presigned_uri=presigned,
            cmdlines=cmdlines,
            environs=environs,
            metrics=metrics,
            ready=ready,
            redis_dump=dump,
            results=results,
            exported=exported.stdout,
            producer_output="".join(p.stdout + p.stderr for p in (submitted, watched, exported)),
            logs=worker.logs(),
            tmpdir_files=[p for p in tmpdir.rglob("*") if p.is_file()],
        )


def assert_no_secret(where: str, text: str, run: Run, allow: tuple[str, ...] = ()) -> None:
    for name, value in run.secrets().items():
        if name not in allow:
            assert value not in text, f"the {name} leaked into {where}"


# ------------------------------------------------------------------ it worked, over TLS


def test_the_worker_and_the_producer_ran_jobs_over_tls_as_the_acl_user(run: Run) -> None:
    assert (run.counts[State.DONE], run.counts[State.FAILED]) == (1, 1)
    assert run.local_counts["done"] == LOCAL_CALLS
    assert len(run.results) == LOCAL_CALLS + 2
    assert run.ready == {"ready": True, "checks": {"broker": "ok", "redis": "ok"}}
    # the sampler reads the queue's list through the same TLS connection options
    assert run.metrics.total("hume_fleet_queue_depth") == 0
    assert run.metrics.total("hume_fleet_jobs_total", status="done") == LOCAL_CALLS + 1


def test_the_presigned_url_was_fetched_whole_and_stored_redacted(run: Run) -> None:
    # The server answers only requests carrying the signature: a done job proves the
    # worker fetched with the full URL; its result keeps the parameter names only.
    signed = [r for r in run.results if r.batch_id == "signed"]
    by_state = {r.status: r for r in signed}
    done, failed = by_state[State.DONE], by_state[State.FAILED]
    assert done.duration_s and done.duration_s > 2
    assert done.source.uri.endswith("/signed/call.wav?X-Amz-Credential=***&X-Amz-Signature=***")
    assert failed.error is not None and failed.error.code == "not_found"
    assert "X-Amz-Signature=***" in failed.error.message


# ------------------------------------------------------------------ nothing leaked


def test_no_secret_on_any_command_line_or_in_the_environment(run: Run) -> None:
    assert len(run.cmdlines) >= 3  # the main process and its two pool processes
    for pid, cmdline in run.cmdlines.items():
        assert "celery" in cmdline
        assert_no_secret(f"the command line of {pid} (ps)", cmdline, run)
    for pid, environ in run.environs.items():
        assert "REDIS_URL_FILE=" in environ
        assert_no_secret(f"the environment of {pid}", environ, run)


def test_no_secret_in_the_logs(run: Run) -> None:
    assert '"job.done"' in run.logs and '"job.failed"' in run.logs  # the logs were captured
    assert_no_secret("the worker's log", run.logs, run)
    assert_no_secret("the producer's output", run.producer_output, run)


def test_no_secret_and_no_uri_in_the_metrics(run: Run) -> None:
    assert_no_secret("/metrics", run.metrics.text, run)
    labels = {v for (_, lab) in run.metrics.samples for _, v in lab}
    assert not [v for v in labels if "://" in v or "/" in v], labels


def test_no_credential_in_results_exports_or_dead_letters(run: Run) -> None:
    for result in run.results:
        assert_no_secret(f"the result of {result.job_id}", result.model_dump_json(), run)
    assert_no_secret("`producer results`", run.exported, run)
    assert_no_secret("the dead-letter list", run.redis_dump.get(keys.DEAD, ""), run)


def test_redis_never_holds_the_key_and_holds_a_signature_only_in_the_job_itself(run: Run) -> None:
    # The job hash keeps the Job as submitted, so `producer retry` can send it again: that
    # is the one place a presigned URL's signature lives (until the job's TTL).
    for key, value in run.redis_dump.items():
        if key.startswith(keys.job("")):
            fields = json.loads(value)
            job = fields.pop("job")
            assert API_KEY not in job
            value = json.dumps(fields)
        assert_no_secret(f"Redis key {key}", value, run)


def test_no_audio_is_written_to_disk_or_redis(run: Run) -> None:
    assert run.tmpdir_files == []
    for key, value in run.redis_dump.items():
        assert "RIFF" not in value and "UklGR" not in value, f"audio in Redis key {key}"
