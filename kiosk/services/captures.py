"""Placement photos on disk (``config.captures``/``YYYYMMDD``/``<placement>.jpg``), linked from each line's
provenance in the kiosk's SQLite store.

Earlier versions linked photos to lines through a side file, ``captures/index.jsonl``, written outside the
line's transaction; :meth:`CaptureFolder.restore_provenance` moves the links of the open cart's lines from it
into the store once, so an upgrade in the middle of a sale loses no photo link.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from kiosk.services.events import Notice
from kiosk.store import LineProvenance

__all__ = ["CaptureFolder", "LEGACY_INDEX"]

log = logging.getLogger(__name__)

LEGACY_INDEX = "index.jsonl"


class CaptureFolder:
    def __init__(self, root: str | Path, emit: Callable[..., None]) -> None:
        self.root = Path(root)
        self._emit = emit

    def save(self, placement_id: str, image) -> str:
        """Save one placement photo (JPEG, quality 95); ``""`` (and a warning) when it cannot be written."""
        import cv2

        folder = self.root / placement_id[:8]
        path = folder / f"{placement_id}.jpg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise OSError("OpenCV could not encode the image")
        except (OSError, cv2.error) as exc:
            log.warning("cannot save placement image %s: %s", path, exc)
            self._emit(Notice("warning", f"cannot save placement image {path}: {exc}"))
            return ""
        return str(path)

    def restore_provenance(self, store, cart) -> int:
        """Copy the legacy side file's links for ``cart``'s lines into ``store``; returns how many were new."""
        path = self.root / LEGACY_INDEX
        wanted = {line.line_id for line in cart.all_lines}
        if not wanted or not path.is_file():
            return 0
        found: dict[str, LineProvenance] = {}
        try:
            with open(path, encoding="utf-8") as fh:
                for text in fh:
                    rec = _record(text)
                    if rec is not None and rec.get("line_id") in wanted:
                        found[rec["line_id"]] = LineProvenance(
                            rec.get("placement_id"), rec.get("image") or "", rec.get("recognised_sku"), (),
                            rec.get("model_version"), rec.get("scale_grams"), "")
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
        return store.restore_provenance(found) if found else 0


def _record(text: str) -> dict | None:
    try:
        rec = json.loads(text)
    except json.JSONDecodeError:
        return None  # a line cut short by a crash
    return rec if isinstance(rec, dict) else None
