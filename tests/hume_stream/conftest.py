"""Helpers for the client's tests: run a coroutine with a bound, count emulator requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
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


async def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout_s`."""
    step = 0.02
    for _ in range(int(timeout_s / step)):
        if predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"gave up waiting for {what} after {timeout_s} s")
