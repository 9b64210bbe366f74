"""What ``checkout train --incremental --add MANIFEST`` checks about the new photos before it trains (the same hashes
and duplicate groups as ``checkout data check``: :mod:`trainer.data.hashing`, :mod:`trainer.data.duplicates`).

* ``--add`` has photos (a header alone trained on the replay only and shipped a run that taught nothing);
* each new SKU has at least :data:`MIN_NEW_PHOTOS` *distinct* photos: exact and near copies count once, and a photo
  that cannot be read counts not at all (one photo, or one photo ten times, was a new SKU);
* no added photo is a copy or near copy of one of the base's photos under another SKU, nor of another added photo
  under another SKU (photos of an old product relabelled as a new one were accepted). The base's photos are its
  training manifest when it is here, else its replay exemplars (a bundle's run may be elsewhere): said in a line.

A near copy: pHash within ``data check``'s threshold AND the same picture at 16x16 in colour (mean absolute difference
at most :data:`SAME_THUMBNAIL` of 255). pHash is grey and coarse: on the onboarding test world's photos (a shape on a
grey tray, drawn again for each photo) it put other draws of one SKU within 4 bits (12 photos of blue-disc: 4 groups)
and other colours of one shape at 0 bits, so pHash alone refused good additions. Measured there (414 pHash pairs
within 4 bits, all different draws): thumbnail difference 2.5 at least, 17 at the median; one photo resized to 100-400
px and saved as JPEG quality 70: 0.4-1.2.

Every refusal is one line naming the manifest, the row (manifest line and photo) and the SKU.
"""


from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kiosk.errors import UserError
from trainer.data import hashing
from trainer.data.duplicates import UnionFind
from trainer.data.manifest import ManifestRow

__all__ = ["MIN_NEW_PHOTOS", "SAME_THUMBNAIL", "check_added", "copies"]

#: distinct photos a new SKU needs: the same minimum as teaching one at the till (``kiosk.gallery.EnrollPolicy
#: .min_photos``; the trainer may not import the kiosk's gallery: tests/trainer/test_incremental_add.py keeps them
#: equal)
MIN_NEW_PHOTOS = 5
#: mean absolute difference (of 255) of two 16x16 colour thumbnails at or below which a pHash match is a near copy
SAME_THUMBNAIL = 2.0
_POOL_FROM = 256  # photos hashed in this process below this many (a process pool costs more than it saves)


def _facts(rows: Sequence[ManifestRow]) -> list[hashing.ImageFacts]:
    paths = [os.fspath(r.path) for r in rows]
    found = hashing.inspect_images(paths, workers=0 if len(set(paths)) < _POOL_FROM else None, progress=False,
                                   desc="hashing --add and base photos")
    return [found[p] for p in paths]


def _thumbnail(path: Path) -> np.ndarray | None:
    import cv2

    image = hashing.decoded(path)
    return None if image is None else cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)


def copies(rows: Sequence[ManifestRow], facts: Sequence[hashing.ImageFacts], first: int,
           threshold: int = hashing.DEFAULT_PHASH_THRESHOLD) -> list[tuple[int, int, str]]:
    """``(i, j, kind)`` for every photo ``i`` < ``first`` and any other photo ``j`` (``i`` < ``j``) that is the same
    bytes (``exact``; same bytes, same pHash) or a near copy (``near``, see the module docstring); unreadable photos
    take no part. ``first`` × all comparisons, not all × all: a large base costs one pass per added photo."""
    ok = [k for k, f in enumerate(facts) if f.ok]
    out: list[tuple[int, int, str]] = []
    if not ok:
        return out
    hashes = np.asarray([facts[k].phash for k in ok], dtype=np.uint64)
    flat = np.asarray([hashing.degenerate(facts[k].phash) for k in ok])
    thumbs: dict[int, np.ndarray | None] = {}

    def thumb(k: int) -> np.ndarray | None:
        if k not in thumbs:
            thumbs[k] = _thumbnail(rows[k].path)
        return thumbs[k]

    for a, i in enumerate(ok):
        if i >= first:
            break
        near = np.bitwise_count(hashes[a] ^ hashes[a + 1:]) <= threshold
        for b in np.flatnonzero(near).tolist():
            j = ok[a + 1 + b]
            if facts[i].sha256 == facts[j].sha256:
                out.append((i, j, "exact"))
            elif not flat[a] and not flat[a + 1 + b]:
                ti, tj = thumb(i), thumb(j)
                if ti is not None and tj is not None and float(np.abs(ti - tj).mean()) <= SAME_THUMBNAIL:
                    out.append((i, j, "near"))
    return out


def check_added(manifest: Path, added: Sequence[ManifestRow], base_labels: Sequence[str],
                base_rows: Sequence[ManifestRow], base_name: str,
                threshold: int = hashing.DEFAULT_PHASH_THRESHOLD, minimum: int = MIN_NEW_PHOTOS) -> None:
    """Refuse (:class:`UserError`, one line) an ``--add`` ``manifest`` whose rows ``added`` are unfit (see the module
    docstring); ``base_rows``: the base's photos (``base_name`` says which, for the message)."""
    manifest = Path(manifest)
    if not added:
        raise UserError(f"--add {manifest}: no photos (a header only); an incremental run without new photos would "
                        "train on the replayed exemplars alone — give the new SKUs' photos")
    rows = list(added) + list(base_rows)
    facts = _facts(rows)
    found = copies(rows, facts, len(added), threshold)
    for i, j, kind in found:
        if rows[i].sku != rows[j].sku:
            _refuse_relabelled(manifest, rows, i, j, kind, len(added), base_name)
    groups = UnionFind(len(added))
    for i, j, _kind in found:
        if j < len(added):
            groups.union(i, j)
    distinct: dict[str, set[int]] = {}
    for k, row in enumerate(added):
        if facts[k].ok:
            distinct.setdefault(row.sku, set()).add(groups.find(k))
    for sku in sorted({r.sku for r in added} - set(base_labels)):
        have, count = len(distinct.get(sku, ())), sum(r.sku == sku for r in added)
        if have < minimum:
            first = next(r for r in added if r.sku == sku)
            raise UserError(f"--add {manifest}: new SKU {sku} has {have} distinct readable photo(s) of {count} "
                            f"(first: line {first.line or '?'}, {first.path.name}; exact and near copies count once), "
                            f"at least {minimum} are needed — add photos of it")


def _refuse_relabelled(manifest: Path, rows: list[ManifestRow], i: int, j: int, kind: str, n_added: int,
                       base_name: str) -> None:
    """Added photo ``i`` is a copy of photo ``j`` (added, or the base's) under another SKU: refused in one line."""
    mine, theirs = rows[i], rows[j]
    where = (f"{manifest} line {theirs.line or '?'} ({theirs.path.name})" if j < n_added
             else f"{base_name} photo {theirs.path}")
    what = "the same photo as" if kind == "exact" else "a near copy of"
    raise UserError(f"--add {manifest} line {mine.line or '?'} ({mine.path.name}, SKU {mine.sku}): {what} {where} "
                    f"labelled {theirs.sku}; one product's photos under two SKUs — fix the label or leave the photo "
                    "out")
