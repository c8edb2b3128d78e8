"""A whole fleet on this machine for end-to-end tests: Redis, the emulator, Celery workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from subprocess import CompletedProcess

import redis
from celery import Celery

from tests.support.emulator import EmulatorProcess
from tests.support.net import free_port
from tests.support.worker import WorkerProcess
from worker.jobs import FINAL_STATES, TASK_NAME, Job, JobOptions, SourceIdentity, State, job_id_for
from worker.store import JobStore


class Fleet:
    """Workers of one test on their own queue, with a sender and a view of the store."""

    def __init__(self, redis_url: str, emulator: EmulatorProcess, workdir: Path) -> None:
        self.redis_url = redis_url
        self.emulator = emulator
        self.workdir = workdir
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.workers: list[WorkerProcess] = []
        self.client = redis.Redis.from_url(redis_url)
        self.store = JobStore(self.client, result_ttl_s=3600)
        self.sender = Celery("test-sender", broker=redis_url)
        self.sender.conf.task_serializer = "json"

    def env(self, **extra: str) -> dict[str, str]:
        multiproc = self.workdir / f"prom-{uuid.uuid4().hex[:6]}"
        multiproc.mkdir()
        return {
            "HUME_API_KEY": self.emulator.api_key,
            "HUME_STREAM_URL": self.emulator.url,
            "HUME_REALTIME_URL": self.emulator.realtime_url,
            "REDIS_URL": self.redis_url,
            "FLEET_QUEUE": self.queue,
            "LOG_FORMAT": "json",
            "METRICS_PORT": str(free_port()),
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            **extra,
        }

    def use_broker(self, broker_url: str) -> None:
        """Send jobs through another broker (the store stays on Redis)."""
        self.sender.close()
        self.sender = Celery("test-sender", broker=broker_url)
        self.sender.conf.task_serializer = "json"

    def start_worker(
        self, concurrency: int = 2, pool: str = "prefork", **env: str
    ) -> WorkerProcess:
        # Fleets may share a workdir: each worker gets a log file of its own.
        log = self.workdir / f"worker-{self.queue}-{len(self.workers)}.log"
        worker = WorkerProcess(self.env(**env), log, concurrency=concurrency, pool=pool).start()
        self.workers.append(worker)
        return worker

    def jobs_for(
        self,
        paths: Iterable[Path | str],
        batch_id: str,
        models: dict[str, dict[str, object]] | None = None,
    ) -> list[Job]:
        models = models or {"prosody": {}, "burst": {}}
        jobs = []
        for path in paths:
            uri = str(path)
            size = Path(uri).stat().st_size if Path(uri).exists() else None
            source = SourceIdentity(uri=uri, size=size)
            job_id = job_id_for(source, models, JobOptions())
            jobs.append(
                Job(job_id=job_id, batch_id=batch_id, source=source, models=models,
                    submitted_at=time.time())
            )  # fmt: skip
        return jobs

    def submit(self, jobs: Sequence[Job]) -> None:
        self.store.mark_queued(jobs)
        for job in jobs:
            self.sender.send_task(TASK_NAME, args=[job.model_dump(mode="json")], queue=self.queue)

    def wait(self, batch_id: str, total: int, timeout: float = 120.0) -> dict[State, int]:
        """Block until every job of the batch is final; returns the counts."""
        deadline = time.monotonic() + timeout
        counts = self.store.counts(batch_id)
        while time.monotonic() < deadline:
            counts = self.store.counts(batch_id)
            if sum(counts[s] for s in FINAL_STATES) >= total:
                return counts
            time.sleep(0.2)
        logs = "\n".join(w.logs()[-3000:] for w in self.workers)
        raise TimeoutError(f"batch {batch_id} not finished in {timeout}s: {counts}\n{logs}")

    def producer(self, *args: str, timeout: float = 120, **env: str) -> CompletedProcess[str]:
        """Run the `producer` CLI on this fleet's store and queue (extra environment in env)."""
        binary = Path(sys.executable).parent / "producer"
        assert binary.exists(), f"{binary} missing: install the project (`make venv`)"
        environ = {**os.environ, "REDIS_URL": self.redis_url, "FLEET_QUEUE": self.queue, **env}
        environ.pop("BROKER_URL", None)
        return subprocess.run(
            [str(binary), *args], env=environ, capture_output=True, text=True, timeout=timeout
        )

    def logs(self) -> str:
        return "\n".join(w.logs() for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.sender.close()
        self.client.close()
