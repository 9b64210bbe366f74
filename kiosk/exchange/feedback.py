"""The feedback record: what a kiosk learnt from one placement, as it travels to head office.

One record per placement (an item put on the tray), in a batch of kind ``feedback`` whose files are the tray
crops (``images/<placement_id>.jpg``)::

    {"placement_id": "20261201-101502-ab12cd34", "revision": 2,
     "placed_at": "2026-12-01T10:15:02+05:30", "updated_at": "2026-12-01T10:16:40+05:30",
     "image": "images/20261201-101502-ab12cd34.jpg",          # "" when no crop was kept
     "top_k": [["oatly-oat-milk", 0.55], ["arla-standard-milk", 0.3]], "recognised_sku": "oatly-oat-milk",
     "model_version": 3, "grams": 1059,
     "chooser": "shopper", "suggestion_rank": 2,             # shopper tapped suggestion 2
     "label": "arla-standard-milk", "trust": "shopper",     # the label and how far to trust it
     "line_id": "…", "paid": true}

``chooser``: ``auto`` (added without a tap), ``shopper`` (tapped suggestion ``suggestion_rank``), ``search``,
``staff`` (a staff correction, override or approval), ``barcode`` (the camera read a code the catalog knows),
``removed`` / ``voided`` (the line was taken off), ``unknown`` (marked not recognised), ``""`` (nothing chosen);
``staff:<id>`` on a placement that never became a line: staff labelled it later from the till's "Not recognised
today" list; ``not-a-product:<id>`` (no label, trust ``none``): staff said it was no product, head office leaves it
out of training and of review.
``trust`` orders labels: staff-confirmed > barcode > shopper-picked > auto-added; ``none`` has no label. A record can
change after it was sent (a staff correction later in the same sale): it is sent again with a higher ``revision``;
head office keeps the highest revision of each (kiosk, placement).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from kiosk.exchange.batch import Batch, BatchError, read_kiosk_batch
from kiosk.exchange.fields import SKU_RE  # a catalog SKU: 1-64 characters

__all__ = ["KIND", "TRUST_RANK", "TRUSTS", "image_member", "read_feedback_batch", "trust_of", "validate_record"]

KIND = "feedback"
#: label trust, most trusted first
TRUSTS = ("staff", "barcode", "shopper", "auto", "none")
TRUST_RANK = {t: len(TRUSTS) - 1 - i for i, t in enumerate(TRUSTS)}  # staff 4 … none 0
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
#: who chose a label, as the kiosk writes it: "" (nobody yet), a word (shopper, search, auto, removed …) or
#: ``staff:<id>``; nothing a spreadsheet would run (``=cmd|…`` reached feedback.csv as it was)
CHOOSER_RE = re.compile(r"^(?:[a-z][a-z_-]{0,31}(?::[A-Za-z0-9._-]{1,64})?)?\Z")


def trust_of(chooser: str) -> str:
    """How far a label chosen by ``chooser`` is trusted (``staff:<id>`` counts as staff)."""
    head = (chooser or "").split(":", 1)[0]
    return {"staff": "staff", "barcode": "barcode", "shopper": "shopper", "search": "shopper",
            "auto": "auto"}.get(head, "none")


def image_member(placement_id: str) -> str:
    return f"images/{placement_id}.jpg"


def _opt(value: Any, kind: type, least: int | None = None) -> bool:
    """None, or a ``kind`` (a bool is no number) of at least ``least``."""
    if value is None:
        return True
    return isinstance(value, kind) and not isinstance(value, bool) and (least is None or value >= least)


def _sku(value: Any) -> bool:
    return isinstance(value, str) and bool(SKU_RE.match(value))


def _time(value: Any, empty: bool = False) -> bool:
    """An ISO-8601 time as the kiosk writes it (``Z`` or an offset; head office reads one without as UTC)."""
    if not isinstance(value, str) or not value:
        return empty and value == ""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _top_k_ok(top_k: Any) -> bool:
    return isinstance(top_k, list) and len(top_k) <= 100 and all(
        isinstance(p, list) and len(p) == 2 and _sku(p[0]) and isinstance(p[1], (int, float))
        and not isinstance(p[1], bool) and math.isfinite(p[1]) and 0 <= p[1] <= 1 + 1e-6 for p in top_k)  # float32 sums


def validate_record(rec: dict[str, Any], files: dict[str, bytes] | None = None) -> str | None:
    """Why ``rec`` is not a usable feedback record (None: it is). ``files``: the batch's files, to check its image."""
    checks = [
        ("placement_id", isinstance(rec.get("placement_id"), str) and bool(ID_RE.match(rec["placement_id"]))),
        ("revision", isinstance(rec.get("revision"), int) and not isinstance(rec.get("revision"), bool)
         and rec["revision"] >= 1),
        ("placed_at", _time(rec.get("placed_at"))),
        ("updated_at", _time(rec.get("updated_at"), empty=True)),
        ("top_k", _top_k_ok(rec.get("top_k"))),
        ("recognised_sku", rec.get("recognised_sku") is None or _sku(rec["recognised_sku"])),
        ("model_version", _opt(rec.get("model_version"), int, 0)),
        ("grams", _opt(rec.get("grams"), int, 0)),
        ("chooser", isinstance(rec.get("chooser"), str) and bool(CHOOSER_RE.match(rec["chooser"]))),
        ("suggestion_rank", _opt(rec.get("suggestion_rank"), int, 1)),
        ("label", rec.get("label") is None or _sku(rec["label"])),
        ("last_sku", rec.get("last_sku") is None or _sku(rec["last_sku"])),
        ("trust", rec.get("trust") in TRUSTS),
        ("image", isinstance(rec.get("image"), str)),
        ("paid", rec.get("paid") is None or isinstance(rec["paid"], bool)),
    ]
    wrong = [name for name, ok in checks if not ok]
    if wrong:
        return f"field(s) {', '.join(wrong)} missing, of the wrong type or out of range"
    if (rec["label"] is None) != (rec["trust"] == "none"):
        return f"label {rec['label']!r} with trust {rec['trust']!r}"
    if rec["image"] and files is not None and rec["image"] not in files:
        return f"image {rec['image']!r} is not in the batch"
    return None


def read_feedback_batch(data: bytes, name: str | None = None, *, where: str | None = None,
                        filed_under: tuple[str, str] | None = None) -> Batch:
    """:func:`~kiosk.exchange.batch.read_kiosk_batch` for kind ``feedback``, every record checked: one bad record
    refuses the whole batch (:class:`BatchError` naming the batch and the record)."""
    batch = read_kiosk_batch(data, name, KIND, where=where, filed_under=filed_under)
    where = where or name or "batch"
    for i, rec in enumerate(batch.records):
        problem = validate_record(rec, batch.files)
        if problem:
            raise BatchError(f"{where}: record {i + 1} ({str(rec.get('placement_id'))[:40]}): {problem}")
    return batch
