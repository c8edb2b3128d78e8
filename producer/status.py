"""`producer status` and `producer batches`: progress of a batch read from the store.

Counts come from the batch's state sets (SCARD each); throughput is finished jobs per second
since the batch was created — over the last minute of snapshots when watching — and the ETA
is what is left at that rate. Top errors group the failed, dead and retrying jobs of the
batch by error code, with one example message each.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from producer.errors import InputError
from worker.jobs import State
from worker.store import JobStore

#: Seconds of snapshots a watch uses for its throughput.
RATE_WINDOW_S: Final = 60.0
TOP_ERRORS: Final = 5


@dataclass(frozen=True)
class ErrorGroup:
    code: str
    count: int
    example: str


@dataclass
class BatchStatus:
    """One look at a batch."""

    batch_id: str
    created_at: float
    counts: dict[State, int]
    at: float
    #: Finished jobs per second (None until something finished).
    rate: float | None = None
    errors: list[ErrorGroup] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.counts[State.DONE] + self.counts[State.FAILED] + self.counts[State.DEAD]

    @property
    def pending(self) -> int:
        return self.counts[State.QUEUED] + self.counts[State.RUNNING]

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.pending == 0

    @property
    def eta_s(self) -> float | None:
        if self.complete:
            return 0.0
        if not self.rate:
            return None
        return self.pending / self.rate

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`status --json`, the `--notify` POST body)."""
        return {
            "batch_id": self.batch_id,
            "created_at": self.created_at,
            "at": self.at,
            "total": self.total,
            "counts": {s.value: n for s, n in self.counts.items()},
            "finished": self.finished,
            "complete": self.complete,
            "rate_per_s": self.rate,
            "eta_s": self.eta_s,
            "errors": [
                {"code": e.code, "count": e.count, "example": e.example} for e in self.errors
            ],
            "models": self.meta.get("models"),
            "uris": self.meta.get("uris"),
        }


def batch_status(store: JobStore, batch_id: str, with_errors: bool = True) -> BatchStatus:
    """The batch's counts, average throughput since creation and top errors."""
    meta = store.batch_meta(batch_id)
    if meta is None:
        raise InputError(f"no batch named {batch_id!r} (see `producer batches`)")
    now = time.time()
    created = float(meta.get("created_at", now))
    status = BatchStatus(batch_id, created, store.counts(batch_id), now, meta=meta)
    # a finished batch's rate runs to its last finish, not to now
    end = _last_update(store, batch_id) if status.complete else now
    if status.finished and end > created:
        status.rate = status.finished / (end - created)
    if with_errors:
        status.errors = top_errors(store, batch_id)
    return status


def top_errors(store: JobStore, batch_id: str, limit: int = TOP_ERRORS) -> list[ErrorGroup]:
    """Error codes of the batch's failed, dead and retrying jobs, most frequent first."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for state in (State.FAILED, State.DEAD, State.QUEUED):
        for job_ids in store.scan_job_ids(batch_id, state):
            for code, message in store.job_fields(job_ids, "error_code", "error"):
                if code:
                    counts[code] += 1
                    examples.setdefault(code, message or "")
    return [ErrorGroup(c, n, examples[c]) for c, n in counts.most_common(limit)]


def _last_update(store: JobStore, batch_id: str) -> float:
    last = 0.0
    for state in (State.DONE, State.FAILED, State.DEAD):
        for job_ids in store.scan_job_ids(batch_id, state):
            for (updated,) in store.job_fields(job_ids, "updated_at"):
                last = max(last, float(updated or 0.0))
    return last


class RateWindow:
    """Throughput over the last RATE_WINDOW_S seconds of a watch."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, int]] = deque()

    def update(self, status: BatchStatus) -> None:
        """Record the snapshot and replace its rate with the windowed one when known."""
        self._points.append((status.at, status.finished))
        while len(self._points) > 2 and status.at - self._points[1][0] >= self.window_s:
            self._points.popleft()
        first_at, first_done = self._points[0]
        if status.at - first_at >= 1.0 and status.finished > first_done:
            status.rate = (status.finished - first_done) / (status.at - first_at)


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    created_at: float
    counts: dict[State, int]
    models: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def list_batches(store: JobStore, newest: int | None = None) -> Iterable[BatchRow]:
    """The recorded batches, newest first, with their counts."""
    for batch_id, created in store.batches(newest):
        meta = store.batch_meta(batch_id) or {}
        models = sorted(meta.get("models") or {})
        yield BatchRow(batch_id, created, store.counts(batch_id), models)
