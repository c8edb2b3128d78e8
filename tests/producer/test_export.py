"""`producer results`: JSON lines and CSV, streamed from the store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from producer.export import CSV_COLUMNS, iter_results
from tests.producer.conftest import FinishedBatch, ProducerEnv, Run
from worker.jobs import Result


def test_jsonl_is_one_result_document_per_line(run: Run, finished_batch: FinishedBatch) -> None:
    result = run("results", "calls", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    docs = [Result.model_validate_json(line) for line in result.stdout.splitlines()]
    assert len(docs) == 6  # the two queued jobs have no result yet
    by_status = {d.status.value: 0 for d in docs}
    for d in docs:
        by_status[d.status.value] += 1
    assert by_status == {"done": 3, "failed": 2, "dead": 1}
    done = next(d for d in docs if d.status.value == "done")
    assert [c.label for c in done.channels] == ["agent", "customer"]
    assert "wrote 6 results of batch calls" in result.stderr


def test_csv_has_a_row_per_job_channel_and_model(
    run: Run, finished_batch: FinishedBatch, tmp_path: Path
) -> None:
    out = tmp_path / "calls.csv"
    result = run("results", "calls", "--format", "csv", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == CSV_COLUMNS
    done = [r for r in rows if r["status"] == "done"]
    assert len(done) == 3 * 2 * 2  # jobs x channels x models
    agent = next(r for r in done if r["label"] == "agent" and r["model"] == "prosody")
    # scores fall with the segment index: mean of 0.9/1 and 0.9/2 for Joy on channel 0
    assert agent["top_emotions"] == "Joy;Calmness;Interest;Anger;Sadness"
    assert (agent["top1"], agent["top1_mean"]) == ("Joy", "0.675")
    assert (agent["segments"], agent["duration_s"]) == ("2", "9.5")
    failed = [r for r in rows if r["status"] in ("failed", "dead")]
    assert len(failed) == 3
    assert {r["error_code"] for r in failed} == {"E0202", "media_unreadable"}
    assert all(r["channel"] == "" and r["model"] == "" for r in failed)


def test_results_page_through_the_batch(
    producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    # pages of 2: several SSCAN pages and pipelined reads, each result once
    seen = [r.job_id for r in iter_results(producer_env.store, "calls", page=2)]
    assert len(seen) == len(set(seen)) == 6


def test_results_of_an_unknown_batch_and_an_unwritable_file(
    run: Run, finished_batch: FinishedBatch, tmp_path: Path
) -> None:
    unknown = run("results", "nope")
    assert unknown.exit_code == 2 and "no batch named 'nope'" in unknown.stderr
    bad_format = run("results", "calls", "--format", "xml")
    assert bad_format.exit_code == 2 and "xml" in bad_format.stderr
    unwritable = run("results", "calls", "--out", tmp_path / "no-dir" / "x.jsonl")
    assert unwritable.exit_code == 1 and "cannot write" in unwritable.stderr


def test_jsonl_lines_are_complete_json(run: Run, finished_batch: FinishedBatch) -> None:
    lines = run("results", "calls").stdout.splitlines()
    assert all(json.loads(line)["batch_id"] == "calls" for line in lines)
