"""One placement recognised: crop the frame to the tray region (:mod:`kiosk.feedback.crop`: the crop is what the
model sees and the only photo kept), save that crop, run the active model on it, keep the suggestions the catalog
sells, record the placement's feedback row, and decide whether the top-1 may be added without a tap (its score at
or above the bundle's auto-add threshold, scored by the model that still runs)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kiosk.bundle_format.preprocess import ImageTooSmall
from kiosk.feedback.crop import crop_to_tray
from kiosk.services.events import Notice
from kiosk.services.placements import Placement
from kiosk.services.views import Presenter

__all__ = ["PlacementRecogniser"]

log = logging.getLogger(__name__)


class PlacementRecogniser:
    def __init__(self, model, captures, *, find_sku: Callable[[str], Any], views: Presenter,
                 clock: Callable[[], datetime], emit: Callable[..., None], tray_region: tuple = (),
                 record: Callable[[Any], None] | None = None, outcome: Callable[[str, str], Any] | None = None
                 ) -> None:
        self.model, self.captures, self._find_sku, self._views = model, captures, find_sku, views
        self._clock, self._emit = clock, emit
        self.tray_region, self._record = tuple(tray_region), record
        self._outcome = outcome  # (placement_id, chooser): marks a placement that became no line ("unknown")
        self.recognitions = 0
        self.last_timings_ms: dict[str, float] = {}

    def _new_id(self, image) -> tuple[str, str]:
        placement_id = f"{self._clock().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        return placement_id, self.captures.save(placement_id, image)

    def _recorded(self, placement: Placement) -> Placement:
        """The placement's feedback row (store); a failure to record it never stops the checkout."""
        if self._record is not None:
            try:
                self._record(placement.provenance(""))
            except Exception:  # noqa: BLE001 - feedback is a by-product of selling, never a reason not to sell
                log.exception("cannot record feedback for placement %s", placement.placement_id)
        return placement

    def scanned(self, image, sku, scale_grams: int | None) -> Placement:
        """A placement whose barcode named its SKU: the classifier is not asked."""
        placement_id, image_path = self._new_id(crop_to_tray(image, self.tray_region))
        return self._recorded(Placement(placement_id, image_path, [self._views.suggestion(sku, 1.0)], None, None,
                                        scale_grams=scale_grams))

    def recognise(self, image, scale_grams: int | None, rerank: Callable[[list, int | None], list] | None = None
                  ) -> Placement:
        """Run the model on a placed item; ``rerank`` (the scale's second opinion) may re-order the sellable
        suggestions by ``scale_grams``. The placement keeps the model's own top-k for provenance."""
        tray = crop_to_tray(image, self.tray_region)
        placement_id, image_path = self._new_id(tray)
        result, why = self._recognize(tray)
        if result is None:
            self._emit(Notice("error", why))
            found, version = [], None
        else:
            found, version = result.suggestions, result.model_version
            self.recognitions += 1
            self.last_timings_ms = dict(result.timings_ms)
            if not getattr(result, "known", True):
                return self._not_recognised(Placement(placement_id, image_path, [], None, version,
                                                      scale_grams=scale_grams, top_k=tuple((s.sku, s.score)
                                                                                           for s in found),
                                                      not_recognised=True))
        ranked = []
        for s in found:
            sku = self._find_sku(s.sku)
            if sku is None or not sku.active:
                log.warning("recogniser suggested %r, which the catalog does not sell", s.sku)
                continue
            ranked.append((sku, s.score))
        if rerank is not None:
            ranked = rerank(ranked, scale_grams)
        views = [self._views.suggestion(sku, score) for sku, score in ranked]
        return self._recorded(Placement(placement_id, image_path, views, found[0].sku if found else None, version,
                                        scale_grams=scale_grams, top_k=tuple((s.sku, s.score) for s in found),
                                        enrolled=tuple(sorted(getattr(result, "from_gallery", ())))))

    def _recognize(self, tray) -> tuple[Any, str]:
        """The model's result for the tray photo, or ``(None, what the staff should check)``."""
        try:
            result = self.model.recognize(tray)
        except ImageTooSmall as exc:  # a camera at a thumbnail resolution, a tray region a few pixels wide
            return None, (f"the tray's picture cannot be recognised, {exc}: check the camera's resolution and the "
                          "tray region; use manual search")
        return result, "" if result is not None else "no recognition model loaded: use manual search"

    def _not_recognised(self, placement: Placement) -> Placement:
        """The model's open-set rule says the item is none the kiosk knows: no suggestion is shown (never a
        confident wrong tile); the tray photo stays, its feedback row marked ``unknown``, for staff to label."""
        self._recorded(placement)
        if self._outcome is not None:
            try:
                self._outcome(placement.placement_id, "unknown")
            except Exception:  # noqa: BLE001 - feedback is a by-product of selling, never a reason not to sell
                log.exception("cannot mark placement %s not recognised", placement.placement_id)
        log.info("placement %s not recognised (open set); photo kept: %s", placement.placement_id,
                 placement.image_path or "-")
        return placement

    def auto_add_sku(self, placement: Placement) -> str | None:
        """The top-1 when it may be added by itself: sellable, scored at or above the threshold of the model
        that still runs (a model swapped in mid-recognition never lends its threshold)."""
        rec, views = self.model.recognizer, placement.suggestions
        if rec is None or not views or views[0].sku != placement.recognised_sku or not placement.top_k:
            return None
        if views[0].sku in placement.enrolled:  # taught at this kiosk: its precision was never certified
            return None
        if getattr(rec, "model_version", None) != placement.model_version:
            return None
        image_score = placement.top_k[0][1]  # the model's own score: the threshold was set on it
        return views[0].sku if image_score >= float(getattr(rec, "auto_add_threshold", float("inf"))) else None
