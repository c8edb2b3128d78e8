"""Fleet efficiency: jobs/s of N worker processes against an emulator with latency L per
payload, compared with the ideal N / (payloads per job * L).

Real parts: a Redis (REDIS_URL or a private redis-server), the emulator as a subprocess with
`--latency-ms`, and `celery … worker --concurrency N` as a subprocess. The clock runs from
the first job's start to the last job's finish (from the result documents), so process
start-up is not counted; per-job overheads (fetch, decode, reset, store) are. Each worker
runs two batches: "cold", in which every process opens its socket on its first job, and
"warm", the same again on the open sockets — what a long-running fleet sees.

    .venv/bin/python bench/fleet_efficiency.py [--latency-ms 200] [--jobs-per-process 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.redis_server import base_url, claimed_db, shared_redis_url
from worker.jobs import State


class Figures(NamedTuple):
    jobs: int
    payloads_per_job: float
    jobs_per_s: float
    processes_used: int

    def efficiency(self, processes: int, latency_ms: int) -> float:
        return self.jobs_per_s / ideal(processes, self.payloads_per_job, latency_ms)


def ideal(processes: int, payloads_per_job: float, latency_ms: int) -> float:
    """Jobs/s of `processes` that spend nothing but the API's service time on a job."""
    return processes / (payloads_per_job * latency_ms / 1000)


# Stereo, 10 s: each channel speaks in one of its two 5 s chunks, the other is silent and
# skipped, so a job is 2 payloads (counted from the results, not assumed).
CALL_SECONDS = 10.0


def run(
    redis_url: str,
    media: MediaFactory,
    workdir: Path,
    processes: int,
    latency_ms: int,
    jobs_per_process: int,
) -> tuple[Figures, Figures]:
    """The batch timed on a fresh worker (each process opens its socket on its first job),
    then a second batch on the same, now warm, worker."""
    with EmulatorProcess("--latency-ms", str(latency_ms)) as emulator:
        fleet = Fleet(redis_url, emulator, workdir)
        fleet.client.flushdb()  # a database of the bench's own: every run starts empty
        try:
            fleet.start_worker(concurrency=processes)
            n = processes * jobs_per_process
            cold = _batch(fleet, media, f"cold-{processes}", range(n))
            warm = _batch(fleet, media, f"warm-{processes}", range(n, 2 * n))
        finally:
            fleet.stop()
    return cold, warm


def _batch(fleet: Fleet, media: MediaFactory, batch: str, calls: range) -> Figures:
    """Times a batch of distinct calls (the customer speaks a little later in each)."""
    n = len(calls)
    paths = [
        media.call(
            [Utterance(0, 0.5, "Hello, thank you for calling."),
             Utterance(1, 5.5 + 0.004 * i, "I have a question about my bill.")],
            seconds=CALL_SECONDS,
        )
        for i in calls
    ]  # fmt: skip
    jobs = fleet.jobs_for(paths, batch)
    fleet.submit(jobs)
    counts = fleet.wait(batch, n, timeout=600)
    assert counts[State.DONE] == n, counts
    results = [r for j in jobs if (r := fleet.store.result(j.job_id))]
    start = min(r.timings.started_at for r in results)
    end = max(r.timings.finished_at for r in results)
    payloads = sum(c.payloads for r in results for c in r.channels)
    return Figures(n, payloads / n, n / (end - start), len({r.worker for r in results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--jobs-per-process", type=int, default=40)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        shared_redis_url() as redis_url,
        claimed_db(base_url(redis_url)) as db,
    ):
        workdir = Path(tmp)
        media = MediaFactory(workdir)
        db_url = f"{base_url(redis_url)}/{db}"
        print(f"latency {args.latency_ms} ms per payload")
        print(f"{'processes':>9} {'batch':>5} {'jobs':>5} {'payloads/job':>12} {'jobs/s':>8} "
              f"{'ideal':>7} {'efficiency':>10}")  # fmt: skip
        for n in args.processes:
            batches = run(db_url, media, workdir, n, args.latency_ms, args.jobs_per_process)
            for name, f in zip(("cold", "warm"), batches, strict=True):
                assert f.processes_used == n, f"{name}: jobs ran on {f.processes_used} of {n}"
                best = ideal(n, f.payloads_per_job, args.latency_ms)
                print(f"{n:>9} {name:>5} {f.jobs:>5} {f.payloads_per_job:>12.1f} "
                      f"{f.jobs_per_s:>8.3f} {best:>7.3f} "
                      f"{f.efficiency(n, args.latency_ms):>10.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
