"""Job state and result documents in Redis (key names: `worker.keys`).

Writes that finish a job are one Lua script: the result document, the job's state and the
batch's state sets change together, and only the first finisher of a job writes — a job
delivered twice (a lost ack, a redelivery) still has exactly one result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import redis
import zstandard

from worker import keys
from worker.jobs import FINAL_STATES, ErrorInfo, Job, Result, State

_STATES = tuple(State)

# KEYS: result, job, then one batch set per state in `_STATES` order.
# ARGV: blob, ttl, state, error_code, error, now, index of the state's set (1-based), job_id.
_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'error_code', ARGV[4], 'error', ARGV[5],
           'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[2])
for i = 3, #KEYS do redis.call('SREM', KEYS[i], ARGV[8]) end
redis.call('SADD', KEYS[2 + tonumber(ARGV[7])], ARGV[8])
return 1
"""

# KEYS: job, then the batch state sets. ARGV: state, now, index of the state's set, job_id,
# then field/value pairs to set on the job hash.
_MOVE = """
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[2])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 2, #KEYS do redis.call('SREM', KEYS[i], ARGV[4]) end
redis.call('SADD', KEYS[1 + tonumber(ARGV[3])], ARGV[4])
return 1
"""


class JobStore:
    """Reads and writes job state, results and the dead-letter list."""

    def __init__(self, client: redis.Redis, result_ttl_s: int) -> None:
        self.client = client
        self.result_ttl_s = result_ttl_s
        self._finish = client.register_script(_FINISH)
        self._move = client.register_script(_MOVE)
        self._compress = zstandard.ZstdCompressor(level=6)
        self._decompress = zstandard.ZstdDecompressor()

    @classmethod
    def from_url(cls, url: str, result_ttl_s: int) -> JobStore:
        return cls(redis.Redis.from_url(url, health_check_interval=30), result_ttl_s)

    # ------------------------------------------------------------------ submit side

    def create_batch(self, batch_id: str, meta: dict[str, Any]) -> None:
        """Record a batch (idempotent: the first creation time is kept)."""
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(keys.BATCHES, {batch_id: now}, nx=True)
        pipe.hsetnx(keys.batch(batch_id), "created_at", now)
        pipe.hset(keys.batch(batch_id), mapping={k: json.dumps(v) for k, v in meta.items()})
        pipe.execute()

    def states(self, job_ids: Iterable[str]) -> list[State | None]:
        """Current state of each job (None: unknown), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(keys.job(job_id), "state")
        return [State(_text(s)) if s else None for s in pipe.execute()]

    def mark_queued(self, jobs: Iterable[Job], pipe: Any = None) -> None:
        """Record jobs as queued (and forget an earlier result, for retries)."""
        own = pipe is None
        pipe = pipe if pipe is not None else self.client.pipeline(transaction=False)
        for job in jobs:
            pipe.delete(keys.result(job.job_id))
            self._move(
                keys=self._move_keys(job.job_id, job.batch_id),
                args=self._move_args(
                    job.job_id,
                    State.QUEUED,
                    batch_id=job.batch_id,
                    uri=job.uri,
                    job=job.model_dump_json(),
                    error_code="",
                    error="",
                    # a retried or forced job starts a fresh count of deliveries
                    attempts="0",
                ),
                client=pipe,
            )
        if own:
            pipe.execute()

    # ------------------------------------------------------------------ worker side

    def start(self, job: Job, worker: str) -> tuple[int, State | None]:
        """Count one more delivery of the job and mark it running.

        Returns (attempts so far including this one, state before). A job whose result
        already exists is left alone (its state is returned so the caller can skip it).
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(keys.job(job.job_id), "state")
        pipe.exists(keys.result(job.job_id))
        before_raw, has_result = pipe.execute()
        before = State(_text(before_raw)) if before_raw else None
        if has_result and before in FINAL_STATES:
            attempts = int(self.client.hget(keys.job(job.job_id), "attempts") or 0)
            return attempts, before
        attempts = int(self.client.hincrby(keys.job(job.job_id), "attempts", 1))
        self._move(
            keys=self._move_keys(job.job_id, job.batch_id),
            args=self._move_args(
                job.job_id,
                State.RUNNING,
                batch_id=job.batch_id,
                uri=job.uri,
                job=job.model_dump_json(),
                worker=worker,
            ),
        )
        return attempts, before

    def finish(self, result: Result) -> bool:
        """Write the result and final state together; False if the job already had one."""
        error = result.error or ErrorInfo(code="", message="")
        state = result.status
        written = self._finish(
            keys=[
                keys.result(result.job_id),
                keys.job(result.job_id),
                *self._state_sets(result.batch_id),
            ],
            args=[
                self._compress.compress(result.model_dump_json().encode()),
                self.result_ttl_s,
                state.value,
                error.code,
                error.message,
                time.time(),
                _STATES.index(state) + 1,
                result.job_id,
            ],
        )
        return bool(written)

    def retrying(self, job: Job, error: ErrorInfo, count_attempt: bool = True) -> None:
        """Back to queued after a transient error, keeping the error for `status`.
        With count_attempt False the delivery is given back (the job was not at fault)."""
        if not count_attempt:
            self.client.hincrby(keys.job(job.job_id), "attempts", -1)
        self._move(
            keys=self._move_keys(job.job_id, job.batch_id),
            args=self._move_args(
                job.job_id, State.QUEUED, error_code=error.code, error=error.message
            ),
        )

    def dead_letter(self, result: Result) -> bool:
        """Finish the job as dead and keep an entry in the dead-letter list."""
        written = self.finish(result)
        if written:
            entry = {
                "job_id": result.job_id,
                "batch_id": result.batch_id,
                "uri": result.source.uri,
                "attempts": result.attempts,
                "error": result.error.model_dump() if result.error else None,
                "at": time.time(),
            }
            self.client.lpush(keys.DEAD, json.dumps(entry))
        return written

    # ------------------------------------------------------------------ reading

    def result(self, job_id: str) -> Result | None:
        blob = self.client.get(keys.result(job_id))
        if blob is None:
            return None
        assert isinstance(blob, bytes)  # the client does not decode responses
        return Result.model_validate_json(self._decompress.decompress(blob))

    def job_state(self, job_id: str) -> dict[str, str]:
        raw = self.client.hgetall(keys.job(job_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    def counts(self, batch_id: str) -> dict[State, int]:
        pipe = self.client.pipeline(transaction=False)
        for key in self._state_sets(batch_id):
            pipe.scard(key)
        return dict(zip(_STATES, pipe.execute(), strict=True))

    def job_ids(self, batch_id: str, state: State) -> set[str]:
        return {_text(m) for m in self.client.smembers(keys.batch_state(batch_id, state))}

    def job_fields(self, job_ids: Sequence[str], *fields: str) -> list[list[str | None]]:
        """The named fields of each job's hash (None where missing), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), list(fields))
        return [[_text(v) if v is not None else None for v in row] for row in pipe.execute()]

    def jobs(self, job_ids: Sequence[str]) -> list[Job | None]:
        """The Job each job hash recorded when it was queued (None: unknown)."""
        return [
            Job.model_validate_json(row[0]) if row[0] else None
            for row in self.job_fields(job_ids, "job")
        ]

    def results(self, job_ids: Sequence[str]) -> list[Result | None]:
        """The result documents of these jobs (None: none stored), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.get(keys.result(job_id))
        return [
            Result.model_validate_json(self._decompress.decompress(blob)) if blob else None
            for blob in pipe.execute()
        ]

    def scan_job_ids(self, batch_id: str, state: State, page: int = 500) -> Iterator[list[str]]:
        """The job ids of a batch in a state, a page at a time (SSCAN: never all at once).
        An id that changes state during the scan may be seen twice or not at all."""
        cursor = 0
        while True:
            cursor, members = self.client.sscan(
                keys.batch_state(batch_id, state.value), cursor, count=page
            )
            if members:
                yield [_text(m) for m in members]
            if cursor == 0:
                return

    def batches(self, newest: int | None = None) -> list[tuple[str, float]]:
        """(batch id, creation time) of the recorded batches, newest first."""
        end = -1 if newest is None else newest - 1
        rows = cast(
            list[tuple[bytes, float]],
            self.client.zrevrange(keys.BATCHES, 0, end, withscores=True),
        )
        return [(_text(batch_id), float(score)) for batch_id, score in rows]

    def batch_meta(self, batch_id: str) -> dict[str, Any] | None:
        """What `create_batch` recorded for the batch (created_at included); None: unknown."""
        raw = self.client.hgetall(keys.batch(batch_id))
        if not raw:
            return None
        return {_text(k): json.loads(v) for k, v in raw.items()}

    def leave_batch(self, job_id: str, batch_id: str, pipe: Any = None) -> None:
        """Take a job out of a batch's state sets (it is being queued under another batch)."""
        client = pipe if pipe is not None else self.client
        for key in self._state_sets(batch_id):
            client.srem(key, job_id)

    def forget(self, jobs: Iterable[Job]) -> None:
        """Undo `mark_queued` for jobs whose messages could not be published: they become
        unknown again, so a re-submit enqueues them."""
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            pipe.delete(keys.job(job.job_id))
            for key in self._state_sets(job.batch_id):
                pipe.srem(key, job.job_id)
        pipe.execute()

    def purge(self, batch_id: str, page: int = 500) -> int:
        """Delete a batch: its jobs' results and hashes (those still belonging to it), its
        state sets, its record and its dead-letter entries. Returns the jobs deleted."""
        deleted = 0
        for state in _STATES:
            for job_ids in self.scan_job_ids(batch_id, state, page):
                owners = self.job_fields(job_ids, "batch_id")
                pipe = self.client.pipeline(transaction=False)
                for job_id, (owner,) in zip(job_ids, owners, strict=True):
                    # a job forced into another batch since then belongs to that batch now
                    if owner in (None, batch_id):
                        pipe.delete(keys.job(job_id), keys.result(job_id))
                        deleted += 1
                pipe.execute()
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(*self._state_sets(batch_id), keys.batch(batch_id))
        pipe.zrem(keys.BATCHES, batch_id)
        pipe.execute()
        self._purge_dead_letters(batch_id, page)
        return deleted

    def _purge_dead_letters(self, batch_id: str, page: int) -> None:
        start = 0
        while entries := self.client.lrange(keys.DEAD, start, start + page - 1):
            mine = [e for e in entries if json.loads(e).get("batch_id") == batch_id]
            pipe = self.client.pipeline(transaction=False)
            for entry in mine:
                pipe.lrem(keys.DEAD, 1, _text(entry))
            pipe.execute()
            start += len(entries) - len(mine)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _state_sets(batch_id: str) -> list[str]:
        return [keys.batch_state(batch_id, s.value) for s in _STATES]

    def _move_keys(self, job_id: str, batch_id: str) -> list[str]:
        return [keys.job(job_id), *self._state_sets(batch_id)]

    @staticmethod
    def _move_args(job_id: str, state: State, **fields: str) -> list[Any]:
        args: list[Any] = [state.value, time.time(), _STATES.index(state) + 1, job_id]
        for name, value in fields.items():
            args += [name, value]
        return args


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
