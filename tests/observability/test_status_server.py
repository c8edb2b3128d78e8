"""The HTTP endpoint and its readiness checks, against a real Redis and real closed ports."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.observability.support import get
from tests.support.net import free_port
from worker import health
from worker.status_server import StatusServer, make_app

PASSWORD = "n0t-f0r-logs"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Mapping[str, health.Check]], int]]:
    """Start a server with the given checks on a free loopback port; returns the port."""
    servers: list[StatusServer] = []

    def start(checks: Mapping[str, health.Check]) -> int:
        app = make_app(tmp_path, checks, secrets=(PASSWORD,))
        server = StatusServer(app, port=0, host="127.0.0.1").start()
        servers.append(server)
        return server.port

    yield start
    for server in servers:
        server.stop()


def closed_port_url(scheme: str = "redis") -> str:
    """A URL with a password whose port has no listener: a real connection refusal."""
    return f"{scheme}://fleet:{PASSWORD}@127.0.0.1:{free_port()}/0"


def test_healthz_answers_while_the_process_lives(serve: Callable[..., int]) -> None:
    port = serve({"redis": health.redis_check(closed_port_url())})
    resp = get(port, "/healthz")
    assert (resp.status, resp.json()) == (200, {"status": "ok"})
    assert resp.content_type == "application/json"


def test_readyz_is_ok_when_broker_and_redis_answer(
    serve: Callable[..., int], redis_url: str
) -> None:
    port = serve({"broker": health.broker_check(redis_url), "redis": health.redis_check(redis_url)})
    resp = get(port, "/readyz")
    assert (resp.status, resp.json()) == (
        200,
        {"ready": True, "checks": {"broker": "ok", "redis": "ok"}},
    )


def test_readyz_is_503_with_a_redacted_reason_when_redis_is_down(
    serve: Callable[..., int], redis_url: str
) -> None:
    port = serve(
        {"broker": health.broker_check(redis_url), "redis": health.redis_check(closed_port_url())}
    )
    resp = get(port, "/readyz")
    assert resp.status == 503
    body = resp.json()
    assert body["ready"] is False and body["checks"]["broker"] == "ok"
    assert body["reason"].startswith("redis: ConnectionError")
    assert "Connection refused" in body["reason"]
    assert PASSWORD.encode() not in resp.body


def test_an_amqp_broker_that_is_down_makes_readyz_fail(serve: Callable[..., int]) -> None:
    port = serve({"broker": health.broker_check(closed_port_url("amqp"), timeout=0.5)})
    resp = get(port, "/readyz")
    assert resp.status == 503
    assert resp.json()["reason"].startswith("broker: ")
    assert PASSWORD.encode() not in resp.body


def test_a_failing_check_reason_is_redacted_whatever_it_quotes() -> None:
    def leaky() -> None:
        raise RuntimeError(f"cannot reach {closed_port_url()} with {PASSWORD}")

    readiness = health.check_all({"broker": leaky}, secrets=(PASSWORD,))
    assert not readiness.ready
    assert PASSWORD not in readiness.reason
    assert readiness.reason.startswith("broker: RuntimeError: cannot reach redis://***@127.0.0.1")


def test_metrics_serves_the_text_format(serve: Callable[..., int], tmp_path: Path) -> None:
    port = serve({})
    resp = get(port, "/metrics")
    assert resp.status == 200
    assert resp.content_type.startswith("text/plain")


def test_unknown_paths_and_methods(serve: Callable[..., int]) -> None:
    port = serve({})
    missing = get(port, "/nope")
    assert missing.status == 404
    assert missing.json()["paths"] == ["/metrics", "/healthz", "/readyz"]
    post = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=10)
    assert refused.value.code == 405


def test_stop_releases_the_port(tmp_path: Path) -> None:
    server = StatusServer(make_app(tmp_path, {}), port=0, host="127.0.0.1").start()
    port = server.port
    server.stop()
    again = StatusServer(make_app(tmp_path, {}), port=port, host="127.0.0.1").start()
    try:
        assert get(port, "/healthz").status == 200
    finally:
        again.stop()
