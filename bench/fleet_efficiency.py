"""Fleet efficiency: jobs/s of N worker processes against an emulator with latency L per
payload, compared with the ideal N / (payloads per job * L).

Real parts: a Redis (REDIS_URL or a private redis-server), the emulator as a subprocess with
`--latency-ms`, and `celery … worker --concurrency N` as a subprocess. The clock runs from
the first job's start to the last job's finish (from the result documents), so process
start-up is not counted; per-job overheads (fetch, decode, reset, store) are.

    .venv/bin/python bench/fleet_efficiency.py [--latency-ms 200] [--jobs-per-process 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from tests.support.redis_server import base_url, claimed_db, shared_redis_url
from worker.jobs import State

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
) -> tuple[int, float, float, float]:
    """Returns (jobs, payloads per job, jobs/s, ideal jobs/s)."""
    with EmulatorProcess("--latency-ms", str(latency_ms)) as emulator:
        fleet = Fleet(redis_url, emulator, workdir)
        fleet.client.flushdb()  # a database of the bench's own: every run starts empty
        try:
            fleet.start_worker(concurrency=processes)
            n = processes * jobs_per_process
            paths = [
                media.call(
                    [Utterance(0, 0.5, "Hello, thank you for calling."),
                     Utterance(1, 5.5 + 0.01 * i, "I have a question about my bill.")],
                    seconds=CALL_SECONDS,
                )
                for i in range(n)
            ]  # fmt: skip
            batch = f"bench-{processes}-{latency_ms}"
            jobs = fleet.jobs_for(paths, batch)
            fleet.submit(jobs)
            counts = fleet.wait(batch, n, timeout=600)
            assert counts[State.DONE] == n, counts
            results = [fleet.store.result(j.job_id) for j in jobs]
            starts = [r.timings.started_at for r in results if r]
            ends = [r.timings.finished_at for r in results if r]
            payloads = sum(c.payloads for r in results if r for c in r.channels)
        finally:
            fleet.stop()
    per_job = payloads / n
    return n, per_job, n / (max(ends) - min(starts)), processes / (per_job * latency_ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--jobs-per-process", type=int, default=8)
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
        print(f"{'processes':>9} {'jobs':>5} {'payloads/job':>12} {'jobs/s':>8} {'ideal':>7} "
              f"{'efficiency':>10}")  # fmt: skip
        for n in args.processes:
            jobs, per_job, rate, ideal = run(db_url, media, workdir, n, args.latency_ms,
                                             args.jobs_per_process)  # fmt: skip
            print(f"{n:>9} {jobs:>5} {per_job:>12.1f} {rate:>8.3f} {ideal:>7.3f} "
                  f"{rate / ideal:>10.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
