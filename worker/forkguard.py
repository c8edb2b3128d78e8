"""One lock a fork of the worker's main process waits for.

Threads of the main process (the queue-depth sampler, readiness checks) hold it around work
that a prefork child must not inherit half-done: prometheus-client's per-process value lock,
and a TLS handshake to Redis, whose OpenSSL state a child inherits locked and then hangs on
its own first handshake.
"""

from __future__ import annotations

import os
import threading

FORK_GUARD = threading.Lock()
os.register_at_fork(
    before=FORK_GUARD.acquire,
    after_in_parent=FORK_GUARD.release,
    after_in_child=FORK_GUARD.release,
)
