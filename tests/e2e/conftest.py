"""Fixtures for end-to-end runs with real worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet


@pytest.fixture
def fleet_factory(
    redis_url: str, tmp_path: Path, emulator_factory: Callable[..., EmulatorProcess]
) -> Iterator[Callable[..., Fleet]]:
    """Builds a Fleet around a fresh emulator started with the given flags."""
    fleets: list[Fleet] = []

    def make(*emulator_args: str) -> Fleet:
        fleet = Fleet(redis_url, emulator_factory(*emulator_args), tmp_path)
        fleets.append(fleet)
        return fleet

    yield make
    for fleet in fleets:
        fleet.stop()
