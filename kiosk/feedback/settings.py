"""The ``[feedback]`` table of ``kiosk.toml``: where the kiosk's feedback goes, and how long it is kept here::

    [feedback]
    head_office = "https://ho.example/feedback"   # or file:/mnt/ho/feedback, a directory, s3://bucket/prefix
    outbox = "/var/lib/checkout/outbox"
    upload_interval_s = 300.0
    keep_days = 30.0
    keep_mb = 2048
    outbox_mb = 1024

Nothing leaves the kiosk while ``head_office`` is empty; retention runs either way.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict, dataclass, fields
from typing import Any

from kiosk.errors import UserError

__all__ = ["FeedbackConfigError", "FeedbackSettings", "SCHEMES", "display_url", "head_office_problem"]

#: head-office locations: a directory (plain path or file:), an HTTP(S) server taking PUT, an fsspec store
SCHEMES = ("file:", "http://", "https://", "s3://")


class FeedbackConfigError(UserError):
    """A ``[feedback]`` setting that is unknown, of the wrong type or out of range."""


def head_office_problem(url: str) -> str | None:
    """Why ``url`` is not a head-office location (None: it is, or it is empty)."""
    text = url.strip()
    if text.startswith(("http://", "https://")) and _has_credentials(text):  # they would end up in logs
        return f"head_office={display_url(url)!r}: put credentials in token_file, not in the URL"
    if not text or text.startswith(SCHEMES) or "://" not in text:
        return None
    return f"head_office={display_url(url)!r}: use a directory, file:/…, http(s)://… or s3://…"


def _has_credentials(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        return bool(parts.username or parts.password)
    except ValueError:
        return "@" in url.split("/", 3)[2] if url.count("/") >= 2 else False


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` in it (for the status line, logs and the heartbeat)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return url.strip()
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


@dataclass(frozen=True)
class FeedbackSettings:
    #: where batches and heartbeats go: a directory (file:/… or a path), http(s)://… (PUT) or s3://bucket/prefix
    head_office: str = ""
    #: the kiosk's outbox: batches waiting to be sent, and the outbox's state (state.json)
    outbox: str = "var/outbox"
    #: seconds between two rounds of retention, packing, uploading and the heartbeat
    upload_interval_s: float = 300.0
    #: feedback rows and photos older than this many days are deleted (unsent batches too)
    keep_days: float = 30.0
    #: the placement photos kept on the kiosk, MiB: beyond it the oldest photos are deleted
    keep_mb: int = 2048
    #: the outbox's bound, MiB: beyond it the oldest unsent batches are dropped (counted, shown, never silent)
    outbox_mb: int = 1024
    #: feedback records per batch
    batch_records: int = 200
    #: an open cart's placements are sent once unchanged for this many seconds (a closed sale's at once)
    settle_s: float = 3600.0
    #: network timeout of one upload, seconds
    timeout_s: float = 30.0
    #: file holding a bearer token for an http(s) head office ("" = none)
    token_file: str = ""

    def __post_init__(self) -> None:
        types = {"str": str, "float": float, "int": int}
        for f in fields(self):
            value, want = getattr(self, f.name), types[f.type]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif isinstance(value, bool) or not isinstance(value, want):
                raise FeedbackConfigError(f"[feedback]: {f.name}={value!r} (expected {want.__name__})")
        problem = head_office_problem(self.head_office)
        if problem:
            raise FeedbackConfigError(f"[feedback]: {problem}")
        ranges = {"upload_interval_s": self.upload_interval_s > 0, "keep_days": self.keep_days > 0,
                  "keep_mb": self.keep_mb >= 0, "outbox_mb": self.outbox_mb > 0,
                  "batch_records": 1 <= self.batch_records <= 5000, "settle_s": self.settle_s >= 0,
                  "timeout_s": self.timeout_s > 0, "outbox": bool(self.outbox.strip())}
        bad = [f"{k}={getattr(self, k)!r}" for k, ok in ranges.items() if not ok]
        if bad:
            raise FeedbackConfigError(f"[feedback]: out of range: {', '.join(bad)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedbackSettings:
        if not isinstance(data, dict):
            raise FeedbackConfigError(f"[feedback]: expected a table, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FeedbackConfigError(f"[feedback]: unknown key(s) {', '.join(unknown)} (known: "
                                      f"{', '.join(sorted(known))})")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def sends(self) -> bool:
        """True when a head office is configured (batches and heartbeats leave the kiosk)."""
        return bool(self.head_office.strip())
