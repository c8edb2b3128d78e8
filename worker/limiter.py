"""A fleet-wide cap on open API connections, since the API limits connections per key.

A lease semaphore in one Redis sorted set (`keys.API_CONNECTIONS`): member = holder id,
score = lease expiry. A holder renews its lease while its socket is open; a crashed holder's
lease expires by itself, so a `kill -9` never leaks a slot for longer than the lease.
Sockets are long-lived, so a process that cannot get a slot says so in a second sorted set
(`keys.API_WAITING`); a holder that sees waiters hands its slot over after its current job.
"""

from __future__ import annotations

import time

import redis

from worker import keys

# KEYS: the zset. ARGV: holder, now, expiry, cap. Returns 1 if the holder has a slot.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
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

    def try_acquire(self, holder: str) -> bool:
        """Take (or renew) a slot for holder; False when the fleet is at its cap."""
        if self.cap <= 0:
            return True
        now = time.time()
        return bool(
            self._acquire(
                keys=[keys.API_CONNECTIONS], args=[holder, now, now + self.lease_s, self.cap]
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

    def release(self, holder: str) -> None:
        if self.cap > 0:
            self.client.zrem(keys.API_CONNECTIONS, holder)

    def holders(self) -> int:
        """Live leases right now."""
        return int(self.client.zcount(keys.API_CONNECTIONS, time.time(), "+inf"))
