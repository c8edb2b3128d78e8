"""The API misbehaves: the service goes away mid-batch and comes back, drops connections,
stalls, answers with retryable errors, or refuses connections beyond a per-key limit. Every
job still ends `done` once, and the worker's metrics show what it rode out."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.support import assert_settled, copies, metrics_of
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from worker.jobs import State

pytestmark = pytest.mark.reliability


def test_the_api_killed_and_restarted_mid_batch(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    fleet = fleet_factory("--latency-ms", "150")
    # Two deliveries only: an outage that cost deliveries would make jobs dead.
    worker = fleet.start_worker(concurrency=2, FLEET_MAX_ATTEMPTS="2")
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", 24), "api-restart")
    fleet.submit(jobs)
    deadline = time.monotonic() + 60
    while fleet.store.counts("api-restart")[State.DONE] < 6:
        assert time.monotonic() < deadline, fleet.store.counts("api-restart")
        time.sleep(0.02)

    fleet.emulator.kill()  # connections die without a close frame
    # Longer than the stream's own retries (5 tries, about 6 s): the jobs in flight are given
    # back to the queue, without counting, until the API takes connections again.
    time.sleep(10.0)
    fleet.emulator.start()  # the same port
    fleet.wait("api-restart", len(jobs), timeout=120)

    results = assert_settled(fleet, "api-restart", jobs)
    assert {(r.status, r.attempts) for r in results.values()} == {(State.DONE, 1)}
    # Both processes held a socket that died, and each opened a new one on the restarted
    # service (its event log goes on in the same file).
    opened = [e for e in fleet.emulator.events() if e["event"] == "open"]
    assert len(opened) >= 4, opened
    metrics = metrics_of(worker)
    assert metrics.value("hume_fleet_socket_reconnects_total") >= 1
    assert metrics.value("hume_fleet_api_errors_total", code="connect") >= 2
    assert metrics.value("hume_fleet_jobs_total", status="retried", backend="v0") >= 2
    assert metrics.value("hume_fleet_jobs_total", status="done", backend="v0") == len(jobs)


def test_drops_stalls_and_retryable_errors_are_ridden_out(
    fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    # Seed 20 at these rates: the first connection is dropped at its 3rd payload, the second
    # answers its 3rd with I0100 and stalls at its 5th, whichever process opens which; later
    # connections draw faults of their own.
    fleet = fleet_factory(
        "--latency-ms", "50", "--drop-rate", "0.08", "--stall-rate", "0.06",
        "--error-rate", "0.1", "--seed", "20",
    )  # fmt: skip
    # a stalled reply is given up on after 1.5 s (60 s in production)
    worker = fleet.start_worker(concurrency=2, FLEET_API_REQUEST_TIMEOUT_S="1.5")
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", 30), "api-faults")
    fleet.submit(jobs)
    fleet.wait("api-faults", len(jobs), timeout=150)

    results = assert_settled(fleet, "api-faults", jobs)
    assert {r.status for r in results.values()} == {State.DONE}, {
        r.source.uri: r.error for r in results.values() if r.error
    }
    faults = Counter(e["fault"] for e in fleet.emulator.events() if e.get("fault"))
    assert faults["drop"] and faults["stall"] and faults["error"], faults
    metrics = metrics_of(worker)
    errors = {
        dict(labels)["code"]: value
        for (name, labels), value in metrics.samples.items()
        if name == "hume_fleet_api_errors_total"
    }
    # every injected I0100 was counted, as a retry of the request or of the job
    assert errors.get("I0100", 0) == faults["error"], (errors, faults)
    # a dropped or stalled socket is replaced
    assert metrics.value("hume_fleet_socket_reconnects_total") >= faults["drop"] + faults["stall"]
    assert errors.get("TimeoutError", 0) >= 1, errors
    assert metrics.value("hume_fleet_jobs_total", status="done", backend="v0") == len(jobs)


@pytest.mark.parametrize("cap", [None, 1], ids=["uncapped", "fleet-cap-1"])
def test_an_api_connection_limit_below_the_process_count(
    cap: int | None, fleet_factory: Callable[..., Fleet], media: MediaFactory, tmp_path: Path
) -> None:
    # Uncapped, the process holding the key's one connection keeps it while idle, so the
    # other one is refused until the service closes it: here after 3 s (the emulator's
    # --idle-timeout; the real service's is longer).
    fleet = fleet_factory(
        "--latency-ms", "150", "--max-connections-per-key", "1", "--idle-timeout", "3"
    )  # fmt: skip
    env = {} if cap is None else {"FLEET_MAX_API_CONNECTIONS": str(cap)}
    worker = fleet.start_worker(concurrency=2, **env)
    jobs = fleet.jobs_for(copies(media, tmp_path / "calls", 16), "api-limit")
    fleet.submit(jobs)
    fleet.wait("api-limit", len(jobs), timeout=150)

    results = assert_settled(fleet, "api-limit", jobs)
    assert {r.status for r in results.values()} == {State.DONE}
    with urllib.request.urlopen(f"{fleet.emulator.http_url}/stats", timeout=10) as resp:
        refused = json.load(resp)["connections"].get("refused_429", 0)
    metrics = metrics_of(worker)
    retried = metrics.value("hume_fleet_jobs_total", status="retried", backend="v0")
    if cap is None:
        # The second process is refused (HTTP 429) until its retries give the job back; the
        # first one does the work. A refusal is counted as an error and a retry of the job,
        # but not as one of its deliveries: no payload reached the API.
        assert refused > 0
        assert metrics.value("hume_fleet_api_errors_total", code="connect") > 0
        assert "(HTTP 429)" in worker.logs()  # the job's error says why it waited
        assert retried > 0
    else:
        # Under the fleet-wide cap the processes take turns on the one connection.
        assert refused == 0
        assert retried == 0
    assert {r.attempts for r in results.values()} == {1}
