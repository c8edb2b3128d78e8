"""`producer status` (one look, --json, --watch, --notify) and `producer batches`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.producer.conftest import FinishedBatch, ProducerEnv, Run, done_result


def test_status_shows_counts_progress_and_top_errors(
    run: Run, finished_batch: FinishedBatch
) -> None:
    result = run("status", "calls")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    rows = {line.split()[0]: line.split()[-1] for line in out.splitlines() if line.split()}
    counts = {s: rows[s] for s in ("queued", "running", "done", "failed", "dead", "total")}
    assert counts == {
        "queued": "2",
        "running": "0",
        "done": "3",
        "failed": "2",
        "dead": "1",
        "total": "8",
    }
    assert "progress 75.0% (6/8)" in out
    assert "throughput" in out and "jobs/s" in out and "ETA" in out
    assert "models: burst, prosody" in out
    # E0202 twice (one failed, one dead), first; the media error once
    lines = [line for line in out.splitlines() if "E0202" in line or "media_unreadable" in line]
    assert "E0202" in lines[0] and " 2 " in lines[0]
    assert "media_unreadable" in lines[1] and "not a WAV file" in lines[1]


def test_status_json(run: Run, finished_batch: FinishedBatch) -> None:
    result = run("status", "calls", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["counts"] == {"queued": 2, "running": 0, "done": 3, "failed": 2, "dead": 1}
    assert (status["total"], status["finished"], status["complete"]) == (8, 6, False)
    assert status["rate_per_s"] > 0 and status["eta_s"] > 0
    assert status["errors"][0] == {
        "code": "E0202",
        "count": 2,
        "example": status["errors"][0]["example"],
    }
    assert status["errors"][0]["example"].startswith("No audio signal")
    assert status["models"] == {"prosody": {}, "burst": {}}


def test_status_of_an_unknown_batch_exits_2(run: Run, producer_env: ProducerEnv) -> None:
    result = run("status", "nope")
    assert result.exit_code == 2
    assert "no batch named 'nope'" in result.stderr


def test_watch_gives_up_at_its_timeout(run: Run, finished_batch: FinishedBatch) -> None:
    result = run("status", "calls", "--watch", "--json", "--interval", "0.1", "--timeout", "0.3")
    assert result.exit_code == 1
    assert "still has 2 jobs pending" in result.stderr
    assert len(result.stdout.splitlines()) >= 2  # one JSON line per look


class Receiver:
    """A real HTTP server on a loopback port recording the POSTs it gets."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_watch_until_finished_then_notify_once(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch, receiver: Receiver
) -> None:
    def finish_the_rest() -> None:
        time.sleep(0.5)
        for job in finished_batch.queued:
            producer_env.store.finish(done_result(job))

    worker = threading.Thread(target=finish_the_rest)
    worker.start()
    result = run(
        "status", "calls", "--watch", "--interval", "0.1", "--timeout", "30",
        "--notify", receiver.url,
    )  # fmt: skip
    worker.join()
    assert result.exit_code == 0, result.stderr
    assert "progress 100.0% (8/8)" in result.stdout and "finished" in result.stdout
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["batch_id"] == "calls" and body["complete"] is True
    assert body["counts"] == {"queued": 0, "running": 0, "done": 5, "failed": 2, "dead": 1}
    assert "notified http://127.0.0.1" in result.stderr
    assert "token=abc" not in result.stderr  # query values may be secrets


def test_notify_needs_watch_and_an_http_url(run: Run, finished_batch: FinishedBatch) -> None:
    no_watch = run("status", "calls", "--notify", "http://127.0.0.1:9/x")
    assert no_watch.exit_code == 2 and "--notify needs --watch" in no_watch.stderr
    bad_url = run("status", "calls", "--watch", "--notify", "ftp://host/x")
    assert bad_url.exit_code == 2 and "needs an http:// or https:// URL" in bad_url.stderr


def test_a_failing_notify_exits_1(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch
) -> None:
    for job in finished_batch.queued:
        producer_env.store.finish(done_result(job))
    failing = Receiver(status=500)
    try:
        result = run("status", "calls", "--watch", "--notify", failing.url)
    finally:
        failing.close()
    assert result.exit_code == 1
    assert "answered HTTP 500" in result.stderr


def test_batches_lists_newest_first_with_counts(
    run: Run, producer_env: ProducerEnv, finished_batch: FinishedBatch, tmp_path: Any
) -> None:
    (tmp_path / "later.wav").write_bytes(b"RIFF")
    assert run("submit", tmp_path / "later.wav", "-m", "burst", "-b", "later").exit_code == 0
    table = run("batches")
    assert table.exit_code == 0, table.stderr
    rows = [
        line.split()
        for line in table.stdout.splitlines()
        if line.split()[:1] in (["later"], ["calls"])
    ]
    assert [r[0] for r in rows] == ["later", "calls"]
    assert "8" in rows[1] and "burst,prosody" in rows[1]

    as_json = [json.loads(line) for line in run("batches", "--json").stdout.splitlines()]
    assert [b["batch_id"] for b in as_json] == ["later", "calls"]
    assert as_json[1]["counts"] == {"queued": 2, "running": 0, "done": 3, "failed": 2, "dead": 1}
    newest = [
        json.loads(line) for line in run("batches", "--json", "--limit", "1").stdout.splitlines()
    ]
    assert [b["batch_id"] for b in newest] == ["later"]


def test_batches_when_there_are_none(run: Run, producer_env: ProducerEnv) -> None:
    result = run("batches")
    assert result.exit_code == 0 and "no batches" in result.stderr
