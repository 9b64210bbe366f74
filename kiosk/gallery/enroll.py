"""Teaching the kiosk a product from a few photos: each photo judged (sharp enough, not the empty tray), the SKU
checked against the catalog, the photos embedded by the running model and checked against the other enrolled SKUs,
then stored as one enrollment (:class:`~kiosk.gallery.store.Gallery`).

Refused, each with one line that says why (:class:`EnrollmentRefused`): a SKU the catalog does not have, one that is
not on sale, fewer than :attr:`EnrollPolicy.min_photos` distinct usable photos (how many were blurred, showed the
empty tray, could not be read or repeated another), photos all taught already, and photos that are near-duplicates
of another enrolled SKU's (the same product taught under two ids, or the wrong item on the tray).

A photo is counted once: a repeat of another (the same photo at any size or encoding, an unchanged camera frame:
:func:`same_photo`, the 32 x 32 pictures within a mean 2 of 255; the onboarding world's distinct photos differ by
3.7 from the tray's noise alone) is refused as "duplicate", and one an active enrollment of the SKU holds already as
"already taught" — it still counts towards the minimum (the SKU has it), but is not stored again. Only the first
:attr:`EnrollPolicy.max_photos` photos are read; how many more there were is said.

Each photo is then judged as the till would judge it (the trained head and the gallery fused, every taught photo in
this model's space): one the till already takes for another product (:attr:`EnrollPolicy.other_product`, measured:
README Hardening) or a near-duplicate of another SKU's taught photo is refused by itself and named ("photo 3, 5 look
like Banana (trained, 1.00)"), and the enrollment when fewer than the minimum are left; one it may take for another
product (:attr:`EnrollPolicy.other_product_note`) is taught with a word saying so. A photo that shows only a bare
surface (:func:`content`) is the empty tray, whatever its size and whether a tray was ever learnt.

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
from collections.abc import Callable, Collection, Iterable, Sized
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.errors import UserError
from kiosk.gallery.store import AlreadyTaught, Enrollment, Gallery, GalleryError

__all__ = ["EnrollPolicy", "EnrollResult", "EnrollmentRefused", "PhotoVerdict", "content", "enroll", "fingerprint",
           "judge", "same_photo", "sharpness"]

log = logging.getLogger(__name__)
#: longest side a photo is kept at (the model sees 224-288 px; a phone photo need not be stored at 4000 px)
MAX_SIDE = 640


class EnrollmentRefused(UserError):
    """An enrollment that would teach the kiosk something wrong or unusable (one line: which SKU and why);
    ``looks_like``: the SKUs the till took photos for ("another product"), which staff may confirm it is not;
    ``photos``: for too few usable photos, the counts (``usable``, ``total``, ``needed``, ``refused`` by reason,
    ``all_taught``), for a screen to say in its own words."""

    def __init__(self, message: str, looks_like: tuple[str, ...] = (), photos: dict | None = None) -> None:
        super().__init__(message)
        self.looks_like, self.photos = looks_like, photos


@dataclass(frozen=True)
class EnrollPolicy:
    min_photos: int = 5  # usable photos an enrollment needs
    max_photos: int = 30  # photos taken at most (the first ones)
    min_sharpness: float = 25.0  # variance of the Laplacian at 256 px (module docstring)
    empty_fraction: float = 0.02  # share of the tray that must differ from the empty tray (the trigger's own)
    duplicate_similarity: float = 0.95  # cosine from which a photo is a near-duplicate of another SKU's
    #: the till's fused probability (head + gallery) from which a photo already shows another product (refused);
    #: measured (README Hardening): the lowest at which every held-out SKU of the onboarding protocol still enrolls
    other_product: float = 0.997
    other_product_note: float = 0.5  # from here (below other_product) a photo is taught, with a word to check it
    min_content: float = 6.0  # colour std at 24 px below which a photo is a bare surface (an empty tray)
    same_photo: float = 2.0  # mean difference (0-255) at 32x32 below which two photos are one (any size)


@dataclass(frozen=True)
class PhotoVerdict:
    index: int
    usable: bool
    #: "" | "blurred" | "empty tray" | "unreadable" | "too small" | "duplicate" | "already taught" | "another product"
    reason: str = ""
    sharpness: float = 0.0
    occupancy: float | None = None
    same_as: int | None = None  # a duplicate: the index of the photo it repeats
    like: tuple[str, str, float] | None = None  # "another product": (its SKU, "trained" | "taught", how sure)


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


def _reason_counts(verdicts: list[PhotoVerdict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.reason] = counts.get(v.reason, 0) + 1
    return counts


def _count_reasons(verdicts: list[PhotoVerdict]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in sorted(_reason_counts(verdicts).items()))


def sharpness(image_bgr: np.ndarray) -> float:
    """Variance of the Laplacian of the grey photo shrunk to 256 px on its shorter side."""
    import cv2

    h, w = image_bgr.shape[:2]
    scale = 256 / max(1, min(h, w))
    small = cv2.resize(image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def content(image_bgr: np.ndarray) -> float:
    """How much a photo shows beyond a bare surface: the largest colour channel's standard deviation over the photo
    shrunk to 24 x 24 (sensor noise averages out; any size, any camera). The onboarding world's empty trays 1.9-2.6,
    its products 29 at the least."""
    import cv2

    small = cv2.resize(image_bgr, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(small.reshape(-1, small.shape[2] if small.ndim == 3 else 1).std(axis=0).max())


def fingerprint(image_bgr: np.ndarray) -> np.ndarray:
    """A photo at 32 x 32 (colour, float): the same photo at any size or encoding gives nearly the same one."""
    import cv2

    return cv2.resize(image_bgr, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def same_photo(a: np.ndarray, b: np.ndarray, policy: EnrollPolicy) -> bool:
    """Two :func:`fingerprint` s of one photo (a copy, another size, an unchanged camera frame)."""
    return a.shape == b.shape and float(np.abs(a - b).mean()) < policy.same_photo


def judge(images: list[np.ndarray | None], policy: EnrollPolicy,
          occupancy: Callable[[np.ndarray], float | None] | None = None, *, size: int = 0,
          crop: Callable[[np.ndarray], np.ndarray] | None = None) -> list[PhotoVerdict]:
    """A verdict per photo: unreadable (``None``), too small for the model's ``size`` px once cropped (``crop``: the
    part the recogniser sees), the empty tray (``occupancy``: share of the tray that differs from the empty tray,
    ``None`` when unknown; and, whatever the camera, a photo that shows only a bare surface: :func:`content`),
    blurred, or usable."""
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
        if (occ is not None and occ < policy.empty_fraction) or content(seen) < policy.min_content:
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


def _others(gallery: Gallery, recognizer, sku_id: str, images: list[np.ndarray], policy: EnrollPolicy,
            different_from: Collection[str] = ()) -> tuple[np.ndarray, list, list, tuple[str, float] | None]:
    """Each photo judged as the till would (the head and the gallery fused, :meth:`GalleryFusion.decide`): the
    embeddings, per photo the other product it already shows (``(sku, "trained" | "taught", probability)``, or a
    near-duplicate of another SKU's taught photo: ``(sku, "taught", cosine)``) or None, per photo the other product
    it may show (:attr:`EnrollPolicy.other_product_note` and above: a word to staff) or None, and the most similar other
    taught SKU with its mean best cosine (for the summary). Every taught photo is compared in this model's space
    (:meth:`Gallery.snapshot` re-embeds those stored under another backbone). A product staff confirmed this one is
    not (``different_from``) is only a word, however sure the till is; a near-duplicate photo is refused still."""
    logits, vectors = recognizer.forward(images)
    snap = gallery.snapshot(recognizer.feature_key, recognizer.embed)
    recognizer.attach_gallery(gallery)
    fusion = recognizer.fusion
    like: list[tuple[str, str, float] | None] = []
    maybe: list[tuple[str, str, float] | None] = []
    for z, e in zip(logits, vectors):
        d = fusion.decide(z, e)
        top = int(np.argmax(d.probabilities))
        label, p = d.labels[top], float(d.probabilities[top])
        seen = (label, "taught" if d.from_gallery[top] else "trained", p) if label != sku_id else None
        confirmed = seen is not None and seen[0] in different_from
        like.append(seen if seen is not None and p >= policy.other_product and not confirmed else None)
        maybe.append(seen if seen is not None and policy.other_product_note <= p and like[-1] is None else None)
    closest = None
    rows = np.asarray([snap.skus[o] != sku_id for o in snap.owner], bool)
    if rows.any():
        from kiosk.bundle_format.openset import l2_normalise

        sims = l2_normalise(vectors) @ snap.vectors[rows].T
        owners = np.asarray([snap.skus[o] for o in snap.owner[rows]])
        best, best_sim = owners[sims.argmax(axis=1)], sims.max(axis=1)
        for i, (other, sim) in enumerate(zip(best.tolist(), best_sim.tolist())):
            if like[i] is None and sim >= policy.duplicate_similarity:
                like[i] = (other, "taught", sim)
        top = max(set(best.tolist()), key=lambda o: best_sim[best == o].mean())
        closest = (top, float(best_sim[best == top].mean()))
    return vectors, like, maybe, closest


def _looks_like(verdicts: list[PhotoVerdict], name_of: Callable[[str], str]) -> str:
    """"photo 3, 5 look like Banana (trained, 0.99)" for the photos refused as another product, by product."""
    return _like_text([(v.index, v.like) for v in verdicts if v.reason == "another product"], name_of)


def _like_text(photos: list[tuple[int, tuple[str, str, float] | None]], name_of: Callable[[str], str]) -> str:
    by: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for index, like in photos:
        if like is not None:
            by.setdefault(like[:2], []).append((index, like[2]))
    return "; ".join(f"photo {', '.join(str(i + 1) for i, _ in ps)} look{'s' if len(ps) == 1 else ''} like "
                     f"{name_of(sku)} ({how}, {max(p for _, p in ps):.2f})" for (sku, how), ps in by.items())


def _distinct(verdicts: list[PhotoVerdict], kept: dict[int, bytes], shrunk: dict[int, np.ndarray],
              taught: set[str], policy: EnrollPolicy) -> list[PhotoVerdict]:
    """``verdicts`` with each usable photo that repeats an earlier one (:func:`same_photo`: a copy, the same photo at
    another size, an unchanged camera frame) refused as "duplicate", and one ``taught`` holds (sha256 of its stored
    bytes ``kept``) as "already taught"."""
    first: list[tuple[int, np.ndarray]] = []
    out = []
    for v in verdicts:
        if v.usable:
            mark = fingerprint(shrunk[v.index])
            same = next((i for i, f in first if same_photo(mark, f, policy)), None)
            if same is not None:
                v = dataclasses.replace(v, usable=False, reason="duplicate", same_as=same)
            else:
                first.append((v.index, mark))
                if hashlib.sha256(kept[v.index]).hexdigest() in taught:
                    v = dataclasses.replace(v, usable=False, reason="already taught")
        out.append(v)
    return out


def _take(images: Iterable[np.ndarray | None], policy: EnrollPolicy) -> tuple[list[np.ndarray | None], list[str]]:
    """The first :attr:`EnrollPolicy.max_photos` of ``images``, read no further (a lazy sequence is read only that
    far), and a note of how many were left out."""
    taken = list(itertools.islice(images, policy.max_photos))
    left = len(images) - len(taken) if isinstance(images, Sized) else 0
    return taken, [f"{left} more photo(s) not read (the first {policy.max_photos} are taken)"] if left > 0 else []


def _enough(sku_id: str, verdicts: list[PhotoVerdict], total: int, policy: EnrollPolicy, notes: list[str],
            name_of: Callable[[str], str]) -> list[PhotoVerdict]:
    """The usable photos, or :class:`EnrollmentRefused` when fewer than the minimum distinct ones are left."""
    new = [v for v in verdicts if v.usable]
    distinct = len(new) + sum(v.reason == "already taught" for v in verdicts)
    if distinct >= policy.min_photos and new:
        return new
    refused = _count_reasons([v for v in verdicts if not v.usable])
    why = (f"{distinct} usable photo(s) of {total}, at least {policy.min_photos} needed"
           if distinct < policy.min_photos else
           f"all {distinct} usable photo(s) are taught here already, nothing new to add")
    like = _looks_like(verdicts, name_of)
    skus = tuple(dict.fromkeys(v.like[0] for v in verdicts if v.reason == "another product" and v.like))
    photos = {"usable": distinct, "total": total, "needed": policy.min_photos,
              "refused": _reason_counts([v for v in verdicts if not v.usable]),
              "all_taught": distinct >= policy.min_photos}
    raise EnrollmentRefused(f"{sku_id}: {why}" + (f" (refused: {refused})" if refused else "")
                            + (f"; {like}" if like else "") + "".join(f"; {n}" for n in notes), skus, photos)


def enroll(gallery: Gallery, recognizer, sku_id: str, sku: Any, images: Iterable[np.ndarray | None], *,
           policy: EnrollPolicy | None = None, occupancy: Callable[[np.ndarray], float | None] | None = None,
           crop: Callable[[np.ndarray], np.ndarray] | None = None, staff: str = "", source: str = "",
           name_of: Callable[[str], str] | None = None, different_from: Collection[str] = (),
           before_commit: Callable[[int, int, int], None] | None = None) -> EnrollResult:
    """Teach ``sku_id`` (``sku``: its catalog row, ``None`` when the catalog has none) from ``images`` (BGR; ``None``
    for a photo that could not be read; a list, or a lazy sequence read only as far as the first
    :attr:`EnrollPolicy.max_photos`) with ``recognizer``'s embeddings. ``crop``: what of a photo is kept and
    embedded (the tray region of a camera frame: what the recogniser sees); the photo is judged whole. Each distinct
    photo counts once (module docstring). A photo the till already recognises as another product (or a
    near-duplicate of another SKU's taught photo) is refused as "another product", named (``name_of``: a SKU's name
    for the staff), unless staff confirmed the item is a different product from that one (``different_from``: SKU
    ids; a new pack of a trained product looks like it to the till). ``before_commit``: see :meth:`Gallery.add` (the
    kiosk's audit row, in the enrollment's transaction). Raises :class:`EnrollmentRefused`."""
    import cv2

    policy = policy or EnrollPolicy()
    name_of = name_of or str
    _check_sku(sku_id, sku)
    images, notes = _take(images, policy)
    verdicts = judge(images, policy, occupancy, size=model_size(recognizer), crop=crop)
    shrunk = {v.index: _shrunk(crop(images[v.index]) if crop else images[v.index]) for v in verdicts if v.usable}
    kept = {i: cv2.imencode(".png", im)[1].tobytes() for i, im in shrunk.items()}
    verdicts = _distinct(verdicts, kept, shrunk, gallery.taught(sku_id), policy)
    new = _enough(sku_id, verdicts, len(images), policy, notes, name_of)
    vectors, like, maybe, closest = _others(gallery, recognizer, sku_id, [shrunk[v.index] for v in new], policy,
                                            different_from)
    hint = _like_text([(v.index, m) for v, m in zip(new, maybe)], name_of)
    if any(like):
        refuse = {v.index: w for v, w in zip(new, like) if w is not None}
        verdicts = [dataclasses.replace(v, usable=False, reason="another product", like=refuse[v.index])
                    if v.index in refuse else v for v in verdicts]
        vectors = vectors[[w is None for w in like]]
        new = _enough(sku_id, verdicts, len(images), policy, notes, name_of)
        notes = [*notes, f"{_looks_like(verdicts, name_of)}: not taught"]
    if hint:
        notes = [*notes, f"{hint}: taught; if it is that product, withdraw it (sku forget {sku_id})"]
    try:
        enrollment = gallery.add(sku_id, [kept[v.index] for v in new], vectors, recognizer.feature_key, staff=staff,
                                 source=source, refused=len(verdicts) - len(new),
                                 sharpness=[v.sharpness for v in new], before_commit=before_commit)
    except AlreadyTaught as exc:  # taught meanwhile, by another process: counted like the check above
        raise EnrollmentRefused(str(exc), photos={"usable": exc.photos, "total": len(images),
                                                  "needed": policy.min_photos, "refused": {},
                                                  "all_taught": True}) from None
    except GalleryError as exc:
        raise EnrollmentRefused(str(exc)) from None
    log.info("enrolled %s: %d photos (%s) by %s", sku_id, enrollment.photos, source or "-", staff or "-")
    return EnrollResult(sku_id, enrollment, verdicts, closest, notes)
