"""Simulated stores for head-office tests: feedback batches and heartbeats as kiosks write them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from kiosk.exchange import batch_key, heartbeat_key, write_batch
from kiosk.exchange.feedback import image_member

COLORS = {"banana": (40, 220, 230), "lemon": (30, 240, 250), "granny-smith": (40, 200, 40),
          "arla-standard-milk": (230, 230, 230), "oatly-oat-milk": (200, 150, 60)}


def crop(seed: int) -> bytes:
    """A distinct JPEG per seed (different shapes: far apart in pHash)."""
    rng = np.random.default_rng(seed)
    img = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
    img = cv2.resize(img, (96, 96), interpolation=cv2.INTER_NEAREST)
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def record(pid: str, label: str | None, trust: str, *, revision: int = 1, predicted: str = "banana",
           chooser: str | None = None, rank: int | None = None, image: bool = True,
           when: str = "2026-12-01T10:00:00+05:30"):
    return {"placement_id": pid, "revision": revision, "placed_at": when, "updated_at": when,
            "image": image_member(pid) if image else "", "top_k": [[predicted, 0.61], ["lemon", 0.2]],
            "recognised_sku": predicted, "model_version": 7, "grams": 500,
            "chooser": chooser or {"staff": "staff", "shopper": "shopper", "auto": "auto", "none": "removed"}[trust],
            "suggestion_rank": rank, "label": label, "trust": trust, "line_id": None, "paid": label is not None}


def put_batch(root: Path, store: str, kiosk: str, records: list[dict], images: dict[str, bytes]) -> Path:
    name, data = write_batch("feedback", {"kiosk_id": kiosk, "store_id": store}, records,
                             {image_member(pid): b for pid, b in images.items()})
    path = root / batch_key("feedback", store, kiosk, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def put_heartbeat(root: Path, store: str, kiosk: str, *, at: datetime, version: int, placements: int,
                  labelled: int, corrected: int, corrections: int = 0, state: str = "idle",
                  available: int | None = None, queued: int = 0, error: str | None = None,
                  sales: tuple[str, int, int] | None = None) -> None:
    doc = {"format": 1, "kind": "heartbeat", "kiosk_id": kiosk, "store_id": store,
           "at": at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"), "software": "0.1.0",
           "model": {"version": version, "description": f"v{version}"},
           "update": {"state": state, "active_version": version, "available_version": available},
           "counts": {"window_days": 7, "placements": placements, "labelled": labelled, "corrected": corrected,
                      "corrections": corrections},
           "recognitions_since_start": placements, "disk": {"free_mb": 1000, "captures_mb": 12.5},
           "outbox": {"queued": queued, "dropped": 0, "last_error": error}, "last_error": error}
    if sales is not None:  # (day, count, total paise); kiosks before the section send none
        doc["sales"] = dict(zip(("day", "count", "total_paise"), sales))
    path = root / heartbeat_key(store, kiosk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
AGO = timedelta
