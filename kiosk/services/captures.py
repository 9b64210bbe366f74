"""Placement photos on disk (``config.captures``/``YYYYMMDD``/``<placement>.jpg``: the tray crop only), linked from
each line's provenance and each placement's feedback record in the kiosk's SQLite store.

Earlier versions linked photos to lines through a side file, ``captures/index.jsonl``, written outside the
line's transaction; :meth:`CaptureFolder.restore_provenance` moves the links of the open cart's lines from it
into the store once, so an upgrade in the middle of a sale loses no photo link.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path

from kiosk.errors import DataError
from kiosk.exchange.document import load_document
from kiosk.services.events import Notice
from kiosk.store import LineProvenance

__all__ = ["CaptureFolder", "LEGACY_INDEX"]

log = logging.getLogger(__name__)

LEGACY_INDEX = "index.jsonl"


class CaptureFolder:
    """Placement photos (the tray crop, never the full frame: :mod:`kiosk.feedback.crop`). ``make_room(bytes)``
    (the feedback room's retention) is asked before each photo: on a nearly full disk it deletes the oldest
    feedback photos first, and a photo it cannot make room for is not kept (the placement goes on without one)."""

    def __init__(self, root: str | Path, emit: Callable[..., None],
                 make_room: Callable[[int], bool] | None = None) -> None:
        self.root = Path(root)
        self._emit = emit
        self._make_room = make_room
        self.skipped_for_room = 0

    def save(self, placement_id: str, image) -> str:
        """Save one placement photo (JPEG, quality 95); ``""`` (and a warning) when it cannot be written."""
        import cv2

        folder = self.root / placement_id[:8]
        path = folder / f"{placement_id}.jpg"
        try:
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise OSError("OpenCV could not encode the image")
            data = encoded.tobytes()
            if self._make_room is not None and not self._make_room(len(data)):
                self.skipped_for_room += 1
                log.warning("disk nearly full: placement photo %s not kept", placement_id)
                return ""
            folder.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        except (OSError, cv2.error) as exc:
            _discard(path)  # never half a photo
            if getattr(exc, "errno", None) == errno.ENOSPC:
                self.skipped_for_room += 1
                log.warning("disk full: placement photo %s not kept", placement_id)
                if self._make_room is not None:
                    self._make_room(1 << 20)  # the next one may fit
                return ""
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
            with open(path, "rb") as fh:
                for number, raw in enumerate(fh, 1):
                    rec, problem = _record(raw, path)
                    if rec is not None:
                        if not (isinstance(rec.get("line_id"), str) and rec["line_id"] in wanted):
                            continue  # a line of a sale that is closed
                        problem = _record_problem(rec, self.root)
                    if problem:
                        log.warning("%s:%d: %s; this photo link is skipped", path, number, problem)
                    elif rec is not None:
                        found[rec["line_id"]] = LineProvenance(
                            rec.get("placement_id"), rec.get("image") or "", rec.get("recognised_sku"), (),
                            rec.get("model_version"), rec.get("scale_grams"), "")
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
        return store.restore_provenance(found) if found else 0


def _discard(path: Path) -> None:
    """Remove a half-written photo; where even that fails (its folder is a file, the disk went read-only) there is
    nothing to remove, and the placement goes on without a photo."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _record(raw: bytes, path: Path) -> tuple[dict | None, str]:
    """One record of the legacy side file, or ``(None, why)`` for a line a crash cut short or a disk fault damaged
    (not UTF-8, nested 100,000 deep: a RecursionError stopped the restore); ``(None, "")`` for a blank line."""
    if not raw.strip():
        return None, ""
    try:
        rec = load_document(raw, str(path), "a capture record")
    except DataError as exc:
        return None, str(exc).removeprefix(f"{path}: ")
    return (rec, "") if isinstance(rec, dict) else (None, "not a JSON object")


#: the fields of a legacy record: text (at most this many characters) or a whole number in this range, or null
_TEXT_FIELDS = {"placement_id": 200, "image": 4096, "recognised_sku": 200}
_NUMBER_FIELDS = {"model_version": (0, 2**63 - 1), "scale_grams": (-1_000_000, 1_000_000)}


def _record_problem(rec: dict, root: Path) -> str:
    """Why a legacy record must not reach the store (``""`` when it may): a field of the wrong type or out of range
    (a list where the grams belong stopped the kiosk starting with SQLite's "Error binding parameter 7", naming the
    databases, not this file), or a photo outside the captures folder."""
    for name, longest in _TEXT_FIELDS.items():
        value = rec.get(name)
        if value is not None and not (isinstance(value, str) and len(value) <= longest):
            return f"{name} is not text of at most {longest} characters"
    for name, (low, high) in _NUMBER_FIELDS.items():
        value = rec.get(name)
        if value is not None and not (type(value) is int and low <= value <= high):
            return f"{name} is not a whole number from {low} to {high}"
    image = rec.get("image")
    if image:
        folder = os.path.abspath(root)
        if "\x00" in image or not os.path.abspath(image).startswith(folder + os.sep):
            return f"image {image[:80]!r} is not in the captures folder {folder}"
    return ""

