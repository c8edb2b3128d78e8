"""Fixtures for real services: Redis, free ports, media made at test time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory
from tests.support.redis_server import base_url, claimed_db, shared_redis_url
from tests.support.s3 import moto_s3


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """Base URL of a real Redis (REDIS_URL if it answers, else one started for the run)."""
    with shared_redis_url() as url:
        yield base_url(url)


@pytest.fixture(scope="session")
def redis_test_db(redis_server_url: str) -> Iterator[int]:
    """A database of this test run's own, so a developer's data in db 0 is left alone and
    two runs on one Redis do not empty each other's."""
    with claimed_db(redis_server_url) as db:
        yield db


@pytest.fixture
def redis_url(redis_server_url: str, redis_test_db: int) -> Iterator[str]:
    """URL of an emptied test database on a real Redis."""
    url = f"{redis_server_url}/{redis_test_db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def media(media_dir: Path) -> MediaFactory:
    """Makes real audio files (speech, tones, silence) in a session temp dir."""
    return MediaFactory(media_dir)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a real S3-compatible server (moto) for the session; the AWS variables
    (dummy credentials, AWS_ENDPOINT_URL) point at it while it runs."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """One real emulator process for the session (default flags, key "test-key")."""
    with EmulatorProcess() as proc:
        yield proc


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., EmulatorProcess]]:
    """Start emulators with extra flags: `emulator_factory("--drop-rate", "0.5")`,
    `api_keys=("k1", "k2")`; all are stopped at teardown."""
    started: list[EmulatorProcess] = []

    def start(*extra_args: str, api_keys: tuple[str, ...] = ("test-key",)) -> EmulatorProcess:
        proc = EmulatorProcess(*extra_args, api_keys=api_keys)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.close()
