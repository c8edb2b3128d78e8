"""Multiprocess metrics with a real forking pool (tests/observability/fork_pool.py): the
main process serves what its children recorded, dead children's live gauges go away,
and a restart in the same directory starts from clean files."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.observability.support import get, promtool, scrape

CHILDREN = 3
JOBS = 4
WAITING = 5
QUEUE = "obs-fork-pool"


class Pool:
    """The fork_pool subprocess and what it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.observability.fork_pool", str(CHILDREN), str(JOBS)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.port = int(self._line("listening"))
        self.exited = [int(p) for p in self._line("exited").split()]
        self.stuck = int(self._line("stuck"))

    def _line(self, word: str, timeout: float = 60.0) -> str:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = bool(sel.select(timeout))
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.startswith(word + " "):
            pytest.fail(f"fork_pool: expected a {word!r} line, got {line!r}\n{self.close()}")
        return line.split(" ", 1)[1]

    def close(self) -> str:
        """Stop the pool; returns its stderr (its JSON log lines)."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")


@pytest.fixture
def pool_env(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> dict[str, str]:
    redis_client.rpush(QUEUE, *[f"message-{n}" for n in range(WAITING)])
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "FLEET_QUEUE": QUEUE,
        "METRICS_PORT": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "multiproc"),
        "LOG_FORMAT": "json",
    }


@pytest.fixture
def pool(pool_env: dict[str, str]) -> Iterator[Pool]:
    running = Pool(pool_env)
    yield running
    running.close()


def test_counts_of_all_children_add_up(pool: Pool) -> None:
    s = scrape(pool.port)
    finished = CHILDREN * JOBS
    assert s.value("hume_fleet_jobs_total", status="done", backend="v0") == finished
    assert s.total("hume_fleet_job_duration_seconds_count") == finished
    assert s.value("hume_fleet_job_duration_seconds_bucket", le="+Inf") == finished
    assert s.value("hume_fleet_job_duration_seconds_sum") == CHILDREN * sum(
        1.0 + n for n in range(JOBS)
    )
    assert s.total("hume_fleet_payload_latency_seconds_count") == finished
    assert (
        s.value("hume_fleet_payload_latency_seconds_count", model="prosody", backend="v0")
        == CHILDREN * 2
    )
    assert s.value("hume_fleet_audio_seconds_total", backend="v0") == finished * 2.5
    assert s.value("hume_fleet_media_decode_seconds_count") == finished
    # Only the hanging child holds a job; the others' inc/dec cancel out.
    assert s.value("hume_fleet_jobs_in_progress") == 1
    assert s.value("hume_fleet_queue_depth", queue=QUEUE) == WAITING
    # Alerted series exist at 0 before the first event, so increase() sees the first one.
    for status in ("failed", "retried", "dead"):
        assert s.value("hume_fleet_jobs_total", status=status, backend="v0") == 0
    for code in ("auth", "E0300"):
        assert s.value("hume_fleet_api_errors_total", code=code) == 0


def test_scrape_passes_promtool_check_metrics(pool: Pool) -> None:
    result = promtool("check", "metrics", stdin=scrape(pool.port).text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_clean_exits_remove_their_live_gauges(pool: Pool, pool_env: dict[str, str]) -> None:
    files = {p.name for p in Path(pool_env["PROMETHEUS_MULTIPROC_DIR"]).iterdir()}
    for pid in pool.exited:
        assert f"gauge_livesum_{pid}.db" not in files
        assert f"counter_{pid}.db" in files  # their counts stay part of the totals
    assert f"gauge_livesum_{pool.stuck}.db" in files


def test_a_killed_child_stops_counting_as_in_progress(pool: Pool) -> None:
    assert scrape(pool.port).value("hume_fleet_jobs_in_progress") == 1
    os.kill(pool.stuck, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:  # the pool reaps the child, then the next scrape forgets it
        s = scrape(pool.port)
        if s.value("hume_fleet_jobs_in_progress") == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert s.value("hume_fleet_jobs_in_progress") == 0
    assert s.value("hume_fleet_jobs_total", status="done", backend="v0") == CHILDREN * JOBS


def test_health_endpoints_of_the_pool(pool: Pool) -> None:
    health = get(pool.port, "/healthz")
    assert (health.status, health.json()) == (200, {"status": "ok"})
    ready = get(pool.port, "/readyz")
    assert ready.status == 200, ready.body
    assert ready.json() == {"ready": True, "checks": {"broker": "ok", "redis": "ok"}}


def test_a_restart_in_the_same_directory_starts_clean(pool_env: dict[str, str]) -> None:
    first = Pool(pool_env)
    first.close()
    second = Pool(pool_env)
    try:
        s = scrape(second.port)
        assert s.value("hume_fleet_jobs_total", status="done", backend="v0") == CHILDREN * JOBS
        assert s.value("hume_fleet_jobs_in_progress") == 1
    finally:
        log = second.close()
    serving = [
        e for e in map(json.loads, log.splitlines()) if e["event"] == "observability.serving"
    ]
    assert serving[0]["stale_files_removed"] > 0
