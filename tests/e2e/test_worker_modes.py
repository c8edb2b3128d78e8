"""Worker pools, per-job model configs, a rejected key, and RabbitMQ as the broker."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.support.fleet import Fleet
from tests.support.media import MediaFactory, Utterance
from worker.jobs import State

CALL = [Utterance(0, 0.5, "Hello, how are you today?"), Utterance(1, 3.0, "I am fine, thanks.")]


@pytest.mark.parametrize("pool", ["solo", "threads"])
def test_other_pools_keep_one_socket_per_process(
    pool: str, fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory()
    fleet.start_worker(concurrency=2, pool=pool)
    paths = [media.call(CALL, seconds=6.0 + i) for i in range(4)]
    jobs = fleet.jobs_for(paths, batch_id=f"pool-{pool}")
    fleet.submit(jobs)
    assert fleet.wait(f"pool-{pool}", 4)[State.DONE] == 4
    events = fleet.emulator.events()
    assert sum(1 for e in events if e["event"] == "open") == 1


def test_jobs_with_different_models_share_the_socket(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory()
    fleet.start_worker(concurrency=1)
    path = media.call(CALL, seconds=6.0)
    prosody = fleet.jobs_for([path], "models", models={"prosody": {}})
    burst = fleet.jobs_for([path], "models", models={"burst": {}})
    assert prosody[0].job_id != burst[0].job_id
    fleet.submit(prosody + burst)
    assert fleet.wait("models", 2)[State.DONE] == 2
    for job, model in ((prosody[0], "prosody"), (burst[0], "burst")):
        result = fleet.store.result(job.job_id)
        assert result is not None
        for channel in result.channels:
            assert set(channel.predictions) <= {model}
        assert any(model in c.predictions for c in result.channels)
    assert sum(1 for e in fleet.emulator.events() if e["event"] == "open") == 1


def test_a_rejected_key_holds_the_job_without_burning_it(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory()
    fleet.start_worker(concurrency=1, HUME_API_KEY="wrong-key")
    jobs = fleet.jobs_for([media.call(CALL, seconds=6.0)], "held")
    fleet.submit(jobs)
    deadline = time.monotonic() + 60
    state: dict[str, str] = {}
    while time.monotonic() < deadline:
        state = fleet.store.job_state(jobs[0].job_id)
        if state.get("error_code") == "auth":
            break
        time.sleep(0.2)
    assert state.get("error_code") == "auth", state
    assert state["state"] == "queued" and state["attempts"] == "0"
    assert "HumeStreamClient initialized with invalid API key." in state["error"]
    assert '"job.held"' in fleet.logs()
    assert fleet.store.result(jobs[0].job_id) is None


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def test_rabbitmq_broker(fleet_factory: Callable[..., Fleet], media: MediaFactory) -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        pytest.fail(
            "RabbitMQ is needed on 127.0.0.1:5672 for this test: "
            "apt-get install rabbitmq-server && rabbitmq-server -detached",
            pytrace=False,
        )
    fleet = fleet_factory()
    fleet.use_broker(RABBITMQ_URL)
    fleet.start_worker(concurrency=2, BROKER_URL=RABBITMQ_URL)
    jobs = fleet.jobs_for([media.call(CALL, seconds=6.0 + i) for i in range(3)], "rabbit")
    fleet.submit(jobs)
    assert fleet.wait("rabbit", 3)[State.DONE] == 3


def max_open_connections(events: list[dict[str, object]]) -> int:
    open_now = peak = 0
    for e in sorted(events, key=lambda e: float(e["t"])):  # type: ignore[arg-type]
        open_now += {"open": 1, "close": -1}.get(str(e["event"]), 0)
        peak = max(peak, open_now)
    return peak


def test_a_fleet_wide_cap_below_the_process_count_hands_the_socket_over(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory("--max-connections-per-key", "1")
    fleet.start_worker(concurrency=2, FLEET_MAX_API_CONNECTIONS="1")
    jobs = fleet.jobs_for([media.call(CALL, seconds=6.0 + i) for i in range(6)], "capped")
    fleet.submit(jobs)
    counts = fleet.wait("capped", 6)
    assert counts[State.DONE] == 6, counts
    events = fleet.emulator.events()
    assert max_open_connections(events) == 1
    assert sum(1 for e in events if e["event"] == "open") >= 2, "both processes got a turn"


def test_v1_sessions_stay_under_the_fleet_wide_cap(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory("--max-connections-per-key", "2")
    fleet.start_worker(concurrency=3, pool="threads", HUME_API="v1", FLEET_MAX_API_CONNECTIONS="2")
    short = [Utterance(0, 0.2, "Hello there."), Utterance(1, 1.2, "Hi, good morning.")]
    jobs = fleet.jobs_for([media.call(short, seconds=2.5 + 0.1 * i) for i in range(3)], "v1cap")
    fleet.submit(jobs)
    assert fleet.wait("v1cap", 3, timeout=90)[State.DONE] == 3
    sessions = sorted(
        (e for e in fleet.emulator.events() if e["event"] in ("open", "session")),
        key=lambda e: float(e["t"]),
    )
    open_now = peak = 0
    for e in sessions:
        open_now += 1 if e["event"] == "open" else -1
        peak = max(peak, open_now)
    assert peak == 2 and sum(e["event"] == "session" for e in sessions) == 6


def test_a_v1_call_needing_more_sessions_than_the_cap_fails_clearly(
    fleet_factory: Callable[..., Fleet], media: MediaFactory
) -> None:
    fleet = fleet_factory()
    fleet.start_worker(concurrency=1, pool="threads", HUME_API="v1", FLEET_MAX_API_CONNECTIONS="1")
    jobs = fleet.jobs_for([media.call(CALL, seconds=6.0)], "v1toosmall")
    fleet.submit(jobs)
    assert fleet.wait("v1toosmall", 1)[State.FAILED] == 1
    result = fleet.store.result(jobs[0].job_id)
    assert result is not None and result.error is not None
    assert result.error.code == "connection_cap"
    assert "FLEET_MAX_API_CONNECTIONS=1" in result.error.message and "--mix" in result.error.message
