"""Barcode pictures as the kiosk camera sees them: a label on a pack on the grey tray, rotated and slightly
blurred, at the camera's resolution. zxing-cpp draws the valid codes; :func:`ean13_bars` draws any 13 digits
(a wrong check digit too) from the EAN-13 tables, which no encoder will do.

:func:`random_label` draws a seeded random label (:class:`Label`: EAN-13, EAN-8, UPC-A, UPC-E, a GS1 price or
weight EAN-13 of the default layouts, GS1 DataBar Expanded with a weight, or an EAN-13 with a wrong check digit) at
a random angle, blur, module size and place on the tray; :func:`Label.image` draws it. ``checkout bench barcodes``
and the property tests read them."""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
_G = ["".join("1" if c == "0" else "0" for c in code)[::-1] for code in _L]
_R = ["".join("1" if c == "0" else "0" for c in code) for code in _L]
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13_bars(digits: str, module: int = 3, height: int = 150) -> np.ndarray:
    """A grey image of the EAN-13 symbol for ``digits`` exactly as given (check digit not verified)."""
    assert len(digits) == 13 and digits.isdigit()
    parity = _PARITY[int(digits[0])]
    bits = "101" + "".join((_L if p == "L" else _G)[int(d)] for p, d in zip(parity, digits[1:7]))
    bits += "01010" + "".join(_R[int(d)] for d in digits[7:]) + "101"
    row = np.array([0 if b == "1" else 255 for b in bits], np.uint8).repeat(module)
    return np.pad(np.tile(row, (height, 1)), ((20, 20), (11 * module, 11 * module)), constant_values=255)


def zxing_bars(text: str, fmt: str, scale: int = 3) -> np.ndarray:
    import zxingcpp

    image = np.array(zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt)).to_image(scale=scale))
    if image.shape[0] < 60:  # 1D symbols come out a few pixels high: make them label-sized
        image = cv2.resize(image, (image.shape[1], 120), interpolation=cv2.INTER_NEAREST)
    return np.pad(image, 30, constant_values=255)


def tray_scene(bars: np.ndarray, *, angle: float = 0.0, blur: float = 1.0, size: tuple[int, int] = (720, 1280),
               background: int = 170, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``bars`` on a pack on the tray, rotated by ``angle`` degrees about the pack's centre, the pack ``offset``
    ``(x, y)`` pixels from the middle of the frame; Gaussian blur ``blur`` px, BGR ``size``."""
    h, w = size
    dx, dy = offset
    scene = np.full((h, w, 3), background, np.uint8)
    bh, bw = bars.shape[:2]
    pack = np.full((bh + 80, bw + 80, 3), (40, 90, 200), np.uint8)
    pack[40:40 + bh, 40:40 + bw] = cv2.cvtColor(bars, cv2.COLOR_GRAY2BGR)
    ph, pw = pack.shape[:2]
    top, left = (h - ph) // 2 + dy, (w - pw) // 2 + dx
    if top < 0 or left < 0 or top + ph > h or left + pw > w:
        raise ValueError(f"a {pw}×{ph} pack {offset} from the middle does not fit a {w}×{h} frame")
    scene[top:top + ph, left:left + pw] = pack
    turn = cv2.getRotationMatrix2D((w / 2 + dx, h / 2 + dy), angle, 1.0)
    scene = cv2.warpAffine(scene, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=(background,) * 3)
    return cv2.GaussianBlur(scene, (0, 0), blur) if blur else scene


#: what ``checkout bench barcodes`` draws labels with (angles also drawn uniformly at random 1 time in 9)
ANGLES = (0, 5, 10, 20, 45, 90, 135, 180)
BLURS = (0.0, 1.0, 1.5)
MODULES = (2, 3)
KINDS = ("EAN-13", "EAN-8", "UPC-A", "UPC-E", "GS1 price/weight", "DataBar weight", "wrong check digit")


@dataclass(frozen=True)
class Label:
    """A label to draw: ``text`` in zxing-cpp's ``fmt`` (``""``: EAN-13 digits drawn as given, check digit wrong),
    the code a decoder must read (``want``, as :func:`read_as` writes it; ``None`` for a label that must never be
    read), and how it lies."""

    kind: str
    text: str
    fmt: str
    want: str | None
    angle: float
    blur: float
    module: int
    offset: tuple[int, int]

    def image(self, size: tuple[int, int] = (720, 1280)) -> np.ndarray:
        bars = zxing_bars(self.text, self.fmt, self.module) if self.fmt else ean13_bars(self.text, self.module)
        return tray_scene(bars, angle=self.angle, blur=self.blur, size=size, offset=self.offset)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _upce(rng: random.Random) -> str:
    """A UPC-E (number system 0) that zxing-cpp will draw."""
    from kiosk.barcodes.gtin import expand_upce, with_check_digit

    while True:
        body = "0" + _digits(rng, 6)
        code = body + with_check_digit((expand_upce(body + "0") or "")[:-1])[-1]
        try:
            zxing_bars(code, "UPCE", 2)
            return code
        except ValueError:  # a body whose UPC-A form has no UPC-E
            continue


def _text(kind: str, rng: random.Random) -> tuple[str, str]:
    from kiosk.barcodes.gtin import with_check_digit
    from kiosk.barcodes.variable import price_check_digit

    if kind == "EAN-13":
        return with_check_digit(_digits(rng, 12)), "EAN13"
    if kind == "EAN-8":
        return with_check_digit(_digits(rng, 7)), "EAN8"
    if kind == "UPC-A":
        return with_check_digit(_digits(rng, 11)), "UPCA"
    if kind == "UPC-E":
        return _upce(rng), "UPCE"
    if kind == "GS1 price/weight":  # the default layouts: 21/28 item 5 digits, 22/29 item 4 + the value's check
        prefix, value = rng.choice(("21", "22", "28", "29")), _digits(rng, 5)
        item = _digits(rng, 4) + str(price_check_digit(value)) if prefix in ("22", "29") else _digits(rng, 5)
        return with_check_digit(prefix + item + value), "EAN13"
    if kind == "DataBar weight":
        return f"(01){with_check_digit('0' + _digits(rng, 12))}(3103){_digits(rng, 6)}", "DataBarExp"
    good = with_check_digit(_digits(rng, 12))
    return good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10), ""


def random_label(rng: random.Random, size: tuple[int, int] = (720, 1280)) -> Label:
    """A random label of a random kind (:data:`KINDS`), at a random angle, blur, module size and place in a frame
    of ``size``; the same ``rng`` state gives the same label."""
    from kiosk.barcodes.frames import scanned_code

    kind = rng.choice(KINDS)
    angle = rng.choice(ANGLES + (rng.uniform(0, 360),))
    blur, module = rng.choice(BLURS), rng.choice(MODULES)
    text, fmt = _text(kind, rng)
    code = scanned_code(text, fmt) if fmt else None
    bars = zxing_bars(text, fmt, module) if fmt else ean13_bars(text, module)
    reach = int(np.hypot(*bars.shape[:2]) / 2) + 60  # the rotated pack stays in the frame
    offset = (rng.randint(-max(size[1] // 2 - reach, 0), max(size[1] // 2 - reach, 0)),
              rng.randint(-max(size[0] // 2 - reach, 0), max(size[0] // 2 - reach, 0)))
    return Label(kind, text, fmt, read_as(code) if code else None, angle, blur, module, offset)


def read_as(code) -> str:
    """A read as the bench and the tests compare it with :attr:`Label.want`: its GTIN, and the weight or price a
    DataBar label carries (a right GTIN with a wrong weight is a wrong read)."""
    grams = f" {code.net_grams} g" if code.net_grams is not None else ""
    return code.gtin + grams + (f" {code.price_paise} paise" if code.price_paise is not None else "")
