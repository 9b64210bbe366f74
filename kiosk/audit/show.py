"""``checkout audit show --since …``: a kiosk's audit rows, as a table for people or JSON lines for tools."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from kiosk.domain.store_time import now_in
from kiosk.errors import UserError
from kiosk.exchange.display import display_lines
from kiosk.store.audit import row_dict

__all__ = ["format_rows", "parse_since", "read_rows"]

_UNITS = {"m": 60, "h": 3600, "d": 86400}


_FIRST = datetime.min.replace(tzinfo=timezone.utc)
_LAST = datetime.max.replace(tzinfo=timezone.utc)


def parse_since(text: str | None, now: datetime | None = None, tz: tzinfo | None = None) -> str | None:
    """``--since``: an ISO date or time (naive = the store's time: in ``tz``, the store's zone; None: local time), or
    an age like ``30m``, ``12h``, ``7d``; as ISO. An age or a time further back than a datetime goes is the first
    moment there is (the whole log), one further on the last (no row); text that is neither a time nor an age is a
    one-line :class:`UserError`."""
    if not text:
        return None
    now = now or now_in(tz)
    t = text.strip()
    if len(t) >= 2 and t[-1] in _UNITS and t[:-1].isascii() and t[:-1].isdigit():
        try:
            return (now - timedelta(seconds=int(t[:-1]) * _UNITS[t[-1]])).isoformat()
        except (OverflowError, ValueError):  # further back than year 1 (or more digits than an int is read from)
            return _FIRST.isoformat()
    try:
        when = datetime.fromisoformat(t)
    except ValueError:
        raise UserError(f"--since {text!r}: not a date (YYYY-MM-DD), an ISO time or an age (30m, 12h, 7d)") from None
    try:
        if when.tzinfo is None:  # the store's time (without a store zone: the local time)
            when = when.replace(tzinfo=tz) if tz is not None else when.astimezone()
        return when.astimezone(timezone.utc).isoformat()
    except (OverflowError, ValueError):  # within a day of year 1 or year 9999: past the ends of time in UTC
        return (_FIRST if when.year < 5000 else _LAST).isoformat()


def read_rows(path: str | Path, *, since: str | None = None, kind: str | None = None,
              actor: str | None = None) -> list[dict]:
    """The rows of ``path`` (read-only) at or after ``since``, optionally of a kind (prefix) and an actor."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no sales database there")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        rows = [row_dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: no audit log there ({exc})") from None
    finally:
        conn.close()
    if since:
        cutoff = datetime.fromisoformat(since)
        rows = [r for r in rows if _at(r["at"]) >= cutoff]
    if kind:
        rows = [r for r in rows if r["kind"] == kind or r["kind"].startswith(kind.rstrip(".") + ".")]
    if actor:
        rows = [r for r in rows if r["actor"] == actor]
    return rows


def _at(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
        return t if t.tzinfo else t.astimezone()
    except (TypeError, ValueError, OverflowError):
        return _FIRST


def _summary(detail) -> str:
    if not isinstance(detail, dict):
        return str(detail)[:80]
    keys = ("receipt_no", "name", "sku", "qty", "net_grams", "total", "amount", "action", "reason", "role",
            "old_price", "new_price", "approved_by", "from_version", "to_version", "staff_no")
    parts = [f"{k}={detail[k]}" for k in keys if detail.get(k) not in (None, "")]
    return " ".join(parts)[:100]


def format_rows(rows: list[dict], *, as_json: bool = False) -> str:
    """The rows as printed: a table, or one JSON object a line; every line through
    :func:`~kiosk.exchange.display.display` (a hand-edited row's escapes are shown, not obeyed by the terminal)."""
    if as_json:
        return "".join(display_lines([json.dumps(r, sort_keys=True, ensure_ascii=False)]) + "\n" for r in rows)
    out = [f"{'seq':>6}  {'at':<25}  {'kind':<24}  {'actor':<10}  detail"]
    out += [f"{r['seq']:>6}  {r['at'][:25]:<25}  {r['kind'][:24]:<24}  {r['actor'][:10]:<10}  {_summary(r['detail'])}"
            for r in rows]
    out.append(f"{len(rows)} row(s)")
    return display_lines(out) + "\n"
