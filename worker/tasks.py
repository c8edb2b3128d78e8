"""The Celery task: one message = one recording. It reads like the flow; the work is in
`worker.pipeline`, the bookkeeping in `worker.store`."""

from __future__ import annotations

import random
import time
from typing import Any

import structlog
from celery import Task
from pydantic import ValidationError

from worker import metrics, runtime
from worker.app import app
from worker.failures import Disposition, JobFailure, classify
from worker.jobs import (
    FINAL_STATES,
    TASK_NAME,
    ErrorInfo,
    Job,
    Result,
    SourceIdentity,
    State,
    Timings,
    describe_invalid,
)
from worker.logs import get_logger
from worker.pipeline import run_job
from worker.v1.pipeline import run_job_v1

log = get_logger(__name__)

#: A held job (rejected key, no credits) is tried again after this long, without counting.
HOLD_DELAY_S = 60.0


def backoff_s(attempt: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not crypto


@app.task(name=TASK_NAME, bind=True, max_retries=None)
def process_recording(self: Task, job_data: dict[str, Any]) -> str:
    """Run one recording through the API and store its result; returns the final state."""
    rt = runtime.get()
    try:
        job = Job.model_validate(job_data)
    except ValidationError as exc:
        log.error("job.invalid_message", error=str(exc))
        return _refuse(rt, job_data, exc)

    attempts, before = rt.store.start(job, rt.worker_id)
    structlog.contextvars.bind_contextvars(
        job_id=job.job_id, batch_id=job.batch_id, uri=job.uri, attempt=attempts
    )
    try:
        if before in FINAL_STATES:
            log.info("job.already_finished", state=str(before))
            return str(before)
        if attempts > rt.settings.fleet_max_attempts:
            error = ErrorInfo(
                code="max_attempts",
                message=f"gave up after {attempts - 1} deliveries; the last one never "
                f"finished (did the job kill its worker?)",
            )
            return _finish(rt, job, attempts, State.DEAD, error)
        return _run(self, rt, job, attempts)
    finally:
        structlog.contextvars.clear_contextvars()


def _refuse(rt: runtime.Runtime, job_data: Any, exc: ValidationError) -> str:
    """A message this worker cannot run (e.g. from a newer producer: a model it does not
    know) fails under its job id when it names one, so its batch still completes; with no
    job id it is only logged, as nothing could hold the error."""
    fields = job_data if isinstance(job_data, dict) else {}
    job_id, batch_id, source = fields.get("job_id"), fields.get("batch_id"), fields.get("source")
    if not (isinstance(job_id, str) and job_id and isinstance(batch_id, str) and batch_id):
        return "invalid"
    uri = source.get("uri") if isinstance(source, dict) else None
    problems = describe_invalid(exc)
    now = time.time()
    _store(
        rt,
        Result(
            job_id=job_id,
            batch_id=batch_id,
            status=State.FAILED,
            source=SourceIdentity(uri=uri if isinstance(uri, str) else ""),
            error=ErrorInfo(
                code="invalid_job", message=f"this worker cannot run the job: {problems}"
            ),
            timings=Timings(started_at=now, finished_at=now),
            attempts=0,
            worker=rt.worker_id,
        ),
    )
    return State.FAILED.value


def _run(task: Task, rt: runtime.Runtime, job: Job, attempts: int) -> str:
    started = time.time()
    metrics.IN_PROGRESS.inc()
    try:
        run = run_job_v1 if rt.settings.hume_api == "v1" else run_job
        result = run(job, rt, attempts, started)
    except Exception as exc:
        failure = classify(exc)
        metrics.API_ERRORS.labels(failure.error.code).inc()
        return _handle_failure(task, rt, job, attempts, failure)
    finally:
        metrics.IN_PROGRESS.dec()
        metrics.JOB_DURATION.observe(time.time() - started)
    if _store(rt, result):
        log.info("job.done", duration_s=result.duration_s, api_seconds=result.timings.api_seconds)
    return State.DONE.value


def _handle_failure(
    task: Task, rt: runtime.Runtime, job: Job, attempts: int, failure: JobFailure
) -> str:
    error = failure.error
    if failure.disposition is Disposition.FAIL:
        log.warning("job.failed", code=error.code, error=error.message)
        return _finish(rt, job, attempts, State.FAILED, error)
    if failure.disposition is Disposition.HOLD:
        # Not the job's fault: give the attempt back and try again later.
        rt.store.retrying(job, error, count_attempt=False)
        log.error("job.held", code=error.code, error=error.message, retry_in_s=HOLD_DELAY_S)
        raise task.retry(countdown=HOLD_DELAY_S)
    if failure.disposition is Disposition.WAIT:
        # No payload reached the API: the delivery is given back, and the wait grows with
        # each such retry of the job (Celery counts them), up to backoff_s's cap.
        delay = backoff_s(task.request.retries + 1)
        rt.store.retrying(job, error, count_attempt=False)
        metrics.JOBS.labels("retried", rt.settings.hume_api).inc()
        log.warning("job.waiting", code=error.code, error=error.message, retry_in_s=round(delay, 2))
        raise task.retry(countdown=delay)
    if attempts >= rt.settings.fleet_max_attempts:
        log.error("job.dead", code=error.code, error=error.message)
        return _finish(rt, job, attempts, State.DEAD, error)
    delay = backoff_s(attempts)
    rt.store.retrying(job, error)
    metrics.JOBS.labels("retried", rt.settings.hume_api).inc()
    log.warning("job.retry", code=error.code, error=error.message, retry_in_s=round(delay, 2))
    raise task.retry(countdown=delay)


def _finish(rt: runtime.Runtime, job: Job, attempts: int, state: State, error: ErrorInfo) -> str:
    now = time.time()
    result = Result(
        job_id=job.job_id,
        batch_id=job.batch_id,
        status=state,
        source=job.source,
        error=error,
        timings=Timings(queued_at=job.submitted_at, started_at=now, finished_at=now),
        attempts=attempts,
        worker=rt.worker_id,
    )
    _store(rt, result)
    return state.value


def _store(rt: runtime.Runtime, result: Result) -> bool:
    """Write the job's final result; it counts only if this delivery wrote it. Another
    delivery of the same job (a redelivery while this one still ran) may have finished
    it first: its result stands, and this one is dropped."""
    store = rt.store
    written = (store.dead_letter if result.status is State.DEAD else store.finish)(result)
    if written:
        metrics.JOBS.labels(result.status.value, rt.settings.hume_api).inc()
    else:
        log.info("job.already_finished", dropped=result.status.value)
    return written
