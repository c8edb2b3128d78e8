"""How the CLI shows things: Rich tables and lines, never business logic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from producer.status import BatchRow, BatchStatus
from producer.submit import Planned, SubmitReport
from worker.jobs import State


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def submit_progress(console: Console) -> Progress:
    """The listing/enqueueing progress display (on the stderr console)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def planned_line(item: Planned) -> str:
    """One line of a dry run: action, job id, URI."""
    action = item.action
    if action not in ("enqueue", "requeue"):
        where = f" in batch {item.known_batch}" if item.known_batch else ""
        action = f"skip ({action}{where})"
    return f"{action}\t{item.job.job_id}\t{item.job.uri}"


def submit_summary(report: SubmitReport) -> RenderableType:
    verb = "would enqueue" if report.dry_run else "enqueued"
    rate = report.enqueued / report.elapsed_s if report.elapsed_s > 0 else 0.0
    head = Text.assemble(
        ("batch ", "bold"),
        (report.batch_id, "bold cyan"),
        f": {verb} {report.enqueued}, skipped {sum(report.skipped.values())}, "
        f"rejected {sum(report.rejected.values())} "
        f"({report.listed} objects listed in {report.elapsed_s:.1f}s, {rate:.0f} jobs/s)",
    )
    lines: list[RenderableType] = [head]
    for state, n in sorted(report.skipped.items()):
        lines.append(Text(f"  skipped {n}: already {state}"))
    if report.skipped and not report.dry_run:
        lines.append(
            Text("  (re-submit with --force to run them again; `producer retry` for failures)")
        )
    for reason, n in report.rejected.most_common():
        lines.append(Text(f"  rejected {n}: {reason}, e.g. {report.examples[reason]}"))
    if report.limit_reached:
        lines.append(Text("  stopped at --limit"))
    if report.failure is not None:
        lines.append(Text("  stopped early (error below): the same submit again sends the rest"))
    return Group(*lines)


def status_view(status: BatchStatus) -> RenderableType:
    table = Table(title=f"batch {status.batch_id}", title_justify="left", show_edge=False)
    table.add_column("state")
    table.add_column("jobs", justify="right")
    for state in State:
        table.add_row(state.value, str(status.counts[state]))
    table.add_row("total", str(status.total), style="bold")
    done_pct = 100.0 * status.finished / status.total if status.total else 0.0
    rate = f"{status.rate:.2f} jobs/s" if status.rate else "n/a"
    models = ", ".join(sorted(status.meta.get("models") or {}))
    parts: list[RenderableType] = [
        table,
        Text(f"created {when(status.created_at)}; models: {models or 'n/a'}"),
        Text(
            f"progress {done_pct:.1f}% ({status.finished}/{status.total}); "
            f"throughput {rate}; "
            + ("finished" if status.complete else f"ETA {duration(status.eta_s)}")
        ),
    ]
    if status.errors:
        errors = Table(title="top errors", title_justify="left", show_edge=False)
        errors.add_column("code")
        errors.add_column("jobs", justify="right")
        errors.add_column("example")
        for group in status.errors:
            errors.add_row(group.code, str(group.count), group.example)
        parts.append(errors)
    return Group(*parts)


def batches_table(rows: Iterable[BatchRow]) -> Table:
    table = Table(show_edge=False)
    for name in ("batch", "created", "total", *[s.value for s in State], "models"):
        table.add_column(name, justify="right" if name not in ("batch", "models") else "left")
    for row in rows:
        table.add_row(
            row.batch_id,
            when(row.created_at),
            str(row.total),
            *[str(row.counts[s]) for s in State],
            ",".join(row.models),
        )
    return table
