"""The kiosk's heartbeat document (format: :mod:`kiosk.exchange.heartbeat`), built from what the kiosk knows now."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from kiosk.exchange.heartbeat import FORMAT, KIND

__all__ = ["WINDOW_DAYS", "build_heartbeat", "software_version"]

WINDOW_DAYS = 7
MIB = 1 << 20


def software_version() -> str:
    try:
        return metadata.version("edge-checkout-kiosk")
    except metadata.PackageNotFoundError:
        return "unknown"


def _free_mb(path: Path, disk_usage: Callable[[str], Any]) -> int | None:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return int(disk_usage(str(path)).free // MIB)
    except OSError:
        return None


def build_heartbeat(*, kiosk_id: str, store_id: str, now: datetime, store, stats: dict[str, Any],
                    outbox: dict[str, Any], captures: Path, last_error: str | None,
                    disk_usage: Callable[[str], Any] = shutil.disk_usage) -> bytes:
    """``stats``: ``model_version``, ``model_description``, ``update`` (dict), ``recognitions`` from the service."""
    counts = store.feedback_counts(int(now.timestamp()) - WINDOW_DAYS * 86400)
    doc = {
        "format": FORMAT, "kind": KIND, "kiosk_id": kiosk_id, "store_id": store_id,
        "at": now.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "software": software_version(),
        "model": {"version": stats.get("model_version"), "description": stats.get("model_description", "")},
        "update": dict(stats.get("update") or {}),
        "counts": {"window_days": WINDOW_DAYS, **counts},
        "recognitions_since_start": int(stats.get("recognitions") or 0),
        "disk": {"free_mb": _free_mb(captures, disk_usage), "captures_mb": round(store.feedback_photo_bytes() / MIB,
                                                                                  1)},
        "outbox": outbox,
        "last_error": last_error,
    }
    witness = store.audit_witness() if hasattr(store, "audit_witness") else None
    if witness is not None:  # the audit log's last row, MACed: head office sees a log rolled back (audit collect)
        doc["audit"] = witness
    if hasattr(store, "sales_so_far"):
        day = now.date()  # the kiosk's own local day, as its receipts are dated
        count, total = store.sales_so_far(day)
        doc["sales"] = {"day": day.isoformat(), "count": count, "total_paise": total}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
