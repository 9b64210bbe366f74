"""The enrollment batch: a product staff taught at a kiosk (Staff → Teach a new product, ``checkout sku enroll``), as
it travels to head office, so the next model is trained on it.

One batch per enrollment (its parts when it is larger than a batch: below), kind ``enrollment``; its files are the
enrolled photos, lossless as the gallery keeps them (``images/e<enrollment>-<sha256[:20]>.png``)::

    meta:    {"kiosk_id": "K1", "store_id": "BLR-7", "gallery_id": "9f1c…", "enrollment_id": 3,
              "sku": "alpro-blueberry-soyghurt",
              "created_at": "2026-12-01T10:15:02+05:30", "staff": "101", "source": "teach-screen",
              "refused": 2, "withdrawn_at": null}
    records: [{"image": "images/e3-01b9b5eeb05ee1f437d1.png", "sha256": "01b9…", "sharpness": 812.5}, …]

``product`` (optional) is the SKU's row in the kiosk's catalog as staff created or found it on the teach screen
(the catalog CSV's columns as text: ``{"sku": "kiwi", "name": "Kiwi", "sold_by": "unit", "price_paise": "2500",
"gst_percent": "0", "hsn": "0810", …}``), so head office can add a product a store created to its own catalog.

The same enrollment always gives the same bytes and so the same name: a kiosk killed between queueing the batch
and marking the enrollment sent queues the same batch again, and head office stores it once. ``withdrawn_at`` is
set when staff had already withdrawn the product when the batch was made (head office leaves such photos out).

An enrollment whose photos come to more than a batch may hold (:func:`kiosk.exchange.cut.budget`, 32 MiB) goes as
**parts**: each a whole enrollment batch of its own (the same meta, some of the photos, every one checked as above)
with ``"parts": N`` and, after the first, ``"part": 1 … N-1``; one that fits has neither, so its bytes are what they
always were. The unit stays the enrollment: head office reads every batch it has and joins them
(:func:`join_enrollments`) by store, kiosk, gallery and enrollment id -- the parts, or the same enrollment sent
again -- into one, each photo once, and says how many parts have not arrived yet.

``gallery_id`` is the kiosk gallery's random id (32 hex digits), made with the gallery: a gallery lost and made
anew restarts its enrollment ids at 1, and its new id keeps them apart from the old gallery's. Batches sent before
kiosks sent it have none; they are joined by kiosk and enrollment id as before (with a batch of the same enrollment
that has one). Batches of one enrollment id whose SKU or ``created_at`` differ are never joined: each is its own
enrollment, and one line naming the store and the batch says so. A photo too large for any batch on its own is left
out at the kiosk, with a warning in its log (:mod:`kiosk.gallery.packer`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.exchange.batch import Batch, BatchError, read_kiosk_batch
from kiosk.exchange.feedback import SKU_RE

log = logging.getLogger(__name__)

__all__ = ["KIND", "MAX_PHOTOS", "Enrollment", "join_enrollments", "photo_member", "read_enrollment_batch",
           "validate_enrollment"]

KIND = "enrollment"
MAX_PHOTOS = 200
MEMBER_RE = re.compile(r"^images/e(?P<id>[0-9]{1,12})-(?P<sha>[0-9a-f]{20})\.png\Z")
GALLERY_ID_RE = re.compile(r"[0-9a-f]{32}\Z")


def photo_member(enrollment_id: int, sha256: str) -> str:
    return f"images/e{int(enrollment_id)}-{sha256[:20]}.png"


def _time(value: Any, optional: bool = False) -> bool:
    if value is None:
        return optional
    if not isinstance(value, str) or not value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _text(value: Any, limit: int = 64) -> bool:
    return isinstance(value, str) and len(value) <= limit and (value == "" or value.isprintable())


def _product_ok(product: Any, sku: Any) -> bool:
    """None, or a small table of catalog CSV text naming the same SKU (head office checks the fields themselves)."""
    if product is None:
        return True
    return (isinstance(product, dict) and 0 < len(product) <= 32 and product.get("sku") == sku
            and all(isinstance(k, str) and len(k) <= 32 and _text(v, 256) for k, v in product.items()))


def _int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _parts_ok(meta: dict[str, Any]) -> bool:
    """No ``parts`` (one batch, no ``part``), or ``parts`` 2..MAX_PHOTOS and ``part`` absent (the first) or
    1..parts-1."""
    if "parts" not in meta:
        return "part" not in meta
    return _int(meta["parts"], 2, MAX_PHOTOS) and ("part" not in meta or _int(meta["part"], 1, meta["parts"] - 1))


def _meta_problem(meta: dict[str, Any]) -> str | None:
    eid = meta.get("enrollment_id")
    checks = [("enrollment_id", isinstance(eid, int) and not isinstance(eid, bool) and 1 <= eid < 10**12),
              ("sku", isinstance(meta.get("sku"), str) and bool(SKU_RE.match(meta["sku"])) and len(meta["sku"]) <= 64),
              ("created_at", _time(meta.get("created_at"))), ("withdrawn_at", _time(meta.get("withdrawn_at"), True)),
              ("staff", _text(meta.get("staff"))), ("source", _text(meta.get("source"))),
              ("refused", isinstance(meta.get("refused"), int) and not isinstance(meta.get("refused"), bool)
               and 0 <= meta["refused"] <= 10_000), ("product", _product_ok(meta.get("product"), meta.get("sku"))),
              ("part", _parts_ok(meta)), ("gallery_id", "gallery_id" not in meta or (
                  isinstance(meta["gallery_id"], str) and bool(GALLERY_ID_RE.match(meta["gallery_id"]))))]
    wrong = [name for name, ok in checks if not ok]
    return f"meta field(s) {', '.join(wrong)} missing, of the wrong type or out of range" if wrong else None


def _record_problem(rec: dict[str, Any], eid: int, files: dict[str, bytes]) -> str | None:
    image, sha, sharp = rec.get("image"), rec.get("sha256"), rec.get("sharpness")
    found = MEMBER_RE.match(image) if isinstance(image, str) else None
    if found is None or int(found["id"]) != eid:
        return f"image {str(image)[:80]!r} is not images/e{eid}-<sha256>.png"
    if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha) and sha.startswith(found["sha"])):
        return "sha256 missing or not the photo's"
    if image not in files or hashlib.sha256(files[image]).hexdigest() != sha:
        return f"photo {image} is not in the batch or not the one enrolled"
    if sharp is not None and not (isinstance(sharp, (int, float)) and not isinstance(sharp, bool)
                                  and math.isfinite(sharp) and sharp >= 0):
        return "sharpness is not a number >= 0"
    return None


def validate_enrollment(meta: dict[str, Any], records: list[dict[str, Any]], files: dict[str, bytes]) -> str | None:
    """Why a batch's content is not one usable enrollment (None: it is)."""
    problem = _meta_problem(meta)
    if problem:
        return problem
    if not 1 <= len(records) <= MAX_PHOTOS:
        return f"{len(records)} photo records (1..{MAX_PHOTOS})"
    seen: set[str] = set()
    for i, rec in enumerate(records):
        problem = _record_problem(rec, meta["enrollment_id"], files) if isinstance(rec, dict) else "not an object"
        if problem is None and rec["image"] in seen:
            problem = f"photo {rec['image']} listed twice"
        if problem:
            return f"record {i + 1}: {problem}"
        seen.add(rec["image"])
    return None


def read_enrollment_batch(data: bytes, name: str | None = None, *, where: str | None = None,
                          filed_under: tuple[str, str] | None = None) -> Batch:
    """:func:`~kiosk.exchange.batch.read_kiosk_batch` for kind ``enrollment``, the enrollment and every photo
    checked: one problem refuses the whole batch (:class:`BatchError` naming the batch)."""
    batch = read_kiosk_batch(data, name, KIND, where=where, filed_under=filed_under)
    problem = validate_enrollment(batch.meta, batch.records, batch.files)
    if problem:
        raise BatchError(f"{where or name or 'batch'}: {problem}")
    return batch


@dataclass
class Enrollment:
    """One enrollment as head office has it: every whole batch that carried it joined -- the parts of one the kiosk
    cut by bytes, or the same enrollment sent again -- each photo once."""

    meta: dict[str, Any]  # the first part's (``part``/``parts`` dropped); withdrawn: when any batch says so
    records: list[dict[str, Any]] = field(default_factory=list)  # each photo once, in the kiosk's order
    carried_by: dict[str, str] = field(default_factory=dict)  # photo sha256 -> the batch (key) it came in
    batches: list[str] = field(default_factory=list)  # the batches (keys), first part first
    missing: int = 0  # parts the kiosk cut it into that have not arrived (yet)


def join_enrollments(batches: Iterable[tuple[str, Batch]], apart: list[dict] | None = None) -> list[Enrollment]:
    """Whole enrollment batches (``(key, batch)``, read with :func:`read_enrollment_batch`) joined per store, kiosk,
    gallery and enrollment id, in the order first seen; a batch without ``gallery_id`` (an older kiosk's) joins as
    before. Batches of one enrollment id that disagree on SKU or ``created_at`` are kept apart, never merged: each
    such batch is named in the log and in ``apart`` (``{"batch", "reason"}``). Keeps no photo bytes: the caller takes
    what it needs as they pass."""
    found: dict[tuple, list[tuple[int, str, dict, list]]] = {}
    for key, batch in batches:
        m = batch.meta
        found.setdefault((m["store_id"], m["kiosk_id"], m["enrollment_id"], m.get("gallery_id"), m["sku"],
                          m["created_at"]), []).append((m.get("part", 0), key, m, batch.records))
    for ident in [i for i in found if i[3] is None]:  # an older batch: with the one gallery that has it, if one
        same = [i for i in found if i[3] is not None and i[:3] == ident[:3] and i[4:] == ident[4:]]
        if len(same) == 1:
            found[same[0]] += found.pop(ident)
    _say_apart(found, apart)
    return [_joined(sorted(parts, key=lambda p: (p[0], p[1]))) for parts in found.values()]


def _say_apart(found: dict[tuple, list], apart: list[dict] | None) -> None:
    first: dict[tuple, tuple] = {}
    for ident, parts in found.items():
        seen = first.setdefault(ident[:4], ident)
        if seen == ident:
            continue
        key, other = min(p[1] for p in parts), min(p[1] for p in found[seen])
        reason = (f"store {ident[0]}, kiosk {ident[1]}: batch {key} (enrollment {ident[2]}: {ident[4]} taught "
                  f"{ident[5]}) disagrees with batch {other} of the same enrollment id ({seen[4]} taught {seen[5]}): "
                  "kept apart, not merged")
        log.warning("enrollment: %s", reason)
        if apart is not None:
            apart.append({"batch": key, "reason": reason})


def _joined(parts: list[tuple[int, str, dict, list]]) -> Enrollment:
    meta = {k: v for k, v in parts[0][2].items() if k not in ("part", "parts")}
    meta["withdrawn_at"] = next((p[2]["withdrawn_at"] for p in parts if p[2]["withdrawn_at"] is not None), None)
    meta["product"] = next((p[2]["product"] for p in parts if p[2].get("product") is not None), None)
    if meta["product"] is None:
        del meta["product"]
    joined = Enrollment(meta, batches=[p[1] for p in parts])
    for _, key, _, records in parts:
        for rec in records:
            if rec["sha256"] not in joined.carried_by:
                joined.carried_by[rec["sha256"]] = key
                joined.records.append(rec)
    if all("parts" in p[2] for p in parts):  # a batch without parts carries all its photos
        joined.missing = max(0, max(p[2]["parts"] for p in parts) - len({p[0] for p in parts}))
    return joined
