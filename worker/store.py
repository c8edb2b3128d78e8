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
from pydantic import ValidationError

from worker import keys
from worker.jobs import ErrorInfo, Job, Result, State, describe_invalid

_STATES = tuple(State)

# Moves a job to a state. KEYS[k] is the job, the batch state sets follow it in `_STATES`
# order. ARGV from a: state, now, index of the state's set (1-based), job_id, then
# field/value pairs to set on the job hash.
_MOVE_FN = """
local function move(k, a)
  redis.call('HSET', KEYS[k], 'state', ARGV[a], 'updated_at', ARGV[a + 1])
  for i = a + 4, #ARGV, 2 do redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1]) end
  for i = k + 1, #KEYS do redis.call('SREM', KEYS[i], ARGV[a + 3]) end
  redis.call('SADD', KEYS[k + tonumber(ARGV[a + 2])], ARGV[a + 3])
end
"""

_MOVE = _MOVE_FN + "move(1, 1)\nreturn 1"

# KEYS: result, then `_MOVE`'s keys. ARGV: `_MOVE`'s args. Returns {state before, attempts}:
# a finished job with a result is left alone; otherwise one more delivery is counted and
# the job moves to running, in one round trip on the hot path of every job.
_START = (
    _MOVE_FN
    + """
local before = redis.call('HGET', KEYS[2], 'state')
local final = before == 'done' or before == 'failed' or before == 'dead'
if final and redis.call('EXISTS', KEYS[1]) == 1 then
  return {before, redis.call('HGET', KEYS[2], 'attempts') or '0'}
end
local attempts = redis.call('HINCRBY', KEYS[2], 'attempts', 1)
move(2, 1)
return {before or false, tostring(attempts)}
"""
)

# KEYS: result, then `_MOVE`'s keys. ARGV: blob, ttl, then `_MOVE`'s args. Only the first
# finisher writes: returns 0 when the job already has a result.
_FINISH = (
    _MOVE_FN
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
move(2, 3)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""
)

# Records jobs as queued unless the store knows them already, atomically (two submits of
# the same files cannot both enqueue them). KEYS: the batch's queued set, then per job its
# hash and its result. ARGV: now, batch id, then per job: job id, uri, the Job as JSON.
# Returns per job {} when it was recorded, else {state, batch id} of the job as known.
_CLAIM = """
local out = {}
for i = 1, (#KEYS - 1) / 2 do
  local job, a = KEYS[2 * i], 3 * i
  local known = redis.call('HMGET', job, 'state', 'batch_id')
  if known[1] then
    out[i] = {known[1], known[2] or ''}
  else
    redis.call('HSET', job, 'state', 'queued', 'updated_at', ARGV[1], 'batch_id', ARGV[2],
               'uri', ARGV[a + 1], 'job', ARGV[a + 2])
    -- a stale result (its hash expired first) would make the new result unwritable
    redis.call('DEL', KEYS[2 * i + 1])
    redis.call('SADD', KEYS[1], ARGV[a])
    out[i] = {}
  end
end
return out
"""


class JobStore:
    """Reads and writes job state, results and the dead-letter list."""

    def __init__(self, client: redis.Redis, result_ttl_s: int) -> None:
        self.client = client
        self.result_ttl_s = result_ttl_s
        self._finish = client.register_script(_FINISH)
        self._move = client.register_script(_MOVE)
        self._start = client.register_script(_START)
        self._claim = client.register_script(_CLAIM)
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
                    uri=job.redacted_uri,
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

    def claim_new(self, jobs: Sequence[Job]) -> list[tuple[State, str] | None]:
        """Record as queued the jobs the store does not know, in one round trip per batch;
        per job None when it was recorded, else (its state, its batch) as known. The
        producer's hot path: a job known to the fleet is never enqueued twice."""
        found: list[tuple[State, str] | None] = [None] * len(jobs)
        by_batch: dict[str, list[int]] = {}
        for i, job in enumerate(jobs):
            by_batch.setdefault(job.batch_id, []).append(i)
        now = time.time()
        for batch_id, indexes in by_batch.items():
            script_keys = [keys.batch_state(batch_id, State.QUEUED.value)]
            args: list[Any] = [now, batch_id]
            for i in indexes:
                job = jobs[i]
                script_keys += [keys.job(job.job_id), keys.result(job.job_id)]
                args += [job.job_id, job.redacted_uri, job.model_dump_json()]
            for i, known in zip(indexes, self._claim(keys=script_keys, args=args), strict=True):
                if known:
                    found[i] = (State(_text(known[0])), _text(known[1]))
        return found

    # ------------------------------------------------------------------ worker side

    def start(self, job: Job, worker: str) -> tuple[int, State | None]:
        """Count one more delivery of the job and mark it running.

        Returns (attempts so far including this one, state before). A job whose result
        already exists is left alone (its state is returned so the caller can skip it).
        """
        before_raw, attempts = self._start(
            keys=[keys.result(job.job_id), *self._move_keys(job.job_id, job.batch_id)],
            args=self._move_args(
                job.job_id,
                State.RUNNING,
                batch_id=job.batch_id,
                uri=job.redacted_uri,
                job=job.model_dump_json(),
                worker=worker,
            ),
        )
        return int(attempts), State(_text(before_raw)) if before_raw else None

    def finish(self, result: Result) -> bool:
        """Write the result and final state together; False if the job already had one."""
        error = result.error or ErrorInfo(code="", message="")
        written = self._finish(
            keys=[keys.result(result.job_id), *self._move_keys(result.job_id, result.batch_id)],
            args=[
                self._compress.compress(result.model_dump_json().encode()),
                self.result_ttl_s,
                *self._move_args(
                    result.job_id, result.status, error_code=error.code, error=error.message
                ),
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

    def jobs(self, job_ids: Sequence[str]) -> tuple[list[Job], dict[str, str]]:
        """The Jobs recorded for these ids when they were queued (unknown ids left out),
        and the ids whose recorded Job this version cannot read (e.g. a model only a newer
        producer knows), with why."""
        jobs, unreadable = [], {}
        for job_id, (raw,) in zip(job_ids, self.job_fields(job_ids, "job"), strict=True):
            if not raw:
                continue
            try:
                jobs.append(Job.model_validate_json(raw))
            except ValidationError as exc:
                unreadable[job_id] = describe_invalid(exc)
        return jobs, unreadable

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
