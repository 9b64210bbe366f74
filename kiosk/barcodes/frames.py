"""Barcodes in camera frames: the frame of each placed item is searched for retail codes.

Three decoders share one shape (``decode(image) -> list[ScannedCode]``, BGR or grey uint8 in):

* :class:`ZxingDecoder` — zxing-cpp: EAN-13, EAN-8, UPC-A, UPC-E and GS1 DataBar (omnidirectional, limited,
  expanded); fast, but its scan lines find 1D codes only within about ±20° of a frame axis, and slight blur
  costs it more than OpenCV;
* :class:`OpenCvDecoder` — OpenCV's ``cv2.barcode.BarcodeDetector``: EAN-13/EAN-8/UPC-A at any angle, better on
  blur, slower, and it never reads UPC-E or DataBar;
* :class:`CombinedDecoder` (``zxing+opencv``, the kiosk's) — zxing-cpp first, OpenCV's detector only when zxing
  found nothing: on generated labels at 1280×720 it reads more than either alone (``checkout bench barcodes``;
  README, "Libraries and why").

Every decoded text goes through :func:`~kiosk.barcodes.gtin.canonical_gtin` (check digit verified again, never
corrected); DataBar's GS1 element strings give their (01) GTIN and, for DataBar Expanded, the (310n) net weight
or (392n) price. A mod-10 check digit misses some misreads, so two more rules refuse guesses: a code confirmed by a
single scan line (its outline thinner than :data:`MIN_THICKNESS` pixels) is dropped, and two different codes read
from the same spot of the frame are both dropped.

:func:`decodable` makes what a camera may hand over (BGRA, one channel of three dimensions, float 0..1 or
0..255, 16-bit) into the uint8 BGR or grey the decoders take, and says why a frame cannot be (empty, no picture).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from kiosk.barcodes.gs1 import bracketed, looks_like_element_string, without_symbology_id
from kiosk.barcodes.gtin import ScannedCode, canonical_gtin

__all__ = ["DECODERS", "CombinedDecoder", "FrameDecoder", "OpenCvDecoder", "ZxingDecoder", "decodable",
           "open_decoder", "parse_gs1_elements", "scanned_code"]

log = logging.getLogger(__name__)

_AI = re.compile(r"\(([0-9]{2,4})\)([^()]*)")
#: a 1D read must be confirmed across at least this many pixels of bar height
MIN_THICKNESS = 3.0


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
    measures = [ai for ai in fields if re.fullmatch(r"310[0-9]|392[0-9]", ai)]
    if len(fields) != len(pairs) or len({ai[:3] for ai in measures}) != len(measures):
        return None  # an AI twice, or two weights or two prices: which one is meant is a guess
    gtin = canonical_gtin(fields.get("01", ""))
    if gtin is None:
        return None
    grams = price = None
    for ai, value in fields.items():
        if re.fullmatch(r"310[0-5]", ai) and re.fullmatch(r"[0-9]{6}", value):
            grams = _scaled(int(value), int(ai[3]), 1000)
        elif re.fullmatch(r"392[0-3]", ai) and re.fullmatch(r"[0-9]{1,15}", value):
            price = _scaled(int(value), int(ai[3]), 100)
    return Gs1Elements(gtin, grams, price)


def _scaled(value: int, decimals: int, per_unit: int) -> int:
    """``value × 10^-decimals`` units → whole sub-units (grams, paise), rounded half up in integers."""
    num, den = value * per_unit, 10**decimals
    return (2 * num + den) // (2 * den)


def scanned_code(text: str, symbology: str = "", source: str = "") -> ScannedCode | None:
    """A decoded text (digits, or a GS1 element string in brackets) as a :class:`ScannedCode`, or ``None`` when it
    holds no GTIN with a right check digit."""
    text = without_symbology_id(text.strip(" \t\r\n")) if isinstance(text, str) else ""
    if looks_like_element_string(text):  # a scanner's raw GS1 element string: as the camera's decoder writes it
        text = bracketed(text) or ""
    if text.startswith("("):
        e = parse_gs1_elements(text)
        return ScannedCode(e.gtin, symbology, source, e.net_grams, e.price_paise) if e is not None else None
    gtin = canonical_gtin(text, symbology)
    return ScannedCode(gtin, symbology, source) if gtin is not None else None


def decodable(image: Any) -> tuple[Any, str]:
    """``(frame, "")``: ``image`` as the decoders read it (uint8, grey or 3 channels, C-contiguous; the same array
    when it already is), or ``(None, why)`` for what holds no picture. What was changed is named in ``why`` too."""
    import numpy as np

    try:
        a = np.asarray(image)
    except Exception as exc:  # an object numpy cannot take: not a picture
        return None, f"not an image ({type(exc).__name__})"
    if a.size == 0 or a.ndim not in (2, 3) or min(a.shape[:2]) < 1:
        return None, f"no picture in a frame of shape {a.shape}"
    if a.dtype.kind not in "biuf":
        return None, f"frames of {a.dtype} hold no picture"
    changed = []
    if a.ndim == 3 and a.shape[2] in (1, 4):  # grey with a channel axis; BGRA: the alpha is dropped
        changed.append(f"{a.shape[2]} channels")
        a = a[:, :, 0] if a.shape[2] == 1 else a[:, :, :3]
    elif a.ndim == 3 and a.shape[2] != 3:
        return None, f"frames of {a.shape[2]} channels hold no picture"
    if a.dtype != np.uint8:
        changed.append(str(a.dtype))
        if a.dtype.kind == "f":
            a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
            a = a * 255.0 if a.max() <= 1.0 else a  # 0..1, as many libraries write light
            a = np.clip(a.round(), 0, 255)
        elif a.dtype == np.uint16:
            a = a >> 8
        else:
            a = np.clip(a.astype(np.int64), 0, 255)
        a = a.astype(np.uint8)
    return np.ascontiguousarray(a), (f"converted from {', '.join(changed)}" if changed else "")


def _thickness(corners: list[tuple[float, float]]) -> float:
    """Height of a read's outline: the distance from its top-left to its bottom-left corner."""
    if len(corners) != 4:
        return MIN_THICKNESS
    (x0, y0), (x3, y3) = corners[0], corners[3]
    return ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5


def _box(corners: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in corners] or [0.0], [p[1] for p in corners] or [0.0]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class FrameDecoder:
    name = ""

    def decode(self, image: Any) -> list[ScannedCode]:
        raise NotImplementedError

    @staticmethod
    def _codes(found: list[tuple[str, str, list[tuple[float, float]]]]) -> list[ScannedCode]:
        """``(text, symbology, corners)`` reads → codes, by the rules in the module docstring."""
        kept: list[tuple[ScannedCode, tuple[float, float, float, float]]] = []
        for text, symbology, corners in found:
            code = scanned_code(text, symbology, "camera")
            if code is None:
                log.info("camera barcode %r (%s) ignored: not a GTIN with a right check digit", text, symbology)
            elif _thickness(corners) < MIN_THICKNESS:
                log.info("camera barcode %s (%s) ignored: seen on one scan line only", code.gtin, symbology)
            else:
                kept.append((code, _box(corners)))
        out: list[ScannedCode] = []
        for code, box in kept:
            rivals = [c for c, b in kept if c.gtin != code.gtin and _overlap(box, b)]
            if rivals:
                log.info("camera barcode %s ignored: %s read at the same spot", code.gtin, rivals[0].gtin)
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
        return self._codes([(r.text, r.format.name, _corners(r.position)) for r in found if r.valid])


class OpenCvDecoder(FrameDecoder):
    name = "opencv"

    def __init__(self) -> None:
        import cv2

        self._detector = cv2.barcode.BarcodeDetector()

    def decode(self, image: Any) -> list[ScannedCode]:
        ok, texts, kinds, points = self._detector.detectAndDecodeWithType(image)
        if not ok:
            return []
        # OpenCV gives each detection's 4 corners as bottom-left, top-left, top-right, bottom-right
        return self._codes([(t, k.replace("_", ""), [(float(x), float(y)) for x, y in (p[1], p[2], p[3], p[0])])
                            for t, k, p in zip(texts, kinds, points) if t])


class CombinedDecoder(FrameDecoder):
    name = "zxing+opencv"

    def __init__(self) -> None:
        self.first, self.second = ZxingDecoder(), OpenCvDecoder()

    def decode(self, image: Any) -> list[ScannedCode]:
        return self.first.decode(image) or self.second.decode(image)


def _corners(position: Any) -> list[tuple[float, float]]:
    pts = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    return [(float(p.x), float(p.y)) for p in pts]


DECODERS = {"zxing+opencv": CombinedDecoder, "zxing": ZxingDecoder, "opencv": OpenCvDecoder}


def open_decoder(name: str = "zxing+opencv") -> FrameDecoder:
    return DECODERS[name]()
