"""A real Redis for tests: the one at REDIS_URL if it answers, else a private redis-server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

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
    #: More redis-server options, after the defaults (which they override): e.g. TLS on
    #: `port` with `--port 0 --tls-port PORT --tls-cert-file …`, ACL users with `--user …`.
    extra_args: tuple[str, ...] = ()

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
                *self.extra_args,
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

    def kill(self) -> None:
        """SIGKILL, as in a crash: no save on the way down, clients cut off."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_redis(*extra_args: str) -> Iterator[RedisServer]:
    """Start a redis-server on a free port in a temporary directory (more options in
    extra_args, e.g. `--appendonly yes`); stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="fleet-redis-") as workdir:
        server = RedisServer(port=free_port(), workdir=workdir, extra_args=extra_args)
        server.start()
        try:
            yield server
        finally:
            server.stop()


#: Databases test runs may claim; a claim lives in db 0 so concurrent runs never share one.
TEST_DBS = range(8, 16)
_CLAIM_TTL_S = 4 * 3600


@contextmanager
def claimed_db(base_url: str) -> Iterator[int]:
    """A database number of this run's own on the Redis at base_url (FLEET_TEST_REDIS_DB
    forces one). Concurrent test runs on one Redis each get their own database."""
    forced = os.environ.get("FLEET_TEST_REDIS_DB")
    if forced is not None:
        yield int(forced)
        return
    client = redis.Redis.from_url(f"{base_url}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for db in TEST_DBS:
        key = f"hume-fleet:test-db-claim:{db}"
        if client.set(key, token, nx=True, ex=_CLAIM_TTL_S):
            try:
                yield db
            finally:
                if client.get(key) == token.encode():
                    client.delete(key)
                client.close()
            return
    client.close()
    pytest.fail(
        f"all test databases {TEST_DBS.start}..{TEST_DBS.stop - 1} of {base_url} are claimed by "
        "other test runs; wait for them or set FLEET_TEST_REDIS_DB",
        pytrace=False,
    )


def base_url(url: str) -> str:
    """The server part of a Redis URL, without the database number."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


@contextmanager
def shared_redis_url() -> Iterator[str]:
    """REDIS_URL (default the local 6379) when it answers, else a private server's URL."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        yield url
        return
    with private_redis() as server:
        yield server.url
