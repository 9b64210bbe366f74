"""The kiosk's heartbeat: one small JSON document, overwritten at ``heartbeats/<store>/<kiosk>.json``::

    {"format": 1, "kind": "heartbeat", "kiosk_id": "K7", "store_id": "BLR-0042", "at": "2026-12-01T10:20:00Z",
     "software": "0.1.0", "model": {"version": 3, "description": "v3 · mobilenet_v2 …"},
     "update": {"state": "idle", "active_version": 3, "available_version": null, "last_check": "…", "last_error": null},
     "counts": {"window_days": 7, "placements": 812, "labelled": 790, "corrected": 41, "staff": 9, "shopper": 310,
                "auto": 455, "barcode": 16, "unlabelled": 22, "corrections": 9},
     "recognitions_since_start": 120,
     "disk": {"free_mb": 20480, "captures_mb": 412},
     "outbox": {"queued": 0, "bytes": 0, "oldest": null, "dropped": 0, "sent": 57, "last_success": "…",
                "last_error": null},
     "sales": {"day": "2026-12-01", "count": 37, "total_paise": 1234600},
     "audit": {"kind": "audit-witness", "seq": 412, "hash": "…", "at": "…", "key_id": "…", "mac": "…"},
     "last_error": null}

``counts`` cover the last ``window_days`` of placements: ``corrected`` is how many labelled placements ended with
another SKU than the model's top-1 (the correction rate is ``corrected / labelled``), ``corrections`` the staff
corrections among them; ``sales`` (optional: kiosks before it send none) the kiosk's sales so far on its local
``day``, how many and their total in paise; ``audit`` (optional) the witness of the kiosk's audit log, its last row
MACed with the kiosk's audit key (:func:`kiosk.exchange.audit.seal_witness`), which ``audit collect`` holds against
the rows received. :func:`read_heartbeat` checks what head office relies on: ids as head
office files them (:data:`~kiosk.exchange.layout.ID_RE`; the store id may be empty), ``at`` an ISO-8601 time with
its offset, every count a whole number ≥ 0 or null (``corrected`` at most ``labelled``; ``sales.day`` a date),
versions whole numbers or null, the update state and the errors text or null — so that nothing in a heartbeat can
stop the table or the dashboard that show it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from kiosk.errors import DataError
from kiosk.exchange.audit import witness_problem
from kiosk.exchange.document import load_document
from kiosk.exchange.layout import ID_RE

__all__ = ["FORMAT", "KIND", "MAX_BYTES", "correction_rate", "heartbeat_time", "read_heartbeat"]

FORMAT = 1
KIND = "heartbeat"
#: a heartbeat is about a kilobyte; anything past this is not one
MAX_BYTES = 1 << 20
REQUIRED = {"kiosk_id": str, "store_id": str, "at": str, "model": dict, "update": dict, "counts": dict,
            "outbox": dict, "disk": dict}
#: (section, field): a whole number ≥ 0, or null
COUNTS = [("counts", k) for k in ("window_days", "placements", "labelled", "corrected", "corrections", "staff",
                                  "shopper", "auto", "barcode", "unlabelled")] + \
         [("outbox", k) for k in ("queued", "bytes", "dropped", "sent")] + \
         [("sales", k) for k in ("count", "total_paise")]
#: (section, field): a whole number, or null
VERSIONS = [("model", "version"), ("update", "active_version"), ("update", "available_version")]
#: (section, field; "" = the document itself): text, or null
TEXTS = [("", "software"), ("", "last_error"), ("update", "state"), ("update", "last_error"), ("outbox", "last_error"),
         ("sales", "day")]


def read_heartbeat(data: bytes, where: str) -> dict[str, Any]:
    """The heartbeat in ``data``; :class:`~kiosk.errors.DataError` naming ``where`` when it is not one."""
    if len(data) > MAX_BYTES:
        raise DataError(f"{where}: {len(data)} bytes, not a heartbeat (at most {MAX_BYTES})")
    doc = load_document(data, where, "the heartbeat")
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("format") != FORMAT:
        raise DataError(f"{where}: not a format-{FORMAT} heartbeat")
    wrong = [k for k, t in REQUIRED.items() if not isinstance(doc.get(k), t)]
    if wrong:
        raise DataError(f"{where}: heartbeat field(s) {', '.join(wrong)} missing or of the wrong type")
    problem = _ids_problem(doc) or _time_problem(doc["at"]) or _fields_problem(doc)
    if problem:
        raise DataError(f"{where}: {problem}")
    return doc


def heartbeat_time(doc: dict[str, Any]) -> datetime:
    """When the (read) heartbeat was sent, in UTC."""
    return datetime.fromisoformat(doc["at"].replace("Z", "+00:00")).astimezone(timezone.utc)


def correction_rate(counts: dict[str, Any]) -> float | None:
    """Share of labelled placements whose label differs from the model's top-1 (None: nothing labelled)."""
    labelled, corrected = counts.get("labelled") or 0, counts.get("corrected") or 0
    return corrected / labelled if isinstance(labelled, int) and labelled > 0 else None


def _ids_problem(doc: dict[str, Any]) -> str:
    for key in ("store_id", "kiosk_id"):
        value = doc[key]
        if (value or key == "kiosk_id") and not ID_RE.fullmatch(value):
            return f"{key} {value[:40]!r} is not an id (letters, digits, '.', '_' and '-', at most 64; not '-' alone)"
    return ""


def _time_problem(at: str) -> str:
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if when.utcoffset() is None:
            return f"at {at[:40]!r} has no time zone (an ISO-8601 time such as 2026-12-01T10:20:00Z)"
        when.astimezone(timezone.utc)
    except ValueError:
        return f"at {at[:40]!r} is not an ISO-8601 time such as 2026-12-01T10:20:00Z"
    except OverflowError:
        return f"at {at[:40]!r} is out of range"
    return ""


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fields_problem(doc: dict[str, Any]) -> str:
    if "sales" in doc and not isinstance(doc["sales"], dict):
        return "sales is not a table"
    if doc.get("audit") is not None and witness_problem(doc["audit"]):
        return f"audit: {witness_problem(doc['audit'])}"

    def get(section: str, key: str) -> Any:
        return (doc.get(section) or {} if section else doc).get(key)

    for section, key in COUNTS:
        value = get(section, key)
        if value is not None and not (_is_whole(value) and value >= 0):
            return f"{section}.{key} {json.dumps(value)[:40]} is not a count (a whole number ≥ 0, or null)"
    for section, key in VERSIONS:
        value = get(section, key)
        if value is not None and not _is_whole(value):
            return f"{section}.{key} {json.dumps(value)[:40]} is not a version (a whole number, or null)"
    for section, key in TEXTS:
        value = get(section, key)
        if value is not None and not isinstance(value, str):
            return f"{(section + '.') if section else ''}{key} is {type(value).__name__}, not text or null"
    day = (doc.get("sales") or {}).get("day")
    if day is not None and not _is_date(day):
        return f"sales.day {day[:40]!r} is not a date (YYYY-MM-DD)"
    labelled, corrected = doc["counts"].get("labelled") or 0, doc["counts"].get("corrected") or 0
    if corrected > labelled:
        return f"counts.corrected ({corrected}) is more than counts.labelled ({labelled})"
    return ""
