"""`hume-emulator` / `python -m emulator`: run the local Hume v0 streaming API emulator.

Prints exactly one line, `listening ws://HOST:PORT`, once the socket is bound (tests and
scripts read it), then serves until SIGTERM or SIGINT. Every flag has an environment
variable `HUME_EMULATOR_<FLAG>` (e.g. `HUME_EMULATOR_API_KEYS=k1,k2`); flags win.

Accepted keys come from HUME_EMULATOR_API_KEYS or a file (`--api-key-file`). `--api-key`
stays for throwaway keys on a developer's machine; it puts the key in the process list,
so it draws a warning on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emulator.server import STREAM_PATH, Emulator
from emulator.settings import EmulatorSettings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, build the settings, serve until a signal; the exit status."""
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if v is not None}
    if args.api_keys:
        print(
            "hume-emulator: warning: --api-key shows the key to every user of this host (ps); "
            "use HUME_EMULATOR_API_KEYS or --api-key-file for a key that matters",
            file=sys.stderr,
        )
    try:
        settings = EmulatorSettings(**overrides)
    except ValidationError as exc:
        # Only field names and messages: the input values may hold API keys.
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"hume-emulator: {field}: {err['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: EmulatorSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def announce(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(f"listening ws://{shown}:{port}", flush=True)

    await Emulator(settings).run(stop, announce)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hume-emulator",
        description="Local emulator of Hume's Expression Measurement streaming API (v0), "
        f"serving ws://HOST:PORT{STREAM_PATH}.",
    )
    p.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accepted API key (repeatable); visible in ps: prefer env "
        "HUME_EMULATOR_API_KEYS=k1,k2 or --api-key-file",
    )
    p.add_argument(
        "--api-key-file",
        dest="api_keys_file",
        type=Path,
        metavar="FILE",
        help="file of accepted API keys, one per line (env HUME_EMULATOR_API_KEYS_FILE)",
    )
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind; 0 picks a free one (default 0)")
    p.add_argument("--seed", type=int, help="seed of all injected randomness (default 0)")
    p.add_argument(
        "--latency-ms",
        type=float,
        help="service time of each data reply (v1: of each audio frame's), counted from arrival",
    )
    p.add_argument("--latency-ms-per-audio-s", type=float, help="extra delay per second of audio")
    p.add_argument(
        "--drop-rate", type=float, help="probability a data request drops the connection"
    )
    p.add_argument("--error-rate", type=float, help="probability a data request gets I0100")
    p.add_argument("--stall-rate", type=float, help="probability a data request is never answered")
    p.add_argument(
        "--max-connections-per-key",
        type=int,
        help="open connections per key before HTTP 429 (default 0 = unlimited)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        help="close a connection after this many idle seconds (default 60; 0 = never)",
    )
    p.add_argument(
        "--realtime-burst-ms",
        type=float,
        help="v1: ms a session's audio may run ahead of real time before rate_limited "
        "(default 500)",
    )
    p.add_argument(
        "--realtime-max-session-s",
        type=float,
        help="v1: longest session in seconds (default 0 = no limit)",
    )
    p.add_argument("--event-log", type=Path, help="append JSON-lines events to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
