"""Barcodes at the checkout: what a scanned or camera-read code means here, before any model is asked.

:meth:`ScanDesk.resolve` answers in this order (first match wins):

1. a container's tare barcode (``[weighing] tare_barcodes``) → ``tare``;
2. a GTIN the catalog lists → ``sku`` (a GS1 DataBar Expanded code carrying a weight or price → ``label``);
3. a GS1 variable-measure code of one of the store's layouts (``[[barcodes.variable]]``) → ``label`` with the
   embedded price (paise) or weight (grams) and the SKU of its item number (the catalog's PLU); a wrong embedded
   check digit → ``refused``;
4. anything else → ``unknown``: the classifier and the search take over.

Codes with a wrong GTIN check digit never get here (:func:`kiosk.barcodes.canonical_gtin` refuses them). Before
any of it, :meth:`ScanDesk.admit` applies ``[barcodes] same_code_s`` and ``max_scans_per_s`` to a USB scanner's codes
(:mod:`kiosk.barcodes.gate`): the same code again at once counts once, and a scanner sending codes faster than
anyone scans is refused, with a notice to call staff, until it is quiet.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalog.model import MAX_PRICE_PAISE
from kiosk.barcodes import BarcodeSettings, ScannedCode, lookup_forms, match_variable
from kiosk.barcodes.frames import FrameDecoder, decodable, open_decoder, scanned_code
from kiosk.barcodes.gate import ScanGate
from kiosk.domain import MAX_NET_GRAMS
from kiosk.domain.money import format_inr
from kiosk.services.events import Notice
from kiosk.weighing import WeighingRules

__all__ = ["ScanDesk", "ScanOutcome"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOutcome:
    kind: str  # "sku" | "label" | "tare" | "unknown" | "refused"
    code: ScannedCode
    sku: Any = None
    grams: int | None = None  # a label's net weight
    price: int | None = None  # a label's price in paise
    container: str = ""
    message: str = ""

    @property
    def sells(self) -> bool:
        return self.kind in ("sku", "label")


class ScanDesk:
    """``shelf``: the checkout's :class:`~kiosk.services.shelf.Shelf` (its catalog, under its lock)."""

    def __init__(self, settings: BarcodeSettings, rules: WeighingRules, shelf: Any,
                 decoder: Callable[[], FrameDecoder] | None = open_decoder,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.rules, self._shelf = settings, rules, shelf
        self.gate = ScanGate(settings.same_code_s, settings.max_scans_per_s, clock=clock)
        self._make_decoder = decoder if settings.camera_frames else None
        self._decoder: FrameDecoder | None = None
        self.last_decode_ms = 0.0
        self.frames_decoded = 0
        #: frames converted before decoding (BGRA, float, 16-bit …) and frames the decoder could not read
        self.frames_converted = self.frames_skipped = 0
        self._told: set[str] = set()

    def decode(self, image: Any) -> list[ScannedCode]:
        """The codes in one camera frame (none when camera barcodes are off). Never raises; a frame it cannot read
        is skipped and counted (each kind of problem logged once), and the next frame is decoded as ever."""
        if self._make_decoder is None or image is None:
            return []
        start = time.perf_counter()
        if self._decoder is None:
            try:
                self._decoder = self._make_decoder()
            except Exception:  # zxing-cpp or OpenCV missing or broken: no frame will ever be read
                log.exception("camera barcodes are off: the barcode decoder cannot start")
                self._make_decoder = None
                return []
        codes: list[ScannedCode] = []
        frame, problem = decodable(image)
        if frame is None:
            self._skipped(problem)
        else:
            if problem:
                self.frames_converted += 1
                self._once(logging.INFO, problem, f"camera frames for barcodes {problem} (counted in "
                                                  "frames_converted)")
            try:
                codes = self._decoder.decode(frame)
            except Exception as exc:  # a decoder fault must not cost the placement its recognition
                self._skipped(f"the decoder failed on it: {type(exc).__name__}: {exc}", exc_info=True)
        self.last_decode_ms = (time.perf_counter() - start) * 1000.0
        self.frames_decoded += 1
        return codes

    def _skipped(self, why: str, exc_info: bool = False) -> None:
        self.frames_skipped += 1
        self._once(logging.WARNING, why, f"a camera frame skipped for barcodes: {why} (the next are read as ever; "
                                         f"{self.frames_skipped} skipped so far, counted in frames_skipped)", exc_info)

    def _once(self, level: int, kind: str, message: str, exc_info: bool = False) -> None:
        """Log ``message`` the first time its ``kind`` comes (numbers aside: a frame's shape), later ones at debug."""
        kind = re.sub(r"[0-9]+", "#", kind)[:120]
        if kind in self._told or len(self._told) >= 50:
            log.debug(message)
            return
        self._told.add(kind)
        log.log(level, message, exc_info=exc_info)

    def admit(self, text: str, source: str = "scanner") -> tuple[bool, list[Notice]]:
        """Whether a scanner's code counts (not the same code again at once, not a flood), and what to tell."""
        admission = self.gate.admit(text)
        if admission.why == "flood":  # logged by the gate
            return False, [Notice("warning", "the barcode scanner sends codes faster than anyone scans: scanning is "
                                             "paused, please call staff")]
        if admission.resumed:
            return True, [Notice("info", "the barcode scanner is read again")]
        return admission.taken, []

    @staticmethod
    def read_text(text: str, source: str = "scanner") -> ScannedCode | None:
        """A scanner's line as a code, or ``None`` (bad check digit, not a GTIN): ignored, never guessed."""
        return scanned_code(text, "", source)

    def _find(self, gtin: str):
        with self._shelf.lock:
            for form in lookup_forms(gtin):
                sku = self._shelf.catalog.by_barcode(form)
                if sku is not None:
                    return sku
        return None

    def _by_plu(self, plu: str):
        with self._shelf.lock:
            return self._shelf.catalog.by_plu(plu)

    def resolve(self, code: ScannedCode) -> ScanOutcome:
        container = self.rules.tare_barcodes.get(code.gtin)
        if container is not None:
            return ScanOutcome("tare", code, container=container)
        sku = self._find(code.gtin)
        if sku is not None:
            if not sku.active:
                return ScanOutcome("refused", code, sku, message=f"{sku.name} is not on sale")
            if code.net_grams is not None or code.price_paise is not None:
                return self._label(code, sku, code.net_grams, code.price_paise)
            return ScanOutcome("sku", code, sku)
        claimed, label = match_variable(code.gtin, self.settings.variable)
        if not claimed:
            return ScanOutcome("unknown", code, message=f"barcode {code.gtin} is not in the catalog")
        if label is None:
            return ScanOutcome("refused", code, message=f"label {code.gtin}: its price/weight check digit is wrong")
        sku = self._by_plu(label.item)
        if sku is None or not sku.active:
            return ScanOutcome("unknown", code, message=f"label {code.gtin}: item {label.item} is not on sale here")
        if label.kind == "weight":
            return self._label(code, sku, label.value, None)
        return self._label(code, sku, None, label.value)

    @staticmethod
    def _label(code: ScannedCode, sku: Any, grams: int | None, price: int | None) -> ScanOutcome:
        if grams is not None and not sku.by_weight:
            return ScanOutcome("refused", code, sku, message=f"label {code.gtin}: {sku.name} is not sold by weight")
        if (grams is not None and grams <= 0) or (price is not None and price <= 0):
            return ScanOutcome("refused", code, sku, message=f"label {code.gtin}: no weight or price on it")
        if grams is not None and grams > MAX_NET_GRAMS:
            return ScanOutcome("refused", code, sku, message=f"label {code.gtin}: {grams} g is more than the "
                                                             f"{MAX_NET_GRAMS // 1000} kg one line can weigh")
        if price is not None and price > MAX_PRICE_PAISE:
            return ScanOutcome("refused", code, sku, message=f"label {code.gtin}: its price {format_inr(price)} is "
                                                             f"above {format_inr(MAX_PRICE_PAISE)}, a misprint")
        return ScanOutcome("label", code, sku, grams=grams, price=price)
