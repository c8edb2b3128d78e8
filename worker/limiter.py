"""A fleet-wide cap on open API connections, since the API limits connections per key.

A lease semaphore in one Redis sorted set (`keys.API_CONNECTIONS`): member = holder id,
score = lease expiry. A holder renews its lease while its socket is open; a crashed holder's
lease expires by itself, so a `kill -9` never leaks a slot for longer than the lease.
Sockets are long-lived, so a process that cannot get a slot says so in a second sorted set
(`keys.API_WAITING`); a holder that sees waiters hands its slot over after its current job.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import redis

from worker import keys

# KEYS: the zset. ARGV: now, expiry, cap, holders… Takes (or renews) a slot for every
# holder, or for none: a job that needs several connections never holds part of them.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local need = 0
for i = 4, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then need = need + 1 end
end
if redis.call('ZCARD', KEYS[1]) + need > tonumber(ARGV[3]) then return 0 end
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i]) end
return 1
"""


#: A waiter that stops renewing its mark (it crashed, or got its job elsewhere) is forgotten.
WAIT_TTL_S = 5.0


class ConnectionLimiter:
    """Leases on at most `cap` connections across the fleet (cap 0 = unlimited)."""

    def __init__(self, client: redis.Redis, cap: int, lease_s: float = 60.0) -> None:
        self.client = client
        self.cap = cap
        self.lease_s = lease_s
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self, *holders: str) -> bool:
        """Take (or renew) a slot for each holder, all or none; False when the fleet has
        not that many free."""
        if self.cap <= 0:
            return True
        if len(holders) > self.cap:
            raise ValueError(
                f"{len(holders)} connections at once can never fit under "
                f"FLEET_MAX_API_CONNECTIONS={self.cap}"
            )
        now = time.time()
        return bool(
            self._acquire(
                keys=[keys.API_CONNECTIONS], args=[now, now + self.lease_s, self.cap, *holders]
            )
        )

    def wait(self, holder: str) -> None:
        """Note that holder is waiting for a slot (for WAIT_TTL_S)."""
        if self.cap > 0:
            self.client.zadd(keys.API_WAITING, {holder: time.time() + WAIT_TTL_S})

    def stop_waiting(self, holder: str) -> None:
        if self.cap > 0:
            self.client.zrem(keys.API_WAITING, holder)

    def others_waiting(self, holder: str) -> bool:
        """Whether any process other than holder is waiting for a slot."""
        if self.cap <= 0:
            return False
        waiting = self.client.zrangebyscore(keys.API_WAITING, time.time(), "+inf")
        return any(w not in (holder, holder.encode()) for w in waiting)

    def release(self, *holders: str) -> None:
        if self.cap > 0:
            self.client.zrem(keys.API_CONNECTIONS, *holders)

    def holders(self) -> int:
        """Live leases right now."""
        return int(self.client.zcount(keys.API_CONNECTIONS, time.time(), "+inf"))


#: How long a process waits for a slot before the job is given back to the queue.
SLOT_WAIT_S = 30.0


async def wait_for_slot(limiter: ConnectionLimiter, *holders: str) -> None:
    """Take a slot for every holder, marked as waiting meanwhile; TimeoutError after
    SLOT_WAIT_S (a transient failure: the job is retried later)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SLOT_WAIT_S
    try:
        while not await asyncio.to_thread(limiter.try_acquire, *holders):
            if loop.time() > deadline:
                raise TimeoutError(
                    f"no API connection slot within {SLOT_WAIT_S:.0f}s "
                    f"(FLEET_MAX_API_CONNECTIONS={limiter.cap})"
                )
            await asyncio.to_thread(limiter.wait, holders[0])
            await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(limiter.stop_waiting, holders[0])


@contextlib.asynccontextmanager
async def leased(limiter: ConnectionLimiter, *holders: str) -> AsyncIterator[None]:
    """Hold a slot per holder (e.g. each v1 session of a job) while the block runs,
    renewing the leases meanwhile; a no-op without a cap."""
    if limiter.cap <= 0:
        yield
        return
    await wait_for_slot(limiter, *holders)
    renewer = asyncio.create_task(_renew(limiter, holders))
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        await asyncio.to_thread(limiter.release, *holders)


async def _renew(limiter: ConnectionLimiter, holders: tuple[str, ...]) -> None:
    while True:
        await asyncio.sleep(limiter.lease_s / 3)
        await asyncio.to_thread(limiter.try_acquire, *holders)
