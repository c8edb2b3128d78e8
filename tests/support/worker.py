"""Real Celery worker processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import psutil


class WorkerProcess:
    """`celery -A worker.app worker` as a subprocess, its stderr captured to a file."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        concurrency: int = 2,
        pool: str = "prefork",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.env = {**os.environ, **env}
        self.queue = self.env.get("FLEET_QUEUE", "hume")
        self.log_path = log_path
        self.concurrency = concurrency
        self.pool = pool
        self.extra_args = extra_args
        self.name = f"w{uuid.uuid4().hex[:8]}@%h"
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        cmd = [
            sys.executable, "-m", "celery", "-A", "worker.app", "worker",
            "-Q", self.queue, "--concurrency", str(self.concurrency), "--pool", self.pool,
            "-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO", *self.extra_args,
        ]  # fmt: skip
        # Ready means "ready." written by this start, not one found in the file already.
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.logs()}")
            if b"ready." in self.log_path.read_bytes()[offset:]:
                return self
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def children(self) -> list[psutil.Process]:
        """The pool's child processes (prefork)."""
        return psutil.Process(self.pid).children()

    def stop(self, timeout: float = 60.0) -> int:
        """Warm shutdown (SIGTERM: finish running jobs, then exit); kill if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        if self.proc is None:
            return
        for child in self.children():
            child.kill()
        self.proc.kill()
        self.proc.wait(10)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
