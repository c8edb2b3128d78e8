"""`producer retry`: put a batch's failed and/or dead jobs back on the queue.

Each job is re-sent exactly as it was queued (the Job recorded in its hash), its old
result forgotten and its delivery count reset. Jobs recorded as queued can be re-sent too
(after a broker lost its messages): one whose message still exists then runs twice, and
its result is still written once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from producer.errors import InputError, ProducerError
from producer.publish import Publisher
from worker.jobs import State
from worker.store import JobStore


@dataclass
class RetryReport:
    """What `retry` re-enqueued (or, without a publisher, would), per state."""

    counts: Counter[State] = field(default_factory=Counter)
    #: Jobs left where they are because this version cannot run them (e.g. a model a newer
    #: producer knows): job id → why. Re-sending them would only fail them again.
    unusable: dict[str, str] = field(default_factory=dict)


def retry(
    store: JobStore,
    publisher: Publisher | None,
    batch_id: str,
    states: Sequence[State],
    page: int = 1000,
) -> RetryReport:
    """Re-enqueue the batch's jobs in `states`. With no publisher, nothing is written: the
    report says what would be re-enqueued."""
    if store.batch_meta(batch_id) is None:
        raise InputError(f"no batch named {batch_id!r} (see `producer batches`)")
    report = RetryReport()
    done = report.counts
    for state in states:
        # collect first: re-queueing moves ids out of the set being scanned
        job_ids = sorted({j for ids in store.scan_job_ids(batch_id, state, page) for j in ids})
        for start in range(0, len(job_ids), page):
            jobs, unusable = store.jobs(job_ids[start : start + page])
            report.unusable.update(unusable)
            if publisher is not None and jobs:
                # recorded first, so a worker never meets a message for a finished job
                store.mark_queued(jobs)
                try:
                    publisher.publish(jobs)
                except ProducerError as exc:
                    raise ProducerError(
                        f"{exc}; {len(jobs)} jobs are recorded as queued without a message: "
                        f"run `producer retry {batch_id} --queued` when the broker is back"
                    ) from exc
            done[state] += len(jobs)
    return report
