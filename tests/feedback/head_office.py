"""A head office for tests: an HTTP server on 127.0.0.1 that stores what kiosks PUT into a directory.

It behaves like the real thing should: the body must be exactly Content-Length bytes (a connection cut short stores
nothing), each file is written atomically, and ``If-None-Match: *`` on an existing name answers 412. It counts the
requests it saw (``puts``, ``stored``, ``refused``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from kiosk.bundle_format.atomic import atomic_write


class HeadOfficeServer:
    def __init__(self, root: Path, *, token: str = "") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.puts = self.stored = self.refused = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_PUT(self):  # noqa: N802 - http.server's naming
                outer.handle_put(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/ho"

    def handle_put(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.puts += 1
        if self.token and h.headers.get("Authorization") != f"Bearer {self.token}":
            h.send_response(401)
            h.end_headers()
            return
        key = unquote(h.path).removeprefix("/ho/")
        if ".." in key.split("/") or key.startswith("/"):
            h.send_response(400)
            h.end_headers()
            return
        length = int(h.headers.get("Content-Length", "-1"))
        body = h.rfile.read(length) if length >= 0 else b""
        target = self.root / key
        if length < 0 or len(body) != length:
            h.send_response(400)  # cut short: nothing stored
            h.end_headers()
            return
        if h.headers.get("If-None-Match") == "*" and target.exists():
            with self.lock:
                self.refused += 1
            h.send_response(412)
            h.end_headers()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, body)
        with self.lock:
            self.stored += 1
        h.send_response(201)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def __enter__(self) -> HeadOfficeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
