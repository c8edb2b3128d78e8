"""A real Redis for tests: the one at REDIS_URL if it answers, else a private redis-server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis

from tests.support.net import free_port, wait_for_port

HOW_TO_GET_REDIS = (
    "Redis is needed for this test. Start one (e.g. `redis-server --port 6379 --save ''`) "
    "and set REDIS_URL, or install redis-server (`apt-get install redis-server`) so the "
    "tests can start their own."
)


def answers(url: str) -> bool:
    """True when a Redis at url replies to PING."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@dataclass
class RedisServer:
    """A redis-server process this test run started and owns."""

    port: int
    workdir: str
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(HOW_TO_GET_REDIS, pytrace=False)
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_redis() -> Iterator[RedisServer]:
    """Start a redis-server on a free port in a temporary directory; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="fleet-redis-") as workdir:
        server = RedisServer(port=free_port(), workdir=workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def shared_redis_url() -> Iterator[str]:
    """REDIS_URL (default the local 6379) when it answers, else a private server's URL."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        yield url
        return
    with private_redis() as server:
        yield server.url
