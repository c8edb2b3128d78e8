"""The multiprocess directory: chosen before prometheus-client loads, private unless
configured, cleared of stale files at start, and dead processes' live gauges forgotten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import metrics_dir
from worker.metrics_dir import _DEFAULT_MARK, ENV


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The variables unset for the test and restored after it."""
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv(_DEFAULT_MARK, raising=False)
    return monkeypatch


def run_python(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run `code` in a fresh interpreter; its stdout lines."""
    base = {k: v for k, v in os.environ.items() if k not in (ENV, _DEFAULT_MARK)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_unset_means_a_fresh_private_directory(clean_env: pytest.MonkeyPatch) -> None:
    path = metrics_dir.ensure()
    try:
        assert path.is_dir() and not any(path.iterdir())
        assert os.environ[ENV] == str(path) and metrics_dir.current() == path
        assert metrics_dir.ensure() == path  # the same on every call in this process
    finally:
        path.rmdir()


def test_a_configured_directory_is_used_and_created(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wanted = tmp_path / "deep" / "multiproc"
    clean_env.setenv(ENV, str(wanted))
    assert metrics_dir.ensure() == wanted and wanted.is_dir()


def test_the_worker_package_sets_the_mode_before_prometheus_client_loads() -> None:
    code = (
        "import worker.metrics, os, prometheus_client.values as v;"
        f"print(v.ValueClass._multiprocess, os.environ['{ENV}'])"
    )
    mode, path = run_python(code)
    assert mode == "True"
    assert not Path(path).exists()  # the private directory went with its process


def test_a_program_started_from_a_defaulted_one_makes_its_own(tmp_path: Path) -> None:
    code = (
        "import worker, os, subprocess, sys;"
        f"print(os.environ['{ENV}'], flush=True);"
        f"subprocess.run([sys.executable, '-c', 'import worker, os; print(os.environ[\"{ENV}\"])'])"
    )
    parent, child = run_python(code)
    assert parent != child


def test_a_forked_child_shares_the_directory_and_does_not_remove_it() -> None:
    code = (
        "import worker, os, sys;"
        f"path = os.environ['{ENV}'];"
        "pid = os.fork();\n"
        "if pid == 0: sys.exit(0)\n"
        "os.waitpid(pid, 0); print(path, os.path.isdir(path))"
    )
    path, exists_after_child_exit = run_python(code)
    assert exists_after_child_exit == "True"
    assert not Path(path).exists()


def test_clear_stale_keeps_only_this_process_files(tmp_path: Path) -> None:
    own = tmp_path / f"counter_{os.getpid()}.db"
    others = [tmp_path / "counter_1.db", tmp_path / "gauge_livesum_99999999.db"]
    for f in (own, *others):
        f.write_bytes(b"x")
    keep = tmp_path / "README"
    keep.write_text("not a sample file")
    assert sorted(metrics_dir.clear_stale(tmp_path)) == sorted(others)
    assert sorted(tmp_path.iterdir()) == sorted([own, keep])


def test_forget_dead_processes_drops_only_their_live_gauges(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = os.getpid()
    files = [
        f"gauge_livesum_{gone.pid}.db",
        f"gauge_liveall_{gone.pid}.db",
        f"counter_{gone.pid}.db",
        f"histogram_{gone.pid}.db",
        f"gauge_livesum_{alive}.db",
        f"gauge_mostrecent_{gone.pid}.db",
    ]
    for name in files:
        (tmp_path / name).write_bytes(b"x")
    assert metrics_dir.forget_dead_processes(tmp_path) == [gone.pid]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            f"counter_{gone.pid}.db",
            f"histogram_{gone.pid}.db",
            f"gauge_livesum_{alive}.db",
            f"gauge_mostrecent_{gone.pid}.db",
        ]
    )
