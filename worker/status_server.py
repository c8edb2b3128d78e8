"""The worker's HTTP endpoint on METRICS_PORT, served by the worker's main process.

    /metrics   every process's samples merged (prometheus-client multiprocess collector)
    /healthz   200 while the process is alive
    /readyz    200 when the broker and Redis answer, else 503 with a JSON reason

A thread-per-request WSGI server in a daemon thread: scrapes and probes are rare and
small, and a slow probe must not hold up a scrape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector

from worker import health, metrics_dir

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_app(
    metrics_path: Path, checks: Mapping[str, health.Check], secrets: tuple[str, ...] = ()
) -> WSGIApp:
    """The WSGI application behind the three paths."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_path))
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _json(start_response, "405 Method Not Allowed", {"error": "use GET"})
        if path == "/metrics":
            # Children killed without a clean exit (OOM, hard time limit) never said so:
            # forget their live gauges before every read.
            metrics_dir.forget_dead_processes(metrics_path)
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/readyz":
            readiness = health.check_all(checks, secrets)
            if readiness.ready:
                return _json(start_response, "200 OK", {"ready": True, "checks": readiness.checks})
            body = {"ready": False, "reason": readiness.reason, "checks": readiness.checks}
            return _json(start_response, "503 Service Unavailable", body)
        paths = ["/metrics", "/healthz", "/readyz"]
        return _json(start_response, "404 Not Found", {"error": "not found", "paths": paths})

    return app


class StatusServer:
    """`make_app` served on host:port from a daemon thread (port 0: any free port)."""

    def __init__(self, app: WSGIApp, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - probes and scrapes come from outside the pod
        self._server = make_server(
            host, port, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fleet-status-server", daemon=True
        )

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_port)

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def close_inherited(self) -> None:
        """In a forked child: close the copy of the listening socket. The serving thread
        did not survive the fork; a child holding the port would keep it bound after the
        main process died."""
        self._server.socket.close()


class _QuietHandler(WSGIRequestHandler):
    """No access log: probes every few seconds would drown the job lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _json(start_response: StartResponse, status: str, body: Mapping[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
