"""A head office that takes ``PUT <url>/<key>`` over HTTP(S).

A batch is sent with ``If-None-Match: *``: a server that already has that name answers 412, which counts as
delivered (the name is the content's hash). Heartbeats overwrite. An optional bearer token
(``[feedback] token_file``) goes in ``Authorization``; it is never logged or shown.

Each request has a deadline as a whole (:meth:`HttpTransport.deadline`), not only per network read: a server that
answers a byte at a time cannot hold the feedback thread. A 4xx answer that is about this upload itself (413 too
large, 400, 422 …) is :class:`~.base.TransportRefused` (set aside, the rest are sent); 401/403/404/405/407 (the
kiosk's setup), 408 and 429 (later) are ordinary, retried errors. What the server says is kept short and printable.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

from kiosk.feedback.transports.base import TransportError, TransportRefused, printable

__all__ = ["HttpTransport", "token_problem"]

MAX_REPLY = 64 * 1024
CONTENT_TYPES = {".tar": "application/x-tar", ".json": "application/json"}
#: 4xx answers that are not about the one upload: the kiosk's setup (token, URL) or "later"
NOT_PERMANENT = {401, 403, 404, 405, 407, 408, 412, 425, 429}
#: the slowest upload rate a request's deadline allows for its body, bytes per second
MIN_RATE = 32 * 1024


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot go in an ``Authorization`` header (None: it can): visible ASCII, no spaces."""
    if all(0x21 <= ord(c) <= 0x7E for c in token):
        return None
    return "token_file: the token has characters a header cannot carry (spaces, line breaks, non-ASCII)"


class _Deadline:
    """Shuts every socket a request opened once ``seconds`` have passed: a blocked read or write then ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired = seconds, False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            expired = self.expired
        if expired:
            self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for sock in socks:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: safe beside a TLS read
        except (OSError, ValueError):
            pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


def _watched(base: type[http.client.HTTPConnection], deadline: _Deadline) -> type[http.client.HTTPConnection]:
    class Watched(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    return Watched


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_watched(http.client.HTTPConnection, deadline), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_watched(http.client.HTTPSConnection, deadline), req, context=self._context)

    return urllib.request.build_opener(Http(), Https())


class HttpTransport:
    def __init__(self, url: str, *, timeout_s: float = 30.0, token: str = "") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:  # a password in a URL ends up in logs: refuse it
            raise TransportError("head_office: put credentials in token_file, not in the URL")
        problem = token_problem(token)
        if problem:
            raise TransportError(problem)
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = token

    def deadline(self, size: int) -> float:
        """Seconds one request of ``size`` body bytes may take in all (connect, send, answer)."""
        return 3 * self.timeout_s + size / MIN_RATE

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        url = f"{self.url}/{urllib.parse.quote(key)}"
        headers = {"Content-Type": CONTENT_TYPES.get(key[key.rfind("."):], "application/octet-stream"),
                   "Content-Length": str(len(data))}
        if not overwrite:
            headers["If-None-Match"] = "*"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
        deadline = _Deadline(self.deadline(len(data)))
        try:
            with deadline, _opener(deadline).open(request, timeout=self.timeout_s) as response:
                response.read(MAX_REPLY)  # the answer is not used: a server that sends without end fills nothing
                if deadline.expired:
                    raise TransportError(f"{url}: no whole answer within {deadline.seconds:.0f} s")
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 412 and not overwrite:
                return False
            reason = printable(exc.reason, 80)
            if 400 <= exc.code < 500 and exc.code not in NOT_PERMANENT:
                raise TransportRefused(f"{url}: refused: HTTP {exc.code} {reason}") from None
            raise TransportError(f"{url}: HTTP {exc.code} {reason}") from None
        except TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - socket, TLS, http.client, a bad header…: one line, retried later
            if deadline.expired:
                raise TransportError(f"{url}: unreachable (no whole answer within {deadline.seconds:.0f} s)") \
                    from None
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            raise TransportError(f"{url}: unreachable ({printable(reason, 120)})") from None
