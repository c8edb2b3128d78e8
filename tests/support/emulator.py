"""A real emulator process for tests: `python -m emulator` on a free port, its event log,
stop/kill/restart on the same port."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from emulator.realtime_server import REALTIME_PATH
from emulator.server import STREAM_PATH

__all__ = ["EmulatorProcess"]

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class EmulatorProcess:
    """`python -m emulator` as a subprocess; `url` is the full WebSocket endpoint.

    Every instance writes an event log (`event_log`, read with `events()`) unless the
    extra args name one. `restart()` starts it again on the same port.
    """

    def __init__(
        self,
        *extra_args: str,
        api_keys: tuple[str, ...] = ("test-key",),
        workdir: Path | None = None,
    ) -> None:
        if not api_keys:
            raise ValueError("the emulator needs at least one API key")
        self.api_key = api_keys[0]
        self.api_keys = api_keys
        self.extra_args = list(extra_args)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hume-emulator-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        if "--event-log" in self.extra_args:
            self.event_log = Path(self.extra_args[self.extra_args.index("--event-log") + 1])
        else:
            self.event_log = workdir / "events.jsonl"
            self.extra_args += ["--event-log", str(self.event_log)]
        self.stderr_path = workdir / "stderr.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """`ws://127.0.0.1:PORT` (no path)."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The streaming endpoint, `ws://127.0.0.1:PORT/v0/stream/models`."""
        return self.base_url + STREAM_PATH

    @property
    def realtime_url(self) -> str:
        """The v1 realtime audio endpoint, `ws://127.0.0.1:PORT/v1/expression/audio/realtime`."""
        return self.base_url + REALTIME_PATH

    @property
    def http_url(self) -> str:
        """`http://127.0.0.1:PORT` for `/healthz` and `/stats`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorProcess:
        """Start the process (on the previous port after a stop) and wait for its line."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("emulator already running")
        args = [sys.executable, "-m", "emulator", "--port", str(self.port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUME_EMULATOR_")}
        # keys in the environment, never on the command line (`ps` shows that to everyone)
        env["HUME_EMULATOR_API_KEYS"] = ",".join(self.api_keys)
        with self.stderr_path.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [*args, *self.extra_args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
            )
        self.port = self._read_port()
        return self

    def _read_port(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n") and time.monotonic() < deadline:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        text = line.decode(errors="replace").strip()
        if not text.startswith("listening ws://"):
            self.kill()
            raise RuntimeError(f"emulator did not start (got {text!r}); stderr:\n{self.stderr()}")
        return int(text.rsplit(":", 1)[1])

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """The event log so far, one dict per line."""
        if not self.event_log.exists():
            return []
        lines = self.event_log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def stop(self) -> int | None:
        """SIGTERM and wait (kill if it hangs); the exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL: connections die without a close frame."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)
        if proc.stdout is not None:
            proc.stdout.close()

    def restart(self) -> EmulatorProcess:
        """Stop and start again on the same port."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the process and remove its working directory (if this object made it)."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorProcess:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.proc is not None and self.proc.poll() is None else "stopped"
        return f"EmulatorProcess(url={self.url!r}, {state})"
