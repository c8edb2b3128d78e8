"""The emulator's keys: from the environment or a file; `--api-key` (visible in `ps`) still
works for throwaway keys but is warned about. That it binds 127.0.0.1 by default, refuses
to start without a key and answers 401 without one is tested in tests/emulator/test_server.py
(`test_keys_from_environment_and_never_printed`, `test_refuses_to_start_with_bad_settings`,
`test_bad_or_missing_key_gets_401`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from websockets.sync.client import connect

from tests.emulator.test_server import ask, refused_status

STREAM_PATH = "/v0/stream/models"


@contextmanager
def emulator(*args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m emulator ARGS` with no HUME_EMULATOR_* variable; yields its stream URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUME_EMULATOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("listening ws://127.0.0.1:"), proc.stderr and proc.stderr.read()
        yield line.split(" ", 1)[1] + STREAM_PATH, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_keys_from_a_file_are_accepted_and_others_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("file-key-one\nfile-key-two\n")
    with emulator("--api-key-file", str(keys)) as (url, proc):
        for key in ("file-key-one", "file-key-two"):
            with connect(url, additional_headers={"X-Hume-Api-Key": key}) as ws:
                assert ask(ws, {"reset_stream": True}) == {}
        assert refused_status(url, {"X-Hume-Api-Key": "file-key-three"}) == 401
        assert refused_status(url) == 401
    assert proc.stderr is not None
    assert "file-key" not in proc.stderr.read().decode()


def test_a_key_on_the_command_line_is_warned_about_and_never_printed() -> None:
    with emulator("--api-key", "cli-throwaway-key") as (url, proc):
        ws = connect(url, additional_headers={"X-Hume-Api-Key": "cli-throwaway-key"})
        with ws:
            assert ask(ws, {"reset_stream": True}) == {}
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert "--api-key shows the key to every user of this host (ps)" in err
    assert "cli-throwaway-key" not in err


def test_an_unreadable_or_empty_key_file_refuses_to_start(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUME_EMULATOR_")}
    for path, needle in (
        (empty, "at least one non-empty API key"),
        (tmp_path / "no", "api_keys_file"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "emulator", "--port", "0", "--api-key-file", str(path)],
            capture_output=True, text=True, timeout=30, env=env,
        )  # fmt: skip
        assert run.returncode == 2 and needle in run.stderr, run.stderr
        assert run.stdout == ""
