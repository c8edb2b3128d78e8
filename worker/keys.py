"""Every Redis key of the fleet, in one place: nothing else spells a key.

fleet:job:{job_id}             hash   state, batch_id, uri (credentials hidden), attempts,
                                      error_code, error, updated_at, job (the Job as JSON,
                                      its URI whole: a retry fetches with it)
fleet:result:{job_id}          string the Result document, zstd-compressed JSON (TTL)
fleet:batches                  zset   batch ids scored by creation time
fleet:batch:{batch_id}         hash   created_at, total, models
fleet:batch:{batch_id}:{state} set    job ids of the batch in that state
fleet:dead                     list   dead-letter entries (JSON: job id, batch, last error)
fleet:api-connections          zset   fleet-wide API connection leases (holder → expiry)
"""

from __future__ import annotations

from typing import Final

PREFIX: Final = "fleet:"
BATCHES: Final = PREFIX + "batches"
DEAD: Final = PREFIX + "dead"
API_CONNECTIONS: Final = PREFIX + "api-connections"
API_WAITING: Final = PREFIX + "api-waiting"


def job(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def result(job_id: str) -> str:
    return f"{PREFIX}result:{job_id}"


def batch(batch_id: str) -> str:
    return f"{PREFIX}batch:{batch_id}"


def batch_state(batch_id: str, state: str) -> str:
    return f"{PREFIX}batch:{batch_id}:{state}"
