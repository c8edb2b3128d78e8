"""`producer submit`: list roots, turn media into jobs, enqueue what the fleet has not seen.

Listing runs in a thread and hands pages over a bounded queue, so the enqueueing of one page
overlaps the listing of the next. A page costs two round trips whatever its size: one
script that records the page's unknown jobs as queued (`JobStore.claim_new`), one pipeline
publishing their messages.

Idempotence: a job's id is derived from (media version, models, options), so a file already
known to the fleet — queued, running, done, failed or dead, in any batch — is skipped and
reported; the claim is atomic, so two submits of the same files cannot both enqueue them.
`force` re-queues known jobs too (their old results are forgotten). Jobs are recorded as
queued before their messages are published (a worker never meets a message whose state is
not written yet); if publishing fails, they are forgotten again so that a re-submit sends
them.
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
from worker.jobs import Job, JobOptions, SourceIdentity, State, job_id_for
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
    #: Why the submit stopped early (the store or broker failed mid-way); what was enqueued
    #: before stays enqueued, and a re-submit sends the rest.
    failure: ProducerError | None = None

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
        _check(request)
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
                planned = self._settle(request, jobs, report)
                if observe is not None:
                    for item in planned:
                        observe(item)
                todo = [p.job for p in planned if p.action in ("enqueue", "requeue")]
                if not request.dry_run and todo:
                    self._publish(todo)
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
        except ProducerError as exc:
            report.failure = exc
        finally:
            stop.set()
        if not report.limit_reached and report.failure is None:
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
            elif request.patterns and not matches(listed.relative, request.patterns):
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
                # every part is validated already (`_check` did the models and options once)
                jobs.append(
                    Job.model_construct(
                        job_id=job_id,
                        batch_id=request.batch_id,
                        source=source,
                        models=request.models,
                        options=request.options,
                        submitted_at=submitted_at,
                    )
                )
        return jobs, media

    def _settle(
        self, request: SubmitRequest, jobs: list[Job], report: SubmitReport
    ) -> list[Planned]:
        """Decide what happens to each job and, unless dry-running, record the ones to send
        as queued. At most the jobs that still fit under the limit are taken."""
        if request.dry_run or request.force:
            planned = self._read(request, jobs, report)
            if request.force and not request.dry_run:
                self._record_forced(planned)
            return planned
        planned = []
        room = None if request.limit is None else request.limit - report.enqueued
        while jobs and (room is None or room > 0):
            take, jobs = (jobs, []) if room is None else (jobs[:room], jobs[room:])
            for job, known in zip(take, self.store.claim_new(take), strict=True):
                if known is None:
                    planned.append(Planned(job, "enqueue"))
                    room = None if room is None else room - 1
                else:
                    state, batch = known
                    planned.append(Planned(job, state.value, known_batch=batch or None))
                    report.skipped[state.value] += 1
        return planned

    def _read(self, request: SubmitRequest, jobs: list[Job], report: SubmitReport) -> list[Planned]:
        """The plan from the jobs' current states, writing nothing (dry runs, --force)."""
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

    def _record_forced(self, planned: list[Planned]) -> None:
        pipe = self.store.client.pipeline(transaction=False)
        for item in planned:
            if item.known_batch and item.known_batch != item.job.batch_id:
                # forced into this batch: it leaves the batch it was counted in
                self.store.leave_batch(item.job.job_id, item.known_batch, pipe)
        self.store.mark_queued([p.job for p in planned], pipe)
        pipe.execute()

    def _record_batch(self, request: SubmitRequest) -> None:
        self.store.create_batch(
            request.batch_id,
            {
                "models": request.models,
                "options": request.options.model_dump(mode="json"),
                "uris": [r.uri for r in request.roots],
            },
        )

    def _publish(self, jobs: list[Job]) -> None:
        assert self.publisher is not None
        try:
            self.publisher.publish(jobs)
        except ProducerError:
            # recorded as queued but maybe never sent: unknown again, so a re-submit sends them
            self.store.forget(jobs)
            raise


def _check(request: SubmitRequest) -> None:
    """Validate what every job of the request shares (models, options, batch) as a Job."""
    Job(
        job_id="0" * 32,
        batch_id=request.batch_id,
        source=SourceIdentity(uri="check://"),
        models=request.models,
        options=request.options,
        submitted_at=0.0,
    )


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
