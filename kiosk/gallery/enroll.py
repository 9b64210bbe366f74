"""Teaching the kiosk a product from a few photos: each photo judged (sharp enough, not the empty tray), the SKU
checked against the catalog, the photos embedded by the running model and checked against the other enrolled SKUs,
then stored as one enrollment (:class:`~kiosk.gallery.store.Gallery`).

Refused, each with one line that says why (:class:`EnrollmentRefused`): a SKU the catalog does not have, one that is
not on sale, fewer than :attr:`EnrollPolicy.min_photos` distinct usable photos (how many were blurred, showed the
empty tray, could not be read or repeated another), photos all taught already, and photos that are near-duplicates
of another enrolled SKU's (the same product taught under two ids, or the wrong item on the tray).

A photo is counted once: a repeat of another (the same pixels as kept: a copy, a hard link) is refused as
"duplicate", and one an active enrollment of the SKU holds already as "already taught" — it still counts towards the
minimum (the SKU has it), but is not stored again. Near-identical frames (the same pose, other sensor noise) are not
told apart: the embeddings cannot (on the demo photos, a frame with noise of σ 3 scores 0.91-0.95 against its own
photo, two different photos of one product up to 0.988), and the cross-SKU near-duplicate rule is about products,
not frames. Only the first :attr:`EnrollPolicy.max_photos` photos are read; how many more there were is said.

Sharpness is the variance of the Laplacian of the photo shrunk to 256 px on its shorter side. Measured on 300
photos of the grocery dataset's training split: sharp photos 25.7 at the least (1st percentile 62), the same photos
under a Gaussian blur of 2 px (at 256 px) 26 at the most (median 12): :attr:`EnrollPolicy.min_sharpness` 25 takes
every sharp photo and refuses that blur. A featureless photo (a bare tray) scores low too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.errors import UserError
from kiosk.gallery.store import Enrollment, Gallery, GalleryError

__all__ = ["EnrollPolicy", "EnrollResult", "EnrollmentRefused", "PhotoVerdict", "enroll", "judge", "sharpness"]

log = logging.getLogger(__name__)
#: longest side a photo is kept at (the model sees 224-288 px; a phone photo need not be stored at 4000 px)
MAX_SIDE = 640


class EnrollmentRefused(UserError):
    """An enrollment that would teach the kiosk something wrong or unusable (one line: which SKU and why)."""


@dataclass(frozen=True)
class EnrollPolicy:
    min_photos: int = 5  # usable photos an enrollment needs
    max_photos: int = 30  # photos taken at most (the first ones)
    min_sharpness: float = 25.0  # variance of the Laplacian at 256 px (module docstring)
    empty_fraction: float = 0.02  # share of the tray that must differ from the empty tray (the trigger's own)
    duplicate_similarity: float = 0.95  # cosine from which a photo is a near-duplicate of another SKU's
    duplicate_share: float = 0.5  # refused when this share of the usable photos are near-duplicates


@dataclass(frozen=True)
class PhotoVerdict:
    index: int
    usable: bool
    reason: str = ""  # "" | "blurred" | "empty tray" | "unreadable" | "too small" | "duplicate" | "already taught"
    sharpness: float = 0.0
    occupancy: float | None = None
    same_as: int | None = None  # a duplicate: the index of the photo it repeats


@dataclass
class EnrollResult:
    sku: str
    enrollment: Enrollment | None
    verdicts: list[PhotoVerdict]
    closest_other: tuple[str, float] | None = None  # the most similar other enrolled SKU and its mean similarity
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> int:
        return sum(v.usable for v in self.verdicts)

    def summary(self) -> str:
        refused = [v for v in self.verdicts if not v.usable]
        reasons = _count_reasons(refused)
        return (f"{self.sku}: enrolled {self.usable} photo(s)" + (f", refused {len(refused)} ({reasons})" if refused
                                                                   else "") + "".join(f"; {n}" for n in self.notes))


def _count_reasons(verdicts: list[PhotoVerdict]) -> str:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.reason] = counts.get(v.reason, 0) + 1
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


def sharpness(image_bgr: np.ndarray) -> float:
    """Variance of the Laplacian of the grey photo shrunk to 256 px on its shorter side."""
    import cv2

    h, w = image_bgr.shape[:2]
    scale = 256 / max(1, min(h, w))
    small = cv2.resize(image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def judge(images: list[np.ndarray | None], policy: EnrollPolicy,
          occupancy: Callable[[np.ndarray], float | None] | None = None, *, size: int = 0,
          crop: Callable[[np.ndarray], np.ndarray] | None = None) -> list[PhotoVerdict]:
    """A verdict per photo: unreadable (``None``), too small for the model's ``size`` px once cropped (``crop``: the
    part the recogniser sees), the empty tray (``occupancy``: share of the tray that differs from the empty tray,
    ``None`` when unknown), blurred, or usable."""
    from kiosk.bundle_format.preprocess import resize_problem

    out = []
    for i, image in enumerate(images):
        if image is None:
            out.append(PhotoVerdict(i, False, "unreadable"))
            continue
        seen = crop(image) if crop is not None else image
        if size and resize_problem(seen.shape[1], seen.shape[0], size):
            out.append(PhotoVerdict(i, False, "too small"))
            continue
        occ = occupancy(image) if occupancy is not None else None
        sharp = sharpness(image)
        if occ is not None and occ < policy.empty_fraction:
            out.append(PhotoVerdict(i, False, "empty tray", sharp, occ))
        elif sharp < policy.min_sharpness:
            out.append(PhotoVerdict(i, False, "blurred", sharp, occ))
        else:
            out.append(PhotoVerdict(i, True, "", sharp, occ))
    return out


def model_size(recognizer) -> int:
    """The size ``recognizer`` resizes a photo to (0 when it does not say)."""
    return getattr(getattr(recognizer, "spec", None), "resize_size", 0) or 0


def _check_sku(sku_id: str, sku: Any) -> None:
    if sku is None:
        raise EnrollmentRefused(f"unknown SKU {sku_id!r}: it is not in the catalog; create its catalog row first "
                                "(name, price, sold by unit or weight, GST)")
    if not getattr(sku, "active", True):
        raise EnrollmentRefused(f"SKU {sku_id!r} ({sku.name}) is not on sale (inactive in the catalog): activate it "
                                "before teaching it")


def _shrunk(image: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return image
    scale = MAX_SIDE / max(h, w)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def _duplicates(gallery: Gallery, feature_key: str, sku_id: str, vectors: np.ndarray,
                policy: EnrollPolicy) -> tuple[str, float] | None:
    """Refuse photos most of which are near-duplicates of one other enrolled SKU's; returns the closest other SKU
    and its mean best similarity (for the summary)."""
    from kiosk.bundle_format.openset import l2_normalise

    owners, others = gallery.vectors(feature_key, exclude_sku=sku_id)
    if not owners:
        return None
    sims = l2_normalise(vectors) @ l2_normalise(others).T
    best = sims.argmax(axis=1)
    best_sim = sims.max(axis=1)
    skus = np.asarray(owners)[best]
    for other in sorted(set(skus.tolist())):
        hits = (skus == other) & (best_sim >= policy.duplicate_similarity)
        if hits.sum() >= policy.duplicate_share * len(vectors):
            raise EnrollmentRefused(
                f"{sku_id}: {int(hits.sum())} of {len(vectors)} photos are near-duplicates of {other!r}, already "
                f"enrolled (similarity ≥ {policy.duplicate_similarity}, highest {best_sim[hits].max():.3f}): is it the "
                f"same product, or is {other}'s item on the tray? Withdraw {other} first if it was taught wrongly")
    top = max(set(skus.tolist()), key=lambda s: best_sim[skus == s].mean())
    return top, float(best_sim[skus == top].mean())


def _distinct(verdicts: list[PhotoVerdict], kept: dict[int, bytes], taught: set[str]) -> list[PhotoVerdict]:
    """``verdicts`` with each usable photo whose stored bytes (``kept``, by index) repeat an earlier one's refused as
    "duplicate", and one ``taught`` holds (sha256) as "already taught"."""
    first: dict[str, int] = {}
    out = []
    for v in verdicts:
        if v.usable:
            digest = hashlib.sha256(kept[v.index]).hexdigest()
            if digest in first:
                v = dataclasses.replace(v, usable=False, reason="duplicate", same_as=first[digest])
            else:
                first[digest] = v.index
                if digest in taught:
                    v = dataclasses.replace(v, usable=False, reason="already taught")
        out.append(v)
    return out


def _take(images: Iterable[np.ndarray | None], policy: EnrollPolicy) -> tuple[list[np.ndarray | None], list[str]]:
    """The first :attr:`EnrollPolicy.max_photos` of ``images``, read no further (a lazy sequence is read only that
    far), and a note of how many were left out."""
    taken = list(itertools.islice(images, policy.max_photos))
    left = len(images) - len(taken) if isinstance(images, Sized) else 0
    return taken, [f"{left} more photo(s) not read (the first {policy.max_photos} are taken)"] if left > 0 else []


def enroll(gallery: Gallery, recognizer, sku_id: str, sku: Any, images: Iterable[np.ndarray | None], *,
           policy: EnrollPolicy | None = None, occupancy: Callable[[np.ndarray], float | None] | None = None,
           crop: Callable[[np.ndarray], np.ndarray] | None = None, staff: str = "", source: str = "") -> EnrollResult:
    """Teach ``sku_id`` (``sku``: its catalog row, ``None`` when the catalog has none) from ``images`` (BGR; ``None``
    for a photo that could not be read; a list, or a lazy sequence read only as far as the first
    :attr:`EnrollPolicy.max_photos`) with ``recognizer``'s embeddings. ``crop``: what of a photo is kept and
    embedded (the tray region of a camera frame: what the recogniser sees); the photo is judged whole. Each distinct
    photo counts once (module docstring). Raises :class:`EnrollmentRefused`."""
    import cv2

    policy = policy or EnrollPolicy()
    _check_sku(sku_id, sku)
    images, notes = _take(images, policy)
    verdicts = judge(images, policy, occupancy, size=model_size(recognizer), crop=crop)
    shrunk = {v.index: _shrunk(crop(images[v.index]) if crop else images[v.index]) for v in verdicts if v.usable}
    kept = {i: cv2.imencode(".png", im)[1].tobytes() for i, im in shrunk.items()}
    verdicts = _distinct(verdicts, kept, gallery.taught(sku_id))
    new = [v for v in verdicts if v.usable]
    distinct = len(new) + sum(v.reason == "already taught" for v in verdicts)
    if distinct < policy.min_photos or not new:
        refused = _count_reasons([v for v in verdicts if not v.usable])
        why = (f"{distinct} usable photo(s) of {len(images)}, at least {policy.min_photos} needed"
               if distinct < policy.min_photos else
               f"all {distinct} usable photo(s) are taught here already, nothing new to add")
        raise EnrollmentRefused(f"{sku_id}: {why}" + (f" (refused: {refused})" if refused else "")
                                + "".join(f"; {n}" for n in notes))
    vectors = recognizer.embed([shrunk[v.index] for v in new])
    closest = _duplicates(gallery, recognizer.feature_key, sku_id, vectors, policy)
    try:
        enrollment = gallery.add(sku_id, [kept[v.index] for v in new], vectors, recognizer.feature_key, staff=staff,
                                 source=source, refused=len(verdicts) - len(new),
                                 sharpness=[v.sharpness for v in new])
    except GalleryError as exc:  # taught meanwhile, by another process
        raise EnrollmentRefused(str(exc)) from None
    log.info("enrolled %s: %d photos (%s) by %s", sku_id, enrollment.photos, source or "-", staff or "-")
    return EnrollResult(sku_id, enrollment, verdicts, closest, notes)
