"""Fixtures of the reliability suite: each test gets a Redis server of its own (the broker and
the store, which a test may kill and restart) and fleets of real processes on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The end-to-end suite's fleet fixture, here on the test's own Redis (`redis_url` below).
from tests.e2e.conftest import fleet_factory
from tests.support.redis_server import RedisServer, private_redis

__all__ = ["fleet_factory"]


@pytest.fixture
def redis_server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A redis-server process of this test's own, on a free port; without persistence unless
    parametrized (indirectly) with more redis-server options."""
    with private_redis(*getattr(request, "param", ())) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The test's own Redis (never the shared one: tests here kill and restart it)."""
    return redis_server.url
