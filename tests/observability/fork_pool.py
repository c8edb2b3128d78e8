"""A forking process pool of our own, run as a subprocess by the multiprocess tests.

`python -m tests.observability.fork_pool CHILDREN JOBS` with the worker's environment
(REDIS_URL, FLEET_QUEUE, METRICS_PORT, PROMETHEUS_MULTIPROC_DIR) does what a Celery
prefork worker does with observability, minus Celery: the main process starts
`Observability` (endpoint + queue sampler), then forks CHILDREN processes that each record
JOBS finished jobs and exit cleanly through the shutdown hook, and one more child that
takes a job and hangs until it is killed. It prints

    listening PORT
    exited PID PID …        (the children that exited cleanly)
    stuck PID               (the hanging child)

and serves until stdin closes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from multiprocessing.synchronize import Event

from celery import Celery

from worker import logs, metrics
from worker.observability import Observability
from worker.settings import FleetSettings

PAYLOAD_MODELS = ("prosody", "burst")


def finished_jobs(obs: Observability, jobs: int) -> None:
    obs.on_process_init()
    for n in range(jobs):
        metrics.IN_PROGRESS.inc()
        metrics.PAYLOAD_LATENCY.labels(PAYLOAD_MODELS[n % 2], "v0").observe(0.05 * (n + 1))
        metrics.AUDIO_SECONDS.labels("v0").inc(2.5)
        metrics.DECODE_SECONDS.observe(0.2)
        metrics.IN_PROGRESS.dec()
        metrics.JOB_DURATION.observe(1.0 + n)
        metrics.JOBS.labels("done", "v0").inc()
    obs.on_process_shutdown(pid=os.getpid())


def stuck_job(obs: Observability, started: Event, release: Event) -> None:
    obs.on_process_init()
    metrics.IN_PROGRESS.inc()
    started.set()
    release.wait()  # never set: the test kills this process


def main(children: int, jobs: int) -> None:
    logs.configure("INFO", "json")
    obs = Observability(Celery("fork-pool"), FleetSettings())
    obs.start()
    assert obs.server is not None
    print(f"listening {obs.server.port}", flush=True)

    fork = multiprocessing.get_context("fork")
    done = [fork.Process(target=finished_jobs, args=(obs, jobs)) for _ in range(children)]
    for proc in done:
        proc.start()
    for proc in done:
        proc.join(timeout=30)
    print("exited " + " ".join(str(p.pid) for p in done), flush=True)

    started = fork.Event()
    stuck = fork.Process(target=stuck_job, args=(obs, started, fork.Event()))
    stuck.start()
    started.wait(timeout=30)
    print(f"stuck {stuck.pid}", flush=True)
    # Reap it when the test kills it, as billiard reaps a dead pool child.
    threading.Thread(target=stuck.join, daemon=True).start()

    sys.stdin.read()
    obs.stop()
    if stuck.is_alive():
        stuck.kill()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
