"""A real HTTP file server on a loopback port that honours Range requests (as object stores
and CDNs do), and answers 403 for anything under /forbidden/ — and, when it is given a
signature, for any request without `X-Amz-Signature=<signature>` (a presigned URL)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(SimpleHTTPRequestHandler):
    signature: str | None = None

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, body: bool) -> None:
        path, _, query = self.path.partition("?")
        signed = parse_qs(query).get("X-Amz-Signature") == [self.signature]
        if path.startswith("/forbidden/") or (self.signature is not None and not signed):
            self.send_error(403, "Forbidden")
            return
        file = Path(self.translate_path(path))
        if not file.is_file():
            self.send_error(404, "Not Found")
            return
        data = file.read_bytes()
        start, end = 0, len(data)
        match = _RANGE.match(self.headers.get("Range", ""))
        self.send_response(206 if match else 200)
        if match:
            start = int(match.group(1))
            end = min(len(data), int(match.group(2)) + 1 if match.group(2) else len(data))
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        if body:
            self.wfile.write(data[start:end])


@contextmanager
def serve_directory(directory: Path, signature: str | None = None) -> Iterator[str]:
    """Serve `directory` over HTTP on 127.0.0.1; yield the base URL. With `signature`, only
    requests carrying it as `X-Amz-Signature` are served."""

    class Handler(_Handler):
        pass

    Handler.signature = signature

    def handler(*args: Any) -> _Handler:
        return Handler(*args, directory=str(directory))

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
