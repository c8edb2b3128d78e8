"""The directory prometheus-client shares between Celery's prefork processes.

prometheus-client picks its mode once, when it is first imported: with
PROMETHEUS_MULTIPROC_DIR set, every process writes its samples to files there and the
main process merges them at scrape time; without it, each process counts alone and the
children's counts are lost. The `worker` package therefore calls `ensure()` when it is
imported, before any of its modules can import prometheus-client, and the pool's
children, forked from the main process, inherit the choice.

This module must not import prometheus-client at import time.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# Marks a directory `ensure()` made up ("pid:path"), so a program started by that process
# (a test starting a worker) makes its own instead of sharing, and clearing, the parent's.
_DEFAULT_MARK: Final = "HUME_FLEET_DEFAULT_METRICS_DIR"


def ensure() -> Path:
    """The multiprocess directory, created if missing.

    Deployments set PROMETHEUS_MULTIPROC_DIR (the chart mounts an emptyDir there). When it
    is unset (a developer's `celery worker`, a test run, the producer), a fresh private
    temporary directory is used, removed when the process that made it exits.
    """
    configured = os.environ.get(ENV)
    if configured and not _inherited_default(configured):
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix="hume-fleet-metrics-"))
    os.environ[ENV] = str(path)
    os.environ[_DEFAULT_MARK] = f"{os.getpid()}:{path}"
    atexit.register(_remove_if_owner, path, os.getpid())
    return path


def current() -> Path:
    """The directory chosen by `ensure()` (in this process or the parent it forked from)."""
    return Path(os.environ[ENV])


def clear_stale(path: Path) -> list[Path]:
    """Delete the sample files of every process but this one; returns what was deleted.

    Run by the worker's main process at start, before it forks: files left by an earlier
    run in the same directory would otherwise be summed into this run's metrics (and a
    reused pid would even continue an old file). The main process's own files are kept:
    it opened them when `worker.metrics` was imported.
    """
    own = f"_{os.getpid()}.db"
    removed = []
    for file in path.glob("*.db"):
        if not file.name.endswith(own):
            file.unlink(missing_ok=True)
            removed.append(file)
    return removed


def forget_dead_processes(path: Path) -> list[int]:
    """`mark_process_dead` for every process with live-gauge files that no longer runs;
    returns their pids.

    A child that exits cleanly does this itself (the `worker_process_shutdown` signal);
    one killed outright (OOM killer, SIGKILL) cannot, and its `jobs_in_progress` would
    count forever. Counter and histogram files stay: their counts remain part of the totals.
    """
    # Imported here: this module runs before prometheus-client may be imported.
    from prometheus_client.multiprocess import mark_process_dead

    pids = {_pid_of(file) for file in path.glob("gauge_live*_*.db")}
    dead = sorted(pid for pid in pids if pid is not None and not _running(pid))
    for pid in dead:
        # Two scrapes at once (an HA pair of Prometheus servers) may both remove a file.
        with contextlib.suppress(FileNotFoundError):
            mark_process_dead(pid, str(path))
    return dead


def _pid_of(file: Path) -> int | None:
    suffix = file.stem.rsplit("_", 1)[1]
    return int(suffix) if suffix.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process has the pid: it exists
    return True


def _inherited_default(configured: str) -> bool:
    owner, _, path = os.environ.get(_DEFAULT_MARK, "").partition(":")
    return path == configured and owner != str(os.getpid())


def _remove_if_owner(path: Path, owner: int) -> None:
    # Forked children run atexit handlers too when they exit normally; only the process
    # that made the directory removes it.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)
