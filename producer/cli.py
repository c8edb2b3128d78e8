"""`producer`: submit media to the fleet and follow batches (submit, status, results, retry,
batches, purge).

Settings come from the environment (and `.env`): REDIS_URL, BROKER_URL, FLEET_QUEUE,
PRODUCER_DEFAULT_SCHEME, AWS_ENDPOINT_URL… (see `producer.settings`). Exit codes: 0 ok,
2 bad input (usage, URI, model config, unknown batch; nothing was enqueued), 1 anything
else (store, broker, notify failures). Messages go to stderr, results to stdout.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import kombu.exceptions
import redis
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from producer import render
from producer.configs import load_models
from producer.errors import InputError, ProducerError
from producer.export import iter_results, write_csv, write_jsonl
from producer.listing import Lister
from producer.notify import check_url, post_summary, shown
from producer.publish import Publisher, check_priority
from producer.requeue import retry as retry_jobs
from producer.settings import ProducerSettings
from producer.status import BatchStatus, RateWindow, batch_status, list_batches
from producer.submit import SubmitReport, SubmitRequest, Submitter
from producer.uris import parse_root
from worker.jobs import JobOptions, State
from worker.media.redact import redact_text
from worker.store import JobStore

#: Batch names become part of Redis keys: no ':' or spaces.
BATCH_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

app = typer.Typer(
    name="producer",
    help="Submit media to the hume-fleet workers and follow the batches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def main() -> None:
    """Console-script entry point."""
    app()


def _stdout() -> Console:
    console = Console(soft_wrap=True, highlight=False)
    if not console.is_terminal:
        # piped or captured: tables at their natural width, not cut to 80 columns
        console.width = 200
    return console


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


@contextmanager
def _reporting() -> Iterator[None]:
    """Turn the producer's failures into a message on stderr and the documented exit code."""
    try:
        yield
    except ProducerError as exc:
        _fail(str(exc), exc.exit_code)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}", 2)
    except redis.RedisError as exc:
        _fail(f"the job store (Redis) failed: {redact_text(str(exc))}", 1)
    except kombu.exceptions.KombuError as exc:
        _fail(f"the broker failed: {redact_text(str(exc))}", 1)


def _fail(message: str, code: int) -> None:
    _stderr().print(f"error: {message}", style="red", markup=False)
    raise typer.Exit(code)


def store_for(settings: ProducerSettings) -> JobStore:
    """The job store at REDIS_URL, failing fast when Redis does not answer."""
    client = redis.Redis.from_url(
        settings.store_url, socket_connect_timeout=5, socket_timeout=60, health_check_interval=30
    )
    return JobStore(client, settings.fleet_result_ttl_s)


def publisher_for(settings: ProducerSettings, priority: int | None = None) -> Publisher:
    """A publisher to FLEET_QUEUE on BROKER_URL; close it when done."""
    # The worker's Celery app: its serializer and routing make the messages it consumes.
    from worker.app import app as celery_app

    return Publisher(
        celery_app,
        settings.broker,
        settings.fleet_queue,
        priority=priority,
        batch_size=settings.producer_chunk_size,
    )


def _batch_name(name: str | None) -> str:
    if name is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{secrets.token_hex(2)}"
    if not BATCH_NAME.fullmatch(name):
        raise InputError(
            f"bad batch name {name!r}: 1-100 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit"
        )
    return name


# ---------------------------------------------------------------------------------- submit


@app.command()
def submit(
    uris: Annotated[
        list[str],
        typer.Argument(
            help="s3://bucket/prefix, gs://bucket/prefix, file:///path, a local path, or a "
            "bare bucket/prefix (PRODUCER_DEFAULT_SCHEME, default s3). Files or prefixes.",
            show_default=False,
            metavar="URI",
        ),
    ],
    models: Annotated[
        str | None,
        typer.Option(
            "--models", "-m", metavar="MODELS", help="Comma-separated models, e.g. prosody,burst."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="YAML/JSON file: model name -> config object.",
            dir_okay=False,
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch", "-b", metavar="NAME", help="Batch name (default: UTC date-time + random)."
        ),
    ] = None,
    split_channels: Annotated[
        bool,
        typer.Option(
            "--split-channels/--mix", help="Analyse each channel of a call apart, or mix to mono."
        ),
    ] = True,
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--pattern",
            "-p",
            metavar="GLOB",
            help="Glob on the path below the URI ('*' also matches '/'); repeatable.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be enqueued; enqueue nothing.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="Enqueue at most this many jobs."),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option(
            "--priority",
            metavar="0-9",
            help="0-9; on the Redis broker 0 (the default) is served first, 9 last, in steps "
            "0/3/6/9.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Re-queue files already known, forgetting their results."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """List media under the URIs and enqueue one job per file the fleet has not seen."""
    with _reporting():
        settings = ProducerSettings()
        # everything the user typed is checked before anything is listed or written
        request = SubmitRequest(
            roots=[parse_root(u, settings.producer_default_scheme) for u in uris],
            models=load_models(models, config),
            batch_id=_batch_name(batch),
            options=JobOptions(split_channels=split_channels),
            patterns=tuple(pattern or ()),
            limit=limit,
            force=force,
            dry_run=dry_run,
        )
        check_priority(priority, settings.broker)
        store = store_for(settings)
        publisher = None if dry_run else publisher_for(settings, priority)
        submitter = Submitter(Lister(settings), store, publisher, settings.producer_chunk_size)
        try:
            report = _run_submit(submitter, request)
        finally:
            if publisher is not None:
                publisher.close()
        if as_json:
            print(json.dumps(_report_dict(report)))
        else:
            _stdout().print(render.submit_summary(report))
        if report.failure is not None:
            raise report.failure
        if report.empty_roots:
            for uri in report.empty_roots:
                _stderr().print(f"error: no media files found under {uri}", style="red")
            raise typer.Exit(2)
        if report.rejected and not report.enqueued and not report.skipped:
            _stderr().print(
                "error: nothing to enqueue: every media file listed was rejected (reasons above)",
                style="red",
            )
            raise typer.Exit(2)


def _run_submit(submitter: Submitter, request: SubmitRequest) -> SubmitReport:
    with render.submit_progress(_stderr()) as progress:
        listing = progress.add_task("listing", total=None, note="")
        queueing = progress.add_task(
            "checking" if request.dry_run else "enqueueing", total=0, note=""
        )

        def update(report: SubmitReport) -> None:
            looked_at = report.enqueued + sum(report.skipped.values())
            progress.update(listing, completed=report.listed)
            progress.update(
                queueing,
                total=looked_at,
                completed=looked_at,
                note=f"new {report.enqueued} · skipped {sum(report.skipped.values())}",
            )

        observe = (lambda item: print(render.planned_line(item))) if request.dry_run else None
        report = submitter.submit(request, progress=update, observe=observe)
        progress.update(listing, total=report.listed, completed=report.listed)
        return report


def _report_dict(report: SubmitReport) -> dict[str, object]:
    return {
        "batch_id": report.batch_id,
        "dry_run": report.dry_run,
        "listed": report.listed,
        "enqueued": report.enqueued,
        "skipped": dict(report.skipped),
        "rejected": dict(report.rejected),
        "examples": report.examples,
        "empty_roots": report.empty_roots,
        "limit_reached": report.limit_reached,
        "failure": str(report.failure) if report.failure is not None else None,
        "elapsed_s": round(report.elapsed_s, 3),
    }


# ---------------------------------------------------------------------------------- status


@app.command()
def status(
    batch: Annotated[str, typer.Argument(help="Batch name.", show_default=False)],
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until no job is queued or running.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between refreshes.")
    ] = 2.0,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0, help="Stop watching after this many seconds (exit 1)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON (one line per refresh when watching).")
    ] = False,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify",
            help="With --watch: POST the summary as JSON to this http(s) URL, once, when the "
            "batch has finished (default PRODUCER_NOTIFY_URL; a URL holding a token belongs "
            "there, as the command line shows in ps).",
        ),
    ] = None,
) -> None:
    """Counts by state, throughput, ETA and top errors of a batch."""
    with _reporting():
        settings = ProducerSettings()
        if notify is None and watch and settings.producer_notify_url is not None:
            notify = settings.producer_notify_url.get_secret_value()
        if notify is not None:
            if not watch:
                raise InputError("--notify needs --watch (it posts when the watched batch ends)")
            check_url(notify)
        store = store_for(settings)
        if not watch:
            _show_status(batch_status(store, batch), as_json)
            return
        current = _watch(store, batch, interval, timeout, as_json)
        if not current.complete:
            _fail(f"batch {batch} still has {current.pending} jobs pending after {timeout}s", 1)
        if notify is not None:
            code = post_summary(notify, current.to_dict(), settings.producer_notify_timeout_s)
            _stderr().print(f"notified {shown(notify)} (HTTP {code})")


def _show_status(current: BatchStatus, as_json: bool) -> None:
    if as_json:
        print(json.dumps(current.to_dict()), flush=True)
    else:
        _stdout().print(render.status_view(current))


def _watch(
    store: JobStore, batch: str, interval: float, timeout: float | None, as_json: bool
) -> BatchStatus:
    """Refresh until the batch is complete or the timeout passes; the last look."""
    window = RateWindow()
    deadline = None if timeout is None else time.monotonic() + timeout

    def look() -> BatchStatus:
        current = batch_status(store, batch)
        window.update(current)
        return current

    def over(current: BatchStatus) -> bool:
        return current.complete or (deadline is not None and time.monotonic() >= deadline)

    current = look()
    if as_json:
        _show_status(current, as_json=True)
        while not over(current):
            time.sleep(interval)
            current = look()
            _show_status(current, as_json=True)
        return current
    console = _stdout()
    if not console.is_terminal:
        # piped: no redrawing, just the final view
        while not over(current):
            time.sleep(interval)
            current = look()
        console.print(render.status_view(current))
        return current
    with Live(render.status_view(current), console=console, auto_refresh=False) as live:
        while not over(current):
            time.sleep(interval)
            current = look()
            live.update(render.status_view(current), refresh=True)
    return current


# ---------------------------------------------------------------------------------- results


class Format(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@app.command()
def results(
    batch: Annotated[str, typer.Argument(help="Batch name.", show_default=False)],
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="jsonl: one Result document per line; csv: one row per job, channel and "
            "model with summary columns.",
        ),
    ] = Format.JSONL,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export a batch's results (streamed: a page of results at a time)."""
    with _reporting():
        settings = ProducerSettings()
        store = store_for(settings)
        if store.batch_meta(batch) is None:
            raise InputError(f"no batch named {batch!r} (see `producer batches`)")
        write = write_jsonl if fmt is Format.JSONL else write_csv
        if out is None:
            n = write(iter_results(store, batch), sys.stdout)
            sys.stdout.flush()
        else:
            try:
                with out.open("w", newline="" if fmt is Format.CSV else None) as sink:
                    n = write(iter_results(store, batch), sink)
            except OSError as exc:
                raise ProducerError(f"cannot write {out}: {exc.strerror or exc}") from None
        where = f" to {out}" if out is not None else ""
        _stderr().print(f"wrote {n} results of batch {batch}{where}")


# ---------------------------------------------------------------------------------- retry


@app.command()
def retry(
    batch: Annotated[str, typer.Argument(help="Batch name.", show_default=False)],
    failed: Annotated[bool, typer.Option("--failed", help="Re-enqueue failed jobs.")] = False,
    dead: Annotated[bool, typer.Option("--dead", help="Re-enqueue dead jobs.")] = False,
    queued: Annotated[
        bool,
        typer.Option(
            "--queued",
            help="Also re-send jobs recorded as queued (after the broker lost messages); "
            "one whose message survived runs twice, its result is written once.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be re-enqueued.")
    ] = False,
) -> None:
    """Re-enqueue a batch's failed and/or dead jobs (both unless one is chosen)."""
    with _reporting():
        states = [s for s, on in ((State.FAILED, failed), (State.DEAD, dead)) if on]
        if not states and not queued:
            states = [State.FAILED, State.DEAD]
        if queued:
            states.append(State.QUEUED)
        settings = ProducerSettings()
        store = store_for(settings)
        publisher = None if dry_run else publisher_for(settings)
        try:
            report = retry_jobs(store, publisher, batch, states, settings.producer_chunk_size)
        finally:
            if publisher is not None:
                publisher.close()
        verb = "would re-enqueue" if dry_run else "re-enqueued"
        counts = report.counts
        detail = ", ".join(f"{counts[s]} {s.value}" for s in states)
        _stdout().print(f"batch {batch}: {verb} {sum(counts.values())} ({detail})")
        if report.unusable:
            job_id, why = next(iter(report.unusable.items()))
            _stdout().print(
                f"  left {len(report.unusable)} this version cannot run "
                f"(re-sending would fail them again), e.g. {job_id}: {why}"
            )


# ---------------------------------------------------------------------------------- batches


@app.command()
def batches(
    newest: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the newest N batches.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List batches, newest first, with their counts by state."""
    with _reporting():
        store = store_for(ProducerSettings())
        rows = list(list_batches(store, newest))
        if as_json:
            for row in rows:
                record = {
                    "batch_id": row.batch_id,
                    "created_at": row.created_at,
                    "total": row.total,
                    "counts": {s.value: n for s, n in row.counts.items()},
                    "models": row.models,
                }
                print(json.dumps(record))
        elif not rows:
            _stderr().print("no batches")
        else:
            _stdout().print(render.batches_table(rows))


# ---------------------------------------------------------------------------------- purge


@app.command()
def purge(
    batch: Annotated[str, typer.Argument(help="Batch name.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Really delete.")] = False,
) -> None:
    """Delete a batch's results, job states and sets (asks for --yes)."""
    with _reporting():
        store = store_for(ProducerSettings())
        current = batch_status(store, batch, with_errors=False)
        if current.pending:
            raise ProducerError(
                f"batch {batch} still has {current.pending} queued or running jobs; their "
                f"workers would record them again: wait (`producer status {batch} --watch`)"
            )
        if not yes:
            raise InputError(
                f"purge deletes the results and states of {current.total} jobs of batch "
                f"{batch}: add --yes to confirm"
            )
        deleted = store.purge(batch)
        _stdout().print(f"batch {batch}: purged {deleted} jobs")
