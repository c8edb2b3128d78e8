"""The fleet-wide connection cap on a real Redis."""

from __future__ import annotations

import time

import pytest
import redis

from worker.limiter import ConnectionLimiter


def test_cap_is_shared_and_released(redis_client: redis.Redis) -> None:
    limiter = ConnectionLimiter(redis_client, cap=2)
    assert limiter.try_acquire("a")
    assert limiter.try_acquire("b")
    assert not limiter.try_acquire("c")
    assert limiter.try_acquire("a"), "a holder renews its own slot"
    limiter.release("a")
    assert limiter.try_acquire("c")
    assert limiter.holders() == 2


def test_a_dead_holders_lease_expires(redis_client: redis.Redis) -> None:
    # A lease long enough that a busy machine cannot let it lapse between the first two calls.
    limiter = ConnectionLimiter(redis_client, cap=1, lease_s=1.0)
    assert limiter.try_acquire("crashed")
    assert not limiter.try_acquire("next")
    time.sleep(1.1)
    assert limiter.try_acquire("next")


def test_zero_cap_means_unlimited(redis_client: redis.Redis) -> None:
    limiter = ConnectionLimiter(redis_client, cap=0)
    assert all(limiter.try_acquire(str(i)) for i in range(50))
    assert limiter.holders() == 0


def test_waiters_are_seen_by_holders_and_forgotten(redis_client: redis.Redis) -> None:
    limiter = ConnectionLimiter(redis_client, cap=1)
    assert limiter.try_acquire("holder")
    assert not limiter.others_waiting("holder")
    limiter.wait("holder")
    assert not limiter.others_waiting("holder"), "a holder does not wait for itself"
    limiter.wait("waiter")
    assert limiter.others_waiting("holder")
    limiter.stop_waiting("waiter")
    assert not limiter.others_waiting("holder")


def test_several_slots_are_taken_all_or_none(redis_client: redis.Redis) -> None:
    limiter = ConnectionLimiter(redis_client, cap=3)
    assert limiter.try_acquire("other")
    assert limiter.try_acquire("job/agent", "job/customer")
    assert not limiter.try_acquire("next/agent", "next/customer")
    assert limiter.holders() == 3, "a refused pair takes nothing"
    limiter.release("job/agent", "job/customer")
    assert limiter.try_acquire("next/agent", "next/customer")
    with pytest.raises(ValueError, match="can never fit under FLEET_MAX_API_CONNECTIONS=3"):
        limiter.try_acquire("a", "b", "c", "d")
