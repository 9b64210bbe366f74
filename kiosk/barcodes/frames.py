"""Barcodes in camera frames: the frame of each placed item is searched for retail codes.

Two decoders share one shape (``decode(image) -> list[ScannedCode]``, BGR or grey uint8 in):

* :class:`ZxingDecoder` — zxing-cpp (``pip install zxing-cpp``): EAN-13, EAN-8, UPC-A, UPC-E and GS1 DataBar
  (omnidirectional, limited, expanded), any rotation. The kiosk's decoder: it measured better here (README,
  "Libraries and why": ``checkout bench barcodes``).
* :class:`OpenCvDecoder` — OpenCV's ``cv2.barcode.BarcodeDetector`` (EAN-13/EAN-8/UPC-A/UPC-E only), kept for
  that comparison.

Every decoded text goes through :func:`~kiosk.barcodes.gtin.canonical_gtin` (check digit verified again, never
corrected); DataBar's GS1 element strings give their (01) GTIN and, for DataBar Expanded, the (310n) net weight
or (392n) price.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from kiosk.barcodes.gtin import ScannedCode, canonical_gtin

__all__ = ["DECODERS", "FrameDecoder", "OpenCvDecoder", "ZxingDecoder", "open_decoder", "parse_gs1_elements",
           "scanned_code"]

log = logging.getLogger(__name__)

_AI = re.compile(r"\((\d{2,4})\)([^()]*)")


@dataclass(frozen=True)
class Gs1Elements:
    gtin: str | None
    net_grams: int | None = None
    price_paise: int | None = None


def parse_gs1_elements(text: str) -> Gs1Elements | None:
    """``'(01)00012345678905(3103)000548'`` → GTIN, 548 g; ``None`` when it is not an element string with a GTIN.

    (310n) is net kg with n decimals, (392n) a price in the local currency with n decimals (rupees → paise)."""
    pairs = _AI.findall(text or "")
    if not pairs or "".join(f"({a}){v}" for a, v in pairs) != text:
        return None
    fields = dict(pairs)
    gtin = canonical_gtin(fields.get("01", ""))
    if gtin is None:
        return None
    grams = price = None
    for ai, value in fields.items():
        if re.fullmatch(r"310[0-5]", ai) and re.fullmatch(r"\d{6}", value):
            grams = _scaled(int(value), int(ai[3]), 1000)
        elif re.fullmatch(r"392[0-3]", ai) and re.fullmatch(r"\d{1,15}", value):
            price = _scaled(int(value), int(ai[3]), 100)
    return Gs1Elements(gtin, grams, price)


def _scaled(value: int, decimals: int, per_unit: int) -> int:
    """``value × 10^-decimals`` units → whole sub-units (grams, paise), rounded half up in integers."""
    num, den = value * per_unit, 10**decimals
    return (2 * num + den) // (2 * den)


def scanned_code(text: str, symbology: str = "", source: str = "") -> ScannedCode | None:
    """A decoded text (digits, or a GS1 element string in brackets) as a :class:`ScannedCode`, or ``None`` when it
    holds no GTIN with a right check digit."""
    text = text.strip() if isinstance(text, str) else ""
    if text.startswith("("):
        e = parse_gs1_elements(text)
        return ScannedCode(e.gtin, symbology, source, e.net_grams, e.price_paise) if e is not None else None
    gtin = canonical_gtin(text, symbology)
    return ScannedCode(gtin, symbology, source) if gtin is not None else None


class FrameDecoder:
    name = ""

    def decode(self, image: Any) -> list[ScannedCode]:
        raise NotImplementedError

    @staticmethod
    def _codes(found: list[tuple[str, str]]) -> list[ScannedCode]:
        out: list[ScannedCode] = []
        for text, symbology in found:
            code = scanned_code(text, symbology, "camera")
            if code is None:
                log.info("camera barcode %r (%s) ignored: not a GTIN with a right check digit", text, symbology)
            elif code not in out:
                out.append(code)
        return out


class ZxingDecoder(FrameDecoder):
    name = "zxing"

    def __init__(self) -> None:
        try:
            import zxingcpp
        except ImportError:
            from kiosk.barcodes.variable import BarcodeConfigError

            raise BarcodeConfigError("camera barcodes need zxing-cpp: pip install zxing-cpp (or set "
                                     "[barcodes] camera_frames = false)") from None
        self._zx = zxingcpp
        f = zxingcpp.BarcodeFormat
        self._formats = (f.EAN13, f.EAN8, f.UPCA, f.UPCE, f.DataBar, f.DataBarLtd, f.DataBarExp)

    def decode(self, image: Any) -> list[ScannedCode]:
        found = self._zx.read_barcodes(image, formats=self._formats)
        return self._codes([(r.text, r.format.name) for r in found if r.valid])


class OpenCvDecoder(FrameDecoder):
    name = "opencv"

    def __init__(self) -> None:
        import cv2

        self._detector = cv2.barcode.BarcodeDetector()

    def decode(self, image: Any) -> list[ScannedCode]:
        ok, texts, kinds, _points = self._detector.detectAndDecodeWithType(image)
        if not ok:
            return []
        return self._codes([(t, k.replace("_", "")) for t, k in zip(texts, kinds) if t])


DECODERS = {"zxing": ZxingDecoder, "opencv": OpenCvDecoder}


def open_decoder(name: str = "zxing") -> FrameDecoder:
    return DECODERS[name]()
