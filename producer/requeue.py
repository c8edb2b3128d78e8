"""`producer retry`: put a batch's failed and/or dead jobs back on the queue.

Each job is re-sent exactly as it was queued (the Job recorded in its hash), its old
result forgotten and its delivery count reset. Jobs recorded as queued can be re-sent too
(after a broker lost its messages): one whose message still exists then runs twice, and
its result is still written once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from producer.errors import InputError, ProducerError
from producer.publish import Publisher
from worker.jobs import State
from worker.store import JobStore


def retry(
    store: JobStore,
    publisher: Publisher | None,
    batch_id: str,
    states: Sequence[State],
    page: int = 1000,
) -> Counter[State]:
    """Re-enqueue the batch's jobs in `states`; the number re-enqueued per state. With no
    publisher, nothing is written: the counts say what would be re-enqueued."""
    if store.batch_meta(batch_id) is None:
        raise InputError(f"no batch named {batch_id!r} (see `producer batches`)")
    done: Counter[State] = Counter()
    for state in states:
        # collect first: re-queueing moves ids out of the set being scanned
        job_ids = sorted({j for ids in store.scan_job_ids(batch_id, state, page) for j in ids})
        for start in range(0, len(job_ids), page):
            jobs = [j for j in store.jobs(job_ids[start : start + page]) if j is not None]
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
    return done
