"""What happened on the emulator: the JSON-lines event log and the `/stats` counters.

Event log lines (one JSON object each, appended and flushed at once; `t` is Unix time):

* `{"t", "event": "open", "conn"}` — a WebSocket connection passed the handshake;
* `{"t", "event": "request", "conn", "kind", "reset", "models", "payload_id"}` plus
  `"audio_ms"` when audio was decoded, `"code"` when answered with an error, and
  `"fault"` (`drop`, `stall`, `stalled`, `error`) when a fault replaced the answer;
  `kind` is `data`, `reset`, `job_details` or `invalid`;
* `{"t", "event": "close", "conn", "close_code"}`;
* v1 realtime sessions (`emulator.realtime_server`): `open` carries `"api": "v1"` and the
  `session_id`; each client message is `{"event": "message", "conn", "kind"}` (`audio`,
  `session.update`, `session.close`, `invalid`, `limit`) plus `audio_ms`, `code`, `fault`
  when they apply; `{"event": "session", "conn", "session_id", "reason", "audio_ms",
  "frames", "utterances", "measurements"}` when the session ends.

Connection numbers continue from the highest one already in the file, so they stay unique
in a log shared by restarts of the emulator. API keys never appear.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from emulator.engine import Outcome

__all__ = ["EventLog", "Stats"]


class EventLog:
    """Appends events to a file (or nowhere when no path is set)."""

    def __init__(self, path: Path | None) -> None:
        #: The highest connection number already in the file (0 for a new log).
        self.last_conn = _last_conn(path) if path is not None and path.exists() else 0
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def write(self, event: str, conn: int, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"t": time.time(), "event": event, "conn": conn, **fields}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def request(self, conn: int, outcome: Outcome, fault: str | None = None, **extra: Any) -> None:
        fields: dict[str, Any] = {
            "kind": outcome.kind,
            "reset": outcome.reset,
            "models": list(outcome.models),
            "payload_id": outcome.payload_id,
        }
        if outcome.audio_ms is not None:
            fields["audio_ms"] = round(outcome.audio_ms, 3)
        if outcome.code is not None:
            fields["code"] = outcome.code
        if fault is not None:
            fields["fault"] = fault
        self.write("request", conn, **fields, **extra)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _last_conn(path: Path) -> int:
    last = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                conn = json.loads(line).get("conn", 0)
            except (ValueError, AttributeError):
                continue  # a torn last line after a kill
            if isinstance(conn, int):
                last = max(last, conn)
    return last


class Stats:
    """Counters served as JSON on `/stats`."""

    def __init__(self) -> None:
        self.connections: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.open = 0

    def record(self, outcome: Outcome, fault: str | None = None) -> None:
        self.requests[outcome.kind] += 1
        if fault is not None:
            self.faults[fault] += 1
        if outcome.code is not None:
            self.errors[outcome.code] += 1
        for part in outcome.response.values():
            if isinstance(part, dict) and "warning" in part:
                self.warnings[str(part.get("code"))] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "connections": {"open": self.open, **self.connections},
            "requests": dict(self.requests),
            "errors": dict(self.errors),
            "warnings": dict(self.warnings),
            "faults": dict(self.faults),
        }
