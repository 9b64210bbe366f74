"""Barcode pictures as the kiosk camera sees them: a label on a pack on the grey tray, rotated and slightly
blurred, at the camera's resolution. zxing-cpp draws the valid codes; :func:`ean13_bars` draws any 13 digits
(a wrong check digit too) from the EAN-13 tables, which no encoder will do."""

from __future__ import annotations

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
               background: int = 170) -> np.ndarray:
    """``bars`` on a pack on the tray, rotated by ``angle`` degrees, Gaussian blur ``blur`` px, BGR ``size``."""
    h, w = size
    scene = np.full((h, w, 3), background, np.uint8)
    bh, bw = bars.shape[:2]
    pack = np.full((bh + 80, bw + 80, 3), (40, 90, 200), np.uint8)
    pack[40:40 + bh, 40:40 + bw] = cv2.cvtColor(bars, cv2.COLOR_GRAY2BGR)
    ph, pw = pack.shape[:2]
    top, left = (h - ph) // 2, (w - pw) // 2
    scene[top:top + ph, left:left + pw] = pack
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    scene = cv2.warpAffine(scene, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=(background,) * 3)
    return cv2.GaussianBlur(scene, (0, 0), blur) if blur else scene
