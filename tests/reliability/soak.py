"""Soak: thousands of short jobs through a 2-process worker, watching for leaks.

    .venv/bin/python -m tests.reliability.soak [--jobs 2000] [--max-minutes 10]

Real parts as in the tests: a private redis-server, the emulator, `celery worker
--concurrency 2`. Every few seconds it samples each process's RSS and open file descriptors
(/proc/PID/fd) against the jobs done, then prints the RSS slope (least squares, after a
warm-up of the first 10% of jobs) in MB per 1000 jobs and the descriptor counts. At the end
every job must be `done` exactly once. Exit 1 if not, or if the time bound passes first.
Not part of `make test`: `make soak`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.reliability.support import CALL, assert_settled, metrics_of
from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from tests.support.redis_server import private_redis
from worker.jobs import State

BATCH = "soak"
SAMPLE_EVERY_S = 2.0
WARM_UP = 0.1


@dataclass
class Series:
    """Samples of one process: (jobs done, RSS in MB, open descriptors)."""

    name: str
    pid: int
    points: list[tuple[int, float, int]] = field(default_factory=list)

    def sample(self, done: int) -> None:
        proc = psutil.Process(self.pid)
        rss_mb = proc.memory_info().rss / 2**20
        self.points.append((done, rss_mb, len(os.listdir(f"/proc/{self.pid}/fd"))))

    def slope_mb_per_1000(self, total: int) -> float | None:
        """Least-squares RSS slope after the warm-up, in MB per 1000 jobs (None: too few
        samples for one)."""
        points = [(d, r) for d, r, _ in self.points if d >= WARM_UP * total]
        if len(points) < 3:
            return None
        n = len(points)
        mean_d = sum(d for d, _ in points) / n
        mean_r = sum(r for _, r in points) / n
        var = sum((d - mean_d) ** 2 for d, _ in points)
        cov = sum((d - mean_d) * (r - mean_r) for d, r in points)
        return round(1000 * cov / var, 3) if var else None

    def summary(self, total: int) -> dict[str, object]:
        warm = [p for p in self.points if p[0] >= WARM_UP * total] or self.points
        return {
            "process": self.name,
            "pid": self.pid,
            "rss_mb_start": round(self.points[0][1], 1),
            "rss_mb_after_warm_up": round(warm[0][1], 1),
            "rss_mb_end": round(self.points[-1][1], 1),
            "rss_slope_mb_per_1000_jobs": self.slope_mb_per_1000(total),
            "fds_start": self.points[0][2],
            "fds_after_warm_up": warm[0][2],
            "fds_max": max(p[2] for p in self.points),
            "fds_end": self.points[-1][2],
        }


def run(jobs_total: int, max_minutes: float, workdir: Path) -> int:
    call = MediaFactory(workdir).call(CALL, seconds=3.0)  # stereo, speech on both sides
    calls = workdir / "calls"
    calls.mkdir()
    for i in range(jobs_total):
        os.link(call, calls / f"call-{i:05d}.wav")  # same bytes, distinct jobs

    with private_redis() as redis_server, EmulatorProcess("--latency-ms", "50") as emulator:
        fleet = Fleet(redis_server.url, emulator, workdir)
        try:
            worker = fleet.start_worker(concurrency=2)
            series = [Series("main", worker.pid)] + [
                Series(f"pool-{i}", p.pid) for i, p in enumerate(worker.children())
            ]
            jobs = fleet.jobs_for(sorted(calls.iterdir()), BATCH)
            started = time.monotonic()
            fleet.submit(jobs)
            deadline = started + max_minutes * 60
            done = 0
            while True:
                counts = fleet.store.counts(BATCH)
                done = counts[State.DONE] + counts[State.FAILED] + counts[State.DEAD]
                for s in series:
                    s.sample(done)
                if done >= jobs_total:
                    break
                if time.monotonic() > deadline:
                    print(f"soak: only {done}/{jobs_total} jobs after {max_minutes} min")
                    return 1
                print(f"  {done:5d}/{jobs_total} jobs, {time.monotonic() - started:6.1f} s")
                time.sleep(SAMPLE_EVERY_S)
            elapsed = time.monotonic() - started
            results = assert_settled(fleet, BATCH, jobs)
            assert {r.status for r in results.values()} == {State.DONE}
            assert {r.attempts for r in results.values()} == {1}
            done_counted = metrics_of(worker).value(
                "hume_fleet_jobs_total", status="done", backend="v0"
            )
            assert done_counted == jobs_total, done_counted
            alive = {p.pid for p in worker.children()}
            assert alive == {s.pid for s in series[1:]}, "a pool process was replaced"
        finally:
            fleet.stop()

    report = {
        "jobs": jobs_total,
        "elapsed_s": round(elapsed, 1),
        "jobs_per_s": round(jobs_total / elapsed, 1),
        "processes": [s.summary(jobs_total) for s in series],
    }
    print(f"soak: {jobs_total} jobs in {elapsed:.0f} s ({jobs_total / elapsed:.1f} jobs/s)")
    for s in report["processes"]:  # type: ignore[attr-defined]
        print(
            f"  {s['process']:7} RSS {s['rss_mb_start']} → {s['rss_mb_after_warm_up']} (warm) → "
            f"{s['rss_mb_end']} MB, slope {s['rss_slope_mb_per_1000_jobs'] or 'n/a'} MB/1000 jobs; "
            f"fds {s['fds_start']} → {s['fds_after_warm_up']} (warm) → {s['fds_end']} "
            f"(max {s['fds_max']})"
        )
    print(json.dumps(report))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--max-minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fleet-soak-") as workdir:
        sys.exit(run(args.jobs, args.max_minutes, Path(workdir)))


if __name__ == "__main__":
    main()
