"""`producer submit`: list roots, turn media into jobs, enqueue what the fleet has not seen.

Listing runs in a thread and hands pages over a bounded queue, so the store check and the
enqueueing of one page overlap the listing of the next. Each page costs three round trips
whatever its size: one pipeline reading the jobs' states, one pipeline recording the new
ones as queued, one pipeline publishing their messages.

Idempotence: a job's id is derived from (media version, models, options), so a file already
known to the fleet — queued, running, done, failed or dead, in any batch — is skipped and
reported; `force` re-queues it (its old result is forgotten). A page's jobs are recorded
as queued before their messages are published (a worker never sees a message whose state
is not yet written); if publishing fails, the page's jobs are forgotten again so that a
re-submit enqueues them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from producer.errors import ProducerError
from producer.listing import Listed, Lister, is_media, matches
from producer.publish import Publisher
from producer.uris import Root
from worker.jobs import Job, JobOptions, State, job_id_for
from worker.store import JobStore

#: Pages listed ahead of the one being enqueued.
_LOOKAHEAD: Final = 4

REJECT_NOT_MEDIA: Final = "not a media file (extension)"
REJECT_PATTERN: Final = "does not match --pattern"
REJECT_EMPTY: Final = "empty file (0 bytes)"
REJECT_TWICE: Final = "listed twice in this submit"


@dataclass(frozen=True)
class SubmitRequest:
    """What to submit and how."""

    roots: Sequence[Root]
    models: dict[str, dict[str, Any]]
    batch_id: str
    options: JobOptions = field(default_factory=JobOptions)
    patterns: Sequence[str] = ()
    limit: int | None = None
    force: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Planned:
    """A job the submit looked at: `action` is "enqueue", "requeue" or the known state."""

    job: Job
    action: str
    known_batch: str | None = None


@dataclass
class SubmitReport:
    """What a submit did (or, with dry_run, would do)."""

    batch_id: str
    dry_run: bool
    listed: int = 0
    enqueued: int = 0
    #: Known jobs left alone, by state.
    skipped: Counter[str] = field(default_factory=Counter)
    #: Objects not turned into jobs, by reason, with one example URI each.
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    #: Roots under which no media was found.
    empty_roots: list[str] = field(default_factory=list)
    limit_reached: bool = False
    elapsed_s: float = 0.0

    def reject(self, reason: str, uri: str) -> None:
        self.rejected[reason] += 1
        self.examples.setdefault(reason, uri)


#: Called after every page with the report so far.
Progress = Callable[[SubmitReport], None]
#: Called with every job looked at (the dry-run listing, a verbose log).
Observer = Callable[[Planned], None]


class Submitter:
    """Runs submits against one store and (unless dry-running) one publisher."""

    def __init__(
        self,
        lister: Lister,
        store: JobStore,
        publisher: Publisher | None,
        page_size: int = 1000,
    ) -> None:
        self.lister = lister
        self.store = store
        self.publisher = publisher
        self.page_size = page_size

    def submit(
        self,
        request: SubmitRequest,
        progress: Progress | None = None,
        observe: Observer | None = None,
    ) -> SubmitReport:
        """Submit every media file under the request's roots (see the module docstring)."""
        if self.publisher is None and not request.dry_run:
            raise ValueError("a publisher is needed unless dry-running")
        started = time.monotonic()
        for root in request.roots:
            self.lister.check(root)
        report = SubmitReport(batch_id=request.batch_id, dry_run=request.dry_run)
        media_per_root: Counter[Root] = Counter()
        seen: set[str] = set()
        submitted_at = time.time()
        batch_recorded = False
        stop = threading.Event()
        try:
            for root, page in _prefetch(self._pages(request.roots), stop):
                report.listed += len(page)
                jobs, media = self._jobs(request, page, report, seen, submitted_at)
                media_per_root[root] += media
                planned = self._plan(request, jobs, report)
                if observe is not None:
                    for item in planned:
                        observe(item)
                todo = [p for p in planned if p.action in ("enqueue", "requeue")]
                if not request.dry_run and todo:
                    self._enqueue(todo)
                    if not batch_recorded:
                        # after the first page is out: a submit that sent nothing leaves no batch
                        self._record_batch(request)
                        batch_recorded = True
                report.enqueued += len(todo)
                if progress is not None:
                    progress(report)
                if request.limit is not None and report.enqueued >= request.limit:
                    report.limit_reached = True
                    break
        finally:
            stop.set()
        if not report.limit_reached:
            report.empty_roots = [r.uri for r in request.roots if media_per_root[r] == 0]
        if batch_recorded:
            self.store.create_batch(
                request.batch_id, {"total": sum(self.store.counts(request.batch_id).values())}
            )
        report.elapsed_s = time.monotonic() - started
        return report

    def _pages(self, roots: Sequence[Root]) -> Iterator[tuple[Root, list[Listed]]]:
        for root in roots:
            for page in self.lister.pages(root, self.page_size):
                yield root, page

    @staticmethod
    def _jobs(
        request: SubmitRequest,
        page: list[Listed],
        report: SubmitReport,
        seen: set[str],
        submitted_at: float,
    ) -> tuple[list[Job], int]:
        """The page's new jobs, and how many of its objects were media the user asked for."""
        jobs = []
        media = 0
        for listed in page:
            if not is_media(listed.path):
                report.reject(REJECT_NOT_MEDIA, listed.uri)
            elif not matches(listed.relative, request.patterns):
                report.reject(REJECT_PATTERN, listed.uri)
            elif listed.size == 0:
                media += 1
                report.reject(REJECT_EMPTY, listed.uri)
            else:
                media += 1
                source = listed.identity()
                job_id = job_id_for(source, request.models, request.options)
                if job_id in seen:
                    report.reject(REJECT_TWICE, listed.uri)
                    continue
                seen.add(job_id)
                jobs.append(
                    Job(
                        job_id=job_id,
                        batch_id=request.batch_id,
                        source=source,
                        models=request.models,
                        options=request.options,
                        submitted_at=submitted_at,
                    )
                )
        return jobs, media

    def _plan(self, request: SubmitRequest, jobs: list[Job], report: SubmitReport) -> list[Planned]:
        known = self.store.job_fields([j.job_id for j in jobs], "state", "batch_id")
        room = None if request.limit is None else request.limit - report.enqueued
        planned = []
        for job, (state, batch) in zip(jobs, known, strict=True):
            wanted = state is None or request.force
            if wanted and room is not None and room <= 0:
                break
            if state is None:
                planned.append(Planned(job, "enqueue"))
            elif request.force:
                planned.append(Planned(job, "requeue", known_batch=batch))
            else:
                planned.append(Planned(job, State(state).value, known_batch=batch))
                report.skipped[state] += 1
            if wanted and room is not None:
                room -= 1
        return planned

    def _record_batch(self, request: SubmitRequest) -> None:
        self.store.create_batch(
            request.batch_id,
            {
                "models": request.models,
                "options": request.options.model_dump(mode="json"),
                "uris": [r.uri for r in request.roots],
            },
        )

    def _enqueue(self, todo: list[Planned]) -> None:
        assert self.publisher is not None
        jobs = [p.job for p in todo]
        pipe = self.store.client.pipeline(transaction=False)
        for item in todo:
            if item.known_batch and item.known_batch != item.job.batch_id:
                # forced into this batch: it leaves the batch it was counted in
                self.store.leave_batch(item.job.job_id, item.known_batch, pipe)
        self.store.mark_queued(jobs, pipe)
        pipe.execute()
        try:
            self.publisher.publish(jobs)
        except ProducerError:
            self.store.forget(jobs)
            raise


def _prefetch(
    pages: Iterator[tuple[Root, list[Listed]]], stop: threading.Event
) -> Iterator[tuple[Root, list[Listed]]]:
    """Iterate `pages` in a thread, up to _LOOKAHEAD pages ahead; its errors re-raise here."""
    handoff: queue.Queue[tuple[Root, list[Listed]] | BaseException | None] = queue.Queue(_LOOKAHEAD)

    def put(item: tuple[Root, list[Listed]] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in pages:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consuming thread, which re-raises it
            put(exc)
            return
        put(None)

    thread = threading.Thread(target=run, name="producer-listing", daemon=True)
    thread.start()
    while (item := handoff.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
