"""`make demo`: the whole fleet on this machine, start to finish.

Reuses the Redis at REDIS_URL (default redis://127.0.0.1:6379/0) when it answers, else starts
a private redis-server; starts the emulator and a Celery worker on a queue of its own (on
the backend HUME_API names: v0, two prefork processes on the streaming endpoint; v1, one
process whose threads share its event loop, a realtime session per call and channel);
submits the bundled `samples/calls/` with `producer submit`; watches with `producer status
--watch`; prints the top emotions of each call per channel; stops what it started. Exit
status 0 when every call was analysed.

The processes are managed with the helpers the end-to-end tests use (tests/support).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from producer.export import iter_results
from tests.support.emulator import EmulatorProcess
from tests.support.redis_server import answers, private_redis
from tests.support.worker import WorkerProcess
from worker.jobs import Result, State
from worker.media.redact import redact_uri
from worker.store import JobStore

ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLES: Final = ROOT / "samples" / "calls"
MODELS: Final = "prosody,burst"
API_KEY: Final = "demo-key"
WATCH_TIMEOUT_S: Final = 300
TOP: Final = 3
#: backend → (worker pool, concurrency, what the demo says about it)
WORKERS: Final = {
    "v0": ("prefork", 2, "2 prefork processes, one socket each"),
    "v1": ("threads", 8, "1 process, 8 job threads, realtime sessions on one event loop"),
}

console = Console()
if not console.is_terminal:
    console.width = 160


def main() -> int:
    batch = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    queue = f"demo-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="fleet-demo-") as workdir:
        redis_url, ours = stack.enter_context(_redis())
        console.print(
            f"[bold]redis[/]    {redact_uri(redis_url)} ({'started' if ours else 'reused'})"
        )
        backend = os.environ.get("HUME_API", "v0")
        if backend not in WORKERS:
            raise SystemExit(f"HUME_API must be one of {', '.join(WORKERS)}, got {backend!r}")
        emulator = stack.enter_context(EmulatorProcess(api_keys=(API_KEY,)))
        url = emulator.realtime_url if backend == "v1" else emulator.url
        console.print(f"[bold]emulator[/] {url} (HUME_API={backend})")
        env = {
            "HUME_API": backend,
            "HUME_API_KEY": API_KEY,
            "HUME_STREAM_URL": emulator.url,
            "HUME_REALTIME_URL": emulator.realtime_url,
            "REDIS_URL": redis_url,
            "FLEET_QUEUE": queue,
            "LOG_FORMAT": "console",
            "METRICS_PORT": "0",
        }
        # runs after the worker has stopped: the queue's bindings go too
        stack.callback(_delete_queue, redis_url, queue)
        pool, concurrency, shape = WORKERS[backend]
        log = Path(workdir) / "worker.log"
        worker = WorkerProcess(env, log, concurrency=concurrency, pool=pool)
        stack.callback(worker.stop)
        worker.start(timeout=90)
        console.print(f"[bold]worker[/]   {shape}, queue {queue} (pid {worker.pid})")

        # --force: a re-run against the same Redis analyses the samples again
        submitted = _producer(env, "submit", str(SAMPLES), "-m", MODELS, "-b", batch, "--force")
        if submitted != 0:
            return _failed("producer submit", submitted, worker)
        watched = _producer(env, "status", batch, "--watch", "--timeout", str(WATCH_TIMEOUT_S))
        if watched != 0:
            return _failed("producer status --watch", watched, worker)

        store = JobStore.from_url(redis_url, result_ttl_s=3600)
        results = sorted(iter_results(store, batch), key=lambda r: r.source.uri)
        console.print(summary_table(batch, results))
        if not ours:
            console.print(
                f"results kept: `producer results {batch} --format csv`, "
                f"`producer purge {batch} --yes` to delete them"
            )
        failed = [r for r in results if r.status is not State.DONE]
        for result in failed:
            error = result.error.message if result.error else "?"
            console.print(f"[red]{result.source.uri}: {result.status.value}: {error}[/]")
        return 1 if failed or not results else 0


@contextmanager
def _redis() -> Iterator[tuple[str, bool]]:
    """(URL, started here): REDIS_URL when it answers, else a private redis-server."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        yield url, False
        return
    if shutil.which("redis-server") is None:
        raise SystemExit(
            f"no Redis answers at {redact_uri(url)} and redis-server is not installed: "
            "install it (`apt-get install redis-server`) or set REDIS_URL"
        )
    with private_redis() as server:
        yield server.url, True


def _delete_queue(redis_url: str, queue: str) -> None:
    from worker.app import app

    with app.connection_for_write(redis_url) as connection:
        # kombu deletes the bindings its channel knows of: declare, then delete
        bound = app.amqp.queues[queue](connection.default_channel)
        bound.declare()
        bound.delete()


def _producer(env: dict[str, str], *args: str) -> int:
    """Run the real `producer` CLI (its output goes to this terminal)."""
    command = [sys.executable, "-m", "producer", *args]
    console.print(f"[bold]$ producer {' '.join(args)}[/]")
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        command, env={**os.environ, **env}, check=False, timeout=WATCH_TIMEOUT_S + 60
    ).returncode


def _failed(step: str, code: int, worker: WorkerProcess) -> int:
    console.print(f"[red]{step} exited with {code}; worker log tail:[/]")
    console.print(worker.logs()[-3000:], markup=False, highlight=False)
    return 1


def summary_table(batch: str, results: list[Result]) -> Table:
    """One row per call and channel: duration and the top emotions of each model."""
    # v0 results hold the models asked for; v1 results their one audio measurement.
    found = sorted({m for r in results for c in r.channels for m in c.summary})
    models = found or MODELS.split(",")
    table = Table(title=f"batch {batch}: top {TOP} emotions per call and channel")
    table.add_column("call")
    table.add_column("seconds", justify="right")
    table.add_column("channel")
    for model in models:
        table.add_column(model)
    for result in results:
        name = result.source.uri.rsplit("/", 1)[-1]
        if not result.channels:
            error = result.error.code if result.error else ""
            table.add_row(name, "", result.status.value, error, *[""] * (len(models) - 1))
            continue
        for i, channel in enumerate(result.channels):
            cells = []
            for model in models:
                summary = channel.summary.get(model)
                if summary is None:
                    cells.append("-")
                    continue
                means = {e.name: e.mean for e in summary.emotions}
                cells.append(", ".join(f"{n} {means[n]:.2f}" for n in summary.top[:TOP]))
            duration = f"{result.duration_s:.1f}" if result.duration_s is not None else ""
            table.add_row(name if i == 0 else "", duration if i == 0 else "", channel.label, *cells)
    return table


if __name__ == "__main__":
    sys.exit(main())
