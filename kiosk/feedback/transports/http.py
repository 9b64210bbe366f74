"""A head office that takes ``PUT <url>/<key>`` over HTTP(S).

A batch is sent with ``If-None-Match: *``: a server that already has that name answers 412, which counts as
delivered (the name is the content's hash). Heartbeats overwrite. An optional bearer token
(``[feedback] token_file``) goes in ``Authorization``; it is never logged or shown.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request

from kiosk.feedback.transports.base import TransportError

__all__ = ["HttpTransport"]

MAX_REPLY = 64 * 1024
CONTENT_TYPES = {".tar": "application/x-tar", ".json": "application/json"}


class HttpTransport:
    def __init__(self, url: str, *, timeout_s: float = 30.0, token: str = "") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:  # a password in a URL ends up in logs: refuse it
            raise TransportError("head_office: put credentials in token_file, not in the URL")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = token

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        url = f"{self.url}/{urllib.parse.quote(key)}"
        headers = {"Content-Type": CONTENT_TYPES.get(key[key.rfind("."):], "application/octet-stream"),
                   "Content-Length": str(len(data))}
        if not overwrite:
            headers["If-None-Match"] = "*"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read(MAX_REPLY)  # the answer is not used: a server that sends without end fills nothing
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 412 and not overwrite:
                return False
            raise TransportError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"{url}: unreachable ({reason})") from None
