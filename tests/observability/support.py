"""Helpers of the observability tests: HTTP GETs, parsed scrapes, captured logs, promtool."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from worker import logs

HOW_TO_GET_PROMTOOL = (
    "promtool is needed for this test: `apt-get install -y --no-install-recommends "
    "prometheus` (Debian's package ships promtool)."
)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


def get(port: int, path: str, timeout: float = 10.0) -> Response:
    """GET http://127.0.0.1:port/path; HTTP errors are returned, not raised."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), resp.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.read(), err.headers.get("Content-Type", ""))


class Scrape:
    """One /metrics response, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (KeyError naming it if absent)."""
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise KeyError(f"no sample {name}{labels} in the scrape:\n{self.text}")
        return self.samples[key]

    def total(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, lab), v in self.samples.items() if n == name and want <= lab)


def scrape(port: int) -> Scrape:
    resp = get(port, "/metrics")
    assert resp.status == 200, resp.body
    return Scrape(resp.body.decode())


@contextmanager
def configured_logs(fmt: str, secrets: Sequence[str] = ()) -> Iterator[io.StringIO]:
    """The pipeline in `fmt` writing into a buffer; logging is restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook)
    buffer = io.StringIO()
    logs.configure("INFO", fmt, secrets=secrets, stream=buffer)
    try:
        yield buffer
    finally:
        structlog.contextvars.clear_contextvars()
        root.handlers[:], level, sys.excepthook, threading.excepthook = saved
        root.setLevel(level)
        structlog.reset_defaults()


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    """The JSON lines written so far."""
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool (FAIL with how to install it when missing)."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(HOW_TO_GET_PROMTOOL, pytrace=False)
    return subprocess.run(
        [binary, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def exported_names() -> set[str]:
    """Every series name the fleet's metrics expose (counters with _total, histograms with
    _bucket/_sum/_count)."""
    from prometheus_client.metrics import MetricWrapperBase

    from worker import metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            (family,) = list(value.describe())
            names.update(family.name + suffix for suffix in suffixes[family.type])
    return names
