"""Barcodes in camera frames: the frame of each placed item is searched for retail codes.

Four decoders share one shape (``decode(image) -> list[ScannedCode]``, BGR or grey uint8 in):

* :class:`ZxingDecoder` — zxing-cpp: EAN-13, EAN-8, UPC-A, UPC-E and GS1 DataBar (omnidirectional, limited,
  expanded); fast, but its scan lines find 1D codes only within about ±20° of a frame axis, and slight blur
  costs it more than OpenCV;
* :class:`OpenCvDecoder` — OpenCV's ``cv2.barcode.BarcodeDetector``: EAN-13/EAN-8/UPC-A at any angle, better on
  blur, slower, and it never reads UPC-E or DataBar;
* :class:`ConfirmingDecoder` (``zxing+opencv``, the kiosk's) — zxing-cpp and OpenCV on the frame, then, for each
  region OpenCV's detector found that holds no confirmed code yet, zxing-cpp and OpenCV again on the region cut out
  upright (:func:`~kiosk.barcodes.outline.upright`). A code is taken only when it is **confirmed**
  (:func:`confirmed`): two independent reads agree on it — one of each library, or zxing-cpp on the frame and on
  the upright cut (its scan lines cross the symbol differently; UPC-E, which OpenCV never reads, needs this) —
  and for a price or weight label (GS1 prefix 2, :func:`variable_measure`) one of each library. OpenCV's two
  reads are one: its decoder cuts the region it found out upright itself, and on random labels its two reads
  agreed on the same wrong code. One read alone is never taken: taking the first read gave a wrong code with a
  right check digit (a mod-10 check digit misses some changed digits) on about 1 frame in 200 of random labels;
  a miss costs the shopper a retry where a wrong code sells the wrong product or price (figures: README,
  ``checkout bench barcodes``). GS1 DataBar, which only
  zxing-cpp reads, is taken on one read: its own checksum (mod 79 / mod 211 over all its characters) comes on top
  of the GTIN's.
* :class:`FirstReadDecoder` (``zxing-then-opencv``) — the rule before confirmation, zxing-cpp then OpenCV when
  zxing found nothing: kept for ``checkout bench barcodes`` to measure against.

Every decoded text goes through :func:`~kiosk.barcodes.gtin.canonical_gtin` (check digit verified again, never
corrected); DataBar's GS1 element strings give their (01) GTIN and, for DataBar Expanded, the (310n) net weight
or (392n) price. Within one decoder three more rules refuse guesses: a code confirmed by a single scan line (its
outline thinner than :data:`MIN_THICKNESS` pixels) is dropped; an EAN-8 or UPC-E read inside a symbol with more
bars than its own (part of an EAN-13: :func:`~kiosk.barcodes.outline.symbol_bars`) is dropped; and two different
codes read from the same spot of the frame are both dropped (across all the kiosk decoder's reads too).

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
from kiosk.barcodes.outline import Corners, overlap, symbol_bars, thickness, upright

__all__ = ["DECODERS", "ConfirmingDecoder", "FirstReadDecoder", "FrameDecoder", "OpenCvDecoder", "Read",
           "ZxingDecoder", "confirmed", "decodable", "open_decoder", "parse_gs1_elements", "scanned_code",
           "variable_measure"]

log = logging.getLogger(__name__)

_AI = re.compile(r"\(([0-9]{2,4})\)([^()]*)")
#: a 1D read must be confirmed across at least this many pixels of bar height
MIN_THICKNESS = 3.0
#: dark bars and modules of a whole symbol of the symbologies that fit inside a longer one (an EAN-13 has 30 bars)
SHORT_SYMBOLS = {"EAN8": (22, 67), "UPCE": (17, 51)}
#: a read of one of those whose symbol has this many bars more than its own is a partial read (on 2,400 random
#: labels, whole symbols counted exactly their own bars and partial reads of EAN-13s 8 or 13 more)
PARTIAL_BARS = 4
#: the sources of zxing-cpp's and OpenCV's reads of a region OpenCV found, cut out upright
ZXING_UPRIGHT, OPENCV_UPRIGHT = "zxing-upright", "opencv-upright"


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


@dataclass(frozen=True)
class Read:
    """One read of one code in a frame: the code, its outline in the frame's pixels and the read it came from
    (``zxing``, ``opencv``; ``zxing-upright``, ``opencv-upright``: on a region OpenCV found, cut out upright)."""

    code: ScannedCode
    corners: Corners
    source: str


def _meaning(code: ScannedCode) -> tuple:
    return code.gtin, code.net_grams, code.price_paise


def _grey(image: Any) -> Any:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def variable_measure(code: ScannedCode) -> bool:
    """A GS1 restricted-circulation EAN-13 (prefix 2; 02 for a UPC-A): a store's price or weight label."""
    return len(code.gtin) == 13 and (code.gtin[0] == "2" or code.gtin.startswith("02"))


class FrameDecoder:
    name = ""

    def decode(self, image: Any) -> list[ScannedCode]:
        out: list[ScannedCode] = []
        for read in self.reads(image):
            if all(_meaning(c) != _meaning(read.code) for c in out):
                out.append(read.code)
        return out

    def reads(self, image: Any) -> list[Read]:
        raise NotImplementedError

    @staticmethod
    def _kept(found: list[tuple[str, str, Corners]], image: Any, source: str) -> list[Read]:
        """``(text, symbology, corners)`` reads of one decoder → the reads its own rules keep (module docstring)."""
        grey, kept = None, []
        for text, symbology, corners in found:
            code = scanned_code(text, symbology, "camera")
            kind = symbology.upper().replace("-", "").replace("_", "")
            height = thickness(corners)
            if code is None:
                log.info("camera barcode %r (%s) ignored: not a GTIN with a right check digit", text, symbology)
            elif height is not None and height < MIN_THICKNESS:
                log.info("camera barcode %s (%s) ignored: seen on one scan line only", code.gtin, symbology)
            elif kind in SHORT_SYMBOLS:
                bars, modules = SHORT_SYMBOLS[kind]
                grey = _grey(image) if grey is None else grey
                found_bars = symbol_bars(grey, corners, modules)
                if found_bars is not None and found_bars >= bars + PARTIAL_BARS:
                    log.info("camera barcode %s (%s) ignored: a partial read (its symbol has %d bars, a whole %s %d)",
                             code.gtin, symbology, found_bars, symbology, bars)
                else:
                    kept.append(Read(code, corners, source))
            else:
                kept.append(Read(code, corners, source))
        out: list[Read] = []
        for read in kept:
            rival = next((r for r in kept if r.code.gtin != read.code.gtin and overlap(read.corners, r.corners)), None)
            if rival is not None:
                log.info("camera barcode %s ignored: %s read at the same spot", read.code.gtin, rival.code.gtin)
            elif all(_meaning(r.code) != _meaning(read.code) for r in out):
                out.append(read)
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

    def reads(self, image: Any, source: str = "zxing") -> list[Read]:
        found = self._zx.read_barcodes(image, formats=self._formats)
        return self._kept([(r.text, r.format.name, _corners(r.position)) for r in found if r.valid], image, source)


class OpenCvDecoder(FrameDecoder):
    name = "opencv"

    def __init__(self) -> None:
        import cv2

        self._detector = cv2.barcode.BarcodeDetector()

    def reads(self, image: Any) -> list[Read]:
        return self.scan(image)[0]

    def scan(self, image: Any) -> tuple[list[Read], list[Corners]]:
        """The reads, and every region OpenCV's detector took for a barcode (read or not)."""
        ok, points = self._detector.detect(image)
        if not ok or points is None:
            return [], []
        # OpenCV gives each region's 4 corners as bottom-left, top-left, top-right, bottom-right
        regions = [tuple((float(x), float(y)) for x, y in (p[1], p[2], p[3], p[0])) for p in points]
        ok, texts, kinds = self._detector.decodeWithType(image, points)
        if not ok:
            return [], regions
        found = [(t, k.replace("_", ""), c) for t, k, c in zip(texts, kinds, regions) if t]
        return self._kept(found, image, self.name), regions


class FirstReadDecoder(FrameDecoder):
    """The rule before confirmation (``zxing-then-opencv``): zxing-cpp's codes, or OpenCV's when zxing found none.
    Kept for ``checkout bench barcodes`` to compare against; a single read of it can be a wrong code."""

    name = "zxing-then-opencv"

    def __init__(self) -> None:
        self.first, self.second = ZxingDecoder(), OpenCvDecoder()

    def reads(self, image: Any) -> list[Read]:
        return self.first.reads(image) or self.second.reads(image)


class ConfirmingDecoder(FrameDecoder):
    """The kiosk's (``zxing+opencv``): only the codes :func:`confirmed` by independent reads of the frame."""

    name = "zxing+opencv"

    def __init__(self) -> None:
        self.zxing, self.opencv = ZxingDecoder(), OpenCvDecoder()

    def reads(self, image: Any) -> list[Read]:
        """zxing-cpp and OpenCV on the frame; then, for each region OpenCV's detector found that holds no confirmed
        code yet, zxing-cpp and (still none) OpenCV again on the region cut out upright."""
        found = self.zxing.reads(image)
        by_opencv, regions = self.opencv.scan(image)
        found += by_opencv
        grey = None
        for region in regions:
            cut = None
            for source in (ZXING_UPRIGHT, OPENCV_UPRIGHT):
                if any(overlap(r.corners, region) for r in confirmed(found, quiet=True)):
                    break
                if cut is None:
                    grey = _grey(image) if grey is None else grey
                    cut = upright(grey, region)
                    if cut is None:
                        break
                reads = self.zxing.reads(cut, source) if source == ZXING_UPRIGHT else self.opencv.scan(cut)[0]
                found += [Read(r.code, region, source) for r in reads]
        return confirmed(found)


#: the library behind each read
LIBRARY = {"zxing": "zxing", ZXING_UPRIGHT: "zxing", "opencv": "opencv", OPENCV_UPRIGHT: "opencv"}


def _unconfirmed(code: ScannedCode, sources: set[str]) -> str:
    """Why a code read by ``sources`` is not confirmed; ``""`` when it is (the rule in the module docstring)."""
    by = ", ".join(sorted(sources))
    libraries = {LIBRARY.get(s, s) for s in sources}
    if code.symbology.startswith("DataBar"):
        return ""
    if variable_measure(code):
        if libraries >= {"zxing", "opencv"}:
            return ""
        return f"a price or weight label needs zxing-cpp and OpenCV to agree (read by {by} only)"
    if len(libraries) >= 2 or {"zxing", ZXING_UPRIGHT} <= sources:
        return ""
    return f"read by {by} only, not confirmed by an independent read"


def confirmed(reads: list[Read], quiet: bool = False) -> list[Read]:
    """The reads whose code is confirmed by independent reads and has no rival read at the same spot (each code
    refused is logged unless ``quiet``)."""
    groups: dict[tuple, list[Read]] = {}
    for read in reads:
        groups.setdefault(_meaning(read.code), []).append(read)
    out: list[Read] = []
    for key, seen in groups.items():
        rival = next((r for r in reads if _meaning(r.code) != key
                      and any(overlap(r.corners, s.corners) for s in seen)), None)
        why = (f"{rival.code.gtin} ({rival.source}) read at the same spot" if rival is not None
               else _unconfirmed(seen[0].code, {r.source for r in seen}))
        if not why:
            out.append(seen[0])
        elif not quiet:
            log.info("camera barcode %s ignored: %s", seen[0].code.gtin, why)
    return out


def _corners(position: Any) -> Corners:
    pts = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    return tuple((float(p.x), float(p.y)) for p in pts)


DECODERS = {"zxing+opencv": ConfirmingDecoder, "zxing": ZxingDecoder, "opencv": OpenCvDecoder,
            "zxing-then-opencv": FirstReadDecoder}


def open_decoder(name: str = "zxing+opencv") -> FrameDecoder:
    return DECODERS[name]()
