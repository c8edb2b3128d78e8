"""Helpers for the client's tests: run a coroutine with a bound, count emulator requests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from hume_stream import HumeStreamClient
from tests.support.emulator import EmulatorProcess

T = TypeVar("T")

#: No client test may hang: every coroutine is bounded.
RUN_TIMEOUT_S = 60.0


def run(coro: Coroutine[Any, Any, T], timeout: float = RUN_TIMEOUT_S) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def requests_seen(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    return [e for e in emulator.events() if e["event"] == "request"]


@pytest.fixture
def client(emulator: EmulatorProcess) -> HumeStreamClient:
    """A client for the session's emulator (endpoint and key given explicitly)."""
    return HumeStreamClient(emulator.api_key, url=emulator.url)
