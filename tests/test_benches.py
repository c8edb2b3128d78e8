"""Every script in bench/ (and the soak) runs to the end on a small workload and prints its
table, so the figures in bench/README.md can always be measured again. (Only that they
run: the figures themselves are for the scripts' full runs, never asserted here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

#: script → (small-run arguments, a line start its output must have)
RUNS = {
    "client_overhead.py": (["--rounds", "3"], "predict_bytes"),
    "emulator_capacity.py": (["--seconds", "0.5"], "connections"),
    "enqueue_rate.py": (["--objects", "300", "--naive", "100"], "goal enqueue"),
    "fleet_efficiency.py": (["--jobs-per-process", "1", "--processes", "1"], "        1  warm"),
    "media_throughput.py": (["--repeat", "1"], "ratio vs ffmpeg"),
    "v1_throughput.py": (["--sessions", "2", "--speech-s", "2", "--no-long-call"], "all "),
}


def test_every_bench_script_is_covered() -> None:
    assert {p.name for p in BENCH.glob("*.py")} == set(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_bench_runs_on_a_small_workload(script: str) -> None:
    args, expected = RUNS[script]
    run = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert any(line.startswith(expected) for line in run.stdout.splitlines()), run.stdout


def test_the_soak_runs_on_a_small_workload() -> None:
    """`make soak` (tests/reliability/soak.py): its last line is the JSON report."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.reliability.soak", "--jobs", "30"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCH.parent,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["jobs"] == 30 and len(report["processes"]) == 3
