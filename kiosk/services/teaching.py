"""Teaching the kiosk a new product (staff, behind the PIN): the gallery the recogniser fuses with the trained model.

* :meth:`TeachDesk.check_frame`: is this camera frame a usable teaching photo (sharp, not the empty tray the trigger
  learnt)? The Teach screen counts the good ones live;
* :meth:`TeachDesk.create_sku`: the product's catalog row (name, price, sold by unit or weight, GST, HSN) when the
  catalog has none, through the catalog repository, with its own checks;
* :meth:`TeachDesk.teach`: enroll the SKU from the frames (:func:`kiosk.gallery.enroll`, every refusal one line); the
  gallery's revision changes, so the very next placement is recognised with it, no restart;
* :meth:`TeachDesk.attach`: every recogniser the kiosk runs (at start, after an update) gets the gallery; a new
  backbone re-embeds the stored photos once (in the loader's thread, before the swap, where the loader attached it).

The gallery is optional (``config.gallery`` empty): then teaching is refused with one line and nothing else changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice

__all__ = ["LookAlike", "PhotosRefused", "TeachDesk", "attach_gallery", "open_gallery", "unused_gallery"]

log = logging.getLogger(__name__)


def open_gallery(path: str):
    """The gallery at ``path`` (``kiosk.gallery.Gallery``), or ``None`` when no gallery is configured, or when it
    cannot be used (not a database, a newer schema, unwritable): one line naming the file, and the kiosk sells
    without it (the trained model alone; teaching refused) rather than not at all."""
    if not str(path).strip():
        return None
    from kiosk.gallery import Gallery, GalleryError

    try:
        return Gallery.open(path)
    except GalleryError as exc:
        log.warning("gallery: %s; the kiosk sells without its gallery (taught products not suggested, teaching off)",
                    exc)
        return None


def unused_gallery(recognizer, gallery) -> Notice | None:
    """The warning when ``gallery`` holds taught products that ``recognizer``'s model cannot suggest (a bundle without
    gallery fusion, e.g. an older one after a rollback: they vanished without a word), else ``None``."""
    fusion = getattr(recognizer, "fusion", None)
    if gallery is None or fusion is None or getattr(fusion, "can_fuse", True):
        return None
    try:
        if not gallery.enrolled_skus():
            return None
    except Exception:  # noqa: BLE001 - a gallery that cannot be read is said where it is opened
        return None
    version = getattr(recognizer, "model_version", "?")
    return Notice("warning", f"taught products are not suggested by model v{version}: it has no gallery fusion; "
                             "teach them again under a newer model or roll forward")


def attach_gallery(recognizer, gallery) -> None:
    """Give a newly loaded recogniser the gallery and embed the stored photos for it now (a new backbone re-embeds
    them here, in the loader's thread, not at the first placement after the swap); a model that cannot use the
    gallery is said once in the log (:func:`unused_gallery`)."""
    if recognizer is None or gallery is None or not hasattr(recognizer, "attach_gallery"):
        return
    recognizer.attach_gallery(gallery)
    unused = unused_gallery(recognizer, gallery)
    if unused is not None:
        log.warning("gallery: %s (taught: %s)", unused.message, ", ".join(gallery.enrolled_skus()[:10]))
        return
    try:
        recognizer.fusion.gallery()
    except Exception:  # noqa: BLE001 - a gallery that cannot be embedded must not keep a model from loading
        log.exception("gallery: cannot embed the stored photos for model v%s", getattr(recognizer, "model_version",
                                                                                        "?"))


class LookAlike(CheckoutError):
    """Teaching refused because the till takes the photos for other products (``looks_like``: their SKU ids,
    ``names``: their names); staff who know it is a different product teach it again with ``different_from``."""

    def __init__(self, message: str, looks_like: tuple[str, ...], names: tuple[str, ...]) -> None:
        super().__init__(message)
        self.looks_like, self.names = looks_like, names


class PhotosRefused(CheckoutError):
    """Teaching refused for too few usable photos (or none new): ``photos``, the counts
    (:class:`kiosk.gallery.EnrollmentRefused`), for the Teach page to say in the staff member's language."""

    def __init__(self, message: str, photos: dict) -> None:
        super().__init__(message)
        self.photos = photos


class TeachDesk:
    """``model``: the kiosk's :class:`~kiosk.bundles.active.ActiveModel` (the gallery is attached to its recogniser
    now and after every swap); ``occupancy``: the trigger's share of a frame that is not the empty tray;
    ``tray_region``: the part of a frame the recogniser sees (:mod:`kiosk.feedback.crop`), so what is kept and
    embedded of a teaching frame; ``audit``: the kiosk's audit log (``SalesStore.audit``), where each catalog row
    made, product taught and enrollment withdrawn is written with who did it (``staff.catalog_add``,
    ``staff.teach``, ``staff.teach_withdrawn``), like every other staff action -- committed inside the catalog's or
    the gallery's own transaction, as its last step: a row that cannot be written rolls the change back, and a
    change is never without its row (only a stop during that file's very commit leaves a row without it)."""

    def __init__(self, *, gallery, model, shelf, require_staff: Callable[[], str], emit: Callable[..., None],
                 occupancy: Callable[[np.ndarray], float | None] | None = None, tray_region: tuple = (),
                 policy=None, audit: Callable[..., Any] | None = None) -> None:
        from kiosk.gallery import EnrollPolicy

        self.gallery, self._model, self._shelf = gallery, model, shelf
        self._require, self._emit, self._occupancy = require_staff, emit, occupancy
        self._audit = audit or (lambda *a, **k: None)
        self.tray_region = tuple(tray_region)
        self.policy = policy or EnrollPolicy()
        self._lock = threading.Lock()  # one enrollment at a time
        self.attach(model.recognizer)  # the first model's warning is a startup notice (kiosk.services.wiring)
        self._unsubscribe = model.subscribe(self._swapped) if gallery is not None else (lambda: None)

    def close(self) -> None:
        self._unsubscribe()
        if self.gallery is not None:
            self.gallery.close()

    # -- the recogniser ----------------------------------------------------------------------------------------------
    def attach(self, recognizer) -> None:
        """Give ``recognizer`` the gallery (a recogniser without embeddings ignores it)."""
        if recognizer is not None and self.gallery is not None and hasattr(recognizer, "attach_gallery"):
            recognizer.attach_gallery(self.gallery)

    def _swapped(self, recognizer) -> None:
        """A model swapped in (update, rollback): attach the gallery, and tell staff (once a swap) when it cannot use
        it."""
        self.attach(recognizer)
        unused = unused_gallery(recognizer, self.gallery)
        if unused is not None:
            self._emit(unused)

    @property
    def available(self) -> str | None:
        """Why teaching is not possible now (``None``: it is)."""
        if self.gallery is None:
            return "no gallery is configured (gallery in the kiosk settings)"
        rec = self._model.recognizer
        if rec is None:
            return "no recognition model is loaded"
        fusion = getattr(rec, "fusion", None)
        if fusion is None or not fusion.can_fuse:
            return (f"model v{getattr(rec, 'model_version', '?')} exports no embeddings: a bundle exported by this "
                    "version of the trainer is needed to teach products")
        return None

    # -- the Teach screen ------------------------------------------------------------------------------------------
    def lookup(self, sku_id: str) -> tuple[str, bool]:
        """One line about ``sku_id`` for the screen, and whether the catalog has it."""
        from kiosk.services.views import price_text

        sku = self._shelf.find(sku_id) if sku_id else None
        if sku is None:
            return f"{sku_id} is not in the catalog: add its row below first", False
        taught = " — taught here already (more photos add to it)" if sku_id in self.enrolled() else ""
        if not sku.active:
            return f"{sku.name}, {price_text(sku)} — not on sale (inactive): it cannot be taught", True
        return f"{sku.name}, {price_text(sku)}{taught}", True

    def check_frame(self, image: np.ndarray):
        """A :class:`kiosk.gallery.PhotoVerdict` for one camera frame."""
        from kiosk.gallery import judge
        from kiosk.gallery.enroll import model_size

        return judge([image], self.policy, self._occupancy, size=model_size(self._model.recognizer),
                     crop=self._crop)[0]

    def fingerprint(self, image: np.ndarray) -> np.ndarray:
        """What Teach tells one photo from another by (:func:`kiosk.gallery.enroll.fingerprint` of the part kept)."""
        from kiosk.gallery.enroll import fingerprint

        return fingerprint(self._crop(image))

    def same_photo(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Two :meth:`fingerprint` s of one photo: Teach would refuse the second as "duplicate"."""
        from kiosk.gallery.enroll import same_photo

        return same_photo(a, b, self.policy)

    def _name(self, sku_id: str) -> str:
        sku = self._shelf.find(sku_id)
        return sku.name if sku is not None else sku_id

    def create_sku(self, fields: dict[str, str]) -> str:
        """Create a catalog row from the screen's ``fields`` (sku, name, price_paise, sold_by, gst_percent, hsn,
        group); refused when the SKU exists or a field is wrong (every problem in one line)."""
        from catalog.model import parse_sku_fields

        who = self._require()
        fields = {k: str(v).strip() for k, v in fields.items()}
        fields.setdefault("group", "new products")
        fields["group"] = fields["group"] or "new products"
        sku_id = fields.get("sku", "")
        if self._shelf.find(sku_id) is not None:
            raise CheckoutError(f"SKU {sku_id!r} is already in the catalog")
        sku, errors = parse_sku_fields(fields)
        if errors:
            raise CheckoutError(f"new product {sku_id or '?'}: " + "; ".join(str(e) for e in errors))
        def audited() -> None:  # the row, committed inside the catalog's transaction: never a row-less change
            self._audit("staff.catalog_add", who, sku=sku.sku, name=sku.name, price_paise=sku.price_paise,
                        sold_by=sku.sold_by, gst_bp=sku.gst_bp, hsn=sku.hsn, group=sku.group)

        with self._shelf.lock:
            self._shelf.catalog.upsert(sku, before_commit=audited)
        log.info("catalog: %s (%s) created by %s at the kiosk", sku.sku, sku.name, who)
        self._emit(Notice("info", f"{sku.name} added to the catalog"))
        return sku.sku

    def _crop(self, image: np.ndarray) -> np.ndarray:
        from kiosk.feedback.crop import crop_to_tray

        return crop_to_tray(image, self.tray_region)

    def teach(self, sku_id: str, frames: list[np.ndarray], different_from: tuple[str, ...] = ()) -> Any:
        """Enroll ``sku_id`` from ``frames`` (staff only); returns the :class:`kiosk.gallery.EnrollResult`.
        ``different_from``: products staff confirmed this one is not, though the till takes it for them (a new pack
        of a trained product); refused as looking like others: :class:`LookAlike`, naming them."""
        from kiosk.gallery import EnrollmentRefused, enroll

        who = self._require()
        why = self.available
        if why is not None:
            raise CheckoutError(f"cannot teach {sku_id}: {why}")
        def audited(enrollment: int, photos: int, refused: int) -> None:  # inside the gallery's transaction
            self._audit("staff.teach", who, sku=sku_id, photos=photos, refused=refused, enrollment=enrollment,
                        **({"different_from": list(different_from)} if different_from else {}))

        with self._lock:
            try:
                result = self._model.with_recognizer(
                    lambda rec: enroll(self.gallery, rec, sku_id, self._shelf.find(sku_id), frames,
                                       policy=self.policy, occupancy=self._occupancy, crop=self._crop, staff=who,
                                       source="staff screen", name_of=self._name, different_from=different_from,
                                       before_commit=audited))
            except EnrollmentRefused as exc:
                if exc.looks_like:
                    raise LookAlike(str(exc), exc.looks_like, tuple(map(self._name, exc.looks_like))) from None
                if exc.photos:
                    raise PhotosRefused(str(exc), exc.photos) from None
                raise CheckoutError(str(exc)) from None
        self._emit(Notice("info", f"taught {result.summary()}: suggested from the next placement"))
        return result

    def forget(self, sku_id: str) -> int:
        """Stop suggesting ``sku_id`` from the gallery (staff only)."""
        who = self._require()
        if self.gallery is None:
            raise CheckoutError("no gallery is configured (gallery in the kiosk settings)")
        n = self.gallery.withdraw(sku_id, before_commit=lambda n: self._audit("staff.teach_withdrawn", who, sku=sku_id,
                                                                              enrollments=n))  # in its transaction
        self._emit(Notice("info", f"{sku_id}: {n} enrollment(s) withdrawn"))
        return n

    def enrolled(self) -> list[str]:
        return self.gallery.enrolled_skus() if self.gallery is not None else []

    def tray_learnt(self, image: np.ndarray) -> None:
        """The trigger learnt the empty tray: keep it beside the gallery (``checkout sku enroll`` refuses empty
        photos with it)."""
        if self.gallery is not None:
            try:
                self.gallery.save_empty_tray(image)
            except OSError as exc:
                log.warning("gallery: cannot keep the empty tray: %s", exc)
