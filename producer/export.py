"""`producer results`: a batch's result documents, streamed out as JSON lines or CSV.

Job ids are read a page at a time (SSCAN) and their results fetched a page per round trip
(pipelined GETs), so memory stays flat however big the batch.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Final, TextIO

from worker.jobs import ChannelResult, Result, State
from worker.store import JobStore
from worker.summary import TOP_N

#: States whose jobs have a result document.
RESULT_STATES: Final = (State.DONE, State.FAILED, State.DEAD)

CSV_COLUMNS: Final = [
    "job_id",
    "batch_id",
    "uri",
    "status",
    "duration_s",
    "attempts",
    "error_code",
    "error",
    "channel",
    "label",
    "model",
    "segments",
    "top_emotions",
    *[f"top{i}{part}" for i in range(1, TOP_N + 1) for part in ("", "_mean")],
]


def iter_results(store: JobStore, batch_id: str, page: int = 500) -> Iterator[Result]:
    """Every result of the batch, once each, a page of store reads at a time."""
    seen: set[str] = set()  # SSCAN may return an id twice while the set is resized
    for state in RESULT_STATES:
        for job_ids in store.scan_job_ids(batch_id, state, page):
            fresh = [j for j in job_ids if j not in seen]
            seen.update(fresh)
            for result in store.results(fresh):
                if result is not None and result.batch_id == batch_id:
                    yield result


def write_jsonl(results: Iterator[Result], out: TextIO) -> int:
    """One Result document per line; the number written."""
    n = 0
    for result in results:
        out.write(result.model_dump_json())
        out.write("\n")
        n += 1
    return n


def write_csv(results: Iterator[Result], out: TextIO) -> int:
    """One row per (job, channel, model) (one row for a job without channels, with its
    error); the number of jobs written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for result in results:
        writer.writerows(csv_rows(result))
        n += 1
    return n


def csv_rows(result: Result) -> Iterator[list[object]]:
    """The CSV rows of one result."""
    job: list[object] = [
        result.job_id,
        result.batch_id,
        result.source.uri,
        result.status.value,
        _number(result.duration_s),
        result.attempts,
        result.error.code if result.error else "",
        result.error.message if result.error else "",
    ]
    if not result.channels:
        yield job + [""] * (len(CSV_COLUMNS) - len(job))
        return
    for channel in result.channels:
        yield from _channel_rows(job, channel)


def _channel_rows(job: list[object], channel: ChannelResult) -> Iterator[list[object]]:
    where: list[object] = [channel.index, channel.label]
    if not channel.summary:
        yield job + where + [""] * (len(CSV_COLUMNS) - len(job) - len(where))
        return
    for model, summary in sorted(channel.summary.items()):
        means = {e.name: e.mean for e in summary.emotions}
        tops: list[object] = []
        for i in range(TOP_N):
            name = summary.top[i] if i < len(summary.top) else ""
            tops += [name, _number(means.get(name)) if name else ""]
        yield job + where + [model, summary.segments, ";".join(summary.top), *tops]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")
