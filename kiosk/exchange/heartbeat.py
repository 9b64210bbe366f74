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
     "last_error": null}

``counts`` cover the last ``window_days`` of placements: ``corrected`` is how many labelled placements ended with
another SKU than the model's top-1 (the correction rate is ``corrected / labelled``), ``corrections`` the staff
corrections among them. :func:`read_heartbeat` checks what head office relies on.
"""

from __future__ import annotations

from typing import Any

from kiosk.errors import DataError
from kiosk.exchange.document import load_document

__all__ = ["FORMAT", "KIND", "correction_rate", "read_heartbeat"]

FORMAT = 1
KIND = "heartbeat"
REQUIRED = {"kiosk_id": str, "store_id": str, "at": str, "model": dict, "update": dict, "counts": dict,
            "outbox": dict, "disk": dict}


def read_heartbeat(data: bytes, where: str) -> dict[str, Any]:
    """The heartbeat in ``data``; :class:`~kiosk.errors.DataError` naming ``where`` when it is not one."""
    doc = load_document(data, where, "the heartbeat")
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("format") != FORMAT:
        raise DataError(f"{where}: not a format-{FORMAT} heartbeat")
    wrong = [k for k, t in REQUIRED.items() if not isinstance(doc.get(k), t)]
    if wrong:
        raise DataError(f"{where}: heartbeat field(s) {', '.join(wrong)} missing or of the wrong type")
    return doc


def correction_rate(counts: dict[str, Any]) -> float | None:
    """Share of labelled placements whose label differs from the model's top-1 (None: nothing labelled)."""
    labelled, corrected = counts.get("labelled") or 0, counts.get("corrected") or 0
    return corrected / labelled if isinstance(labelled, int) and labelled > 0 else None
