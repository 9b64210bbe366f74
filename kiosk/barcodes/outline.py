"""Where a read lies in a frame: its outline, the bars of the symbol under it, and the symbol cut out upright.

* :func:`symbol_bars` counts the dark bars of the symbol a read lies in, along the bars' own normal (found from the
  image's gradients, not from the read: a scan line that crosses the bars at a slant still counts the whole symbol).
  An EAN-8 has 22 bars and a UPC-E 17; an EAN-13 or UPC-A has 30. An EAN-8 or UPC-E read inside a symbol with
  more bars is part of a longer code (a partial read), never a code of its own.
* :func:`upright` cuts the region of an outline out of the frame, turned so that its long side is horizontal, with
  a margin for the quiet zones: zxing-cpp's scan lines read it at any angle then.

Plain numpy and OpenCV over a grey frame; points are ``(x, y)`` pixels, outlines top-left, top-right, bottom-right,
bottom-left.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Corners", "box", "overlap", "symbol_bars", "thickness", "upright"]

Corners = tuple[tuple[float, float], ...]

#: the widest light gap inside an EAN/UPC symbol is 4 modules and its quiet zones are at least 7: a gap wider than
#: this many modules ends the symbol
_GAP_MODULES = 5.5


def thickness(corners: Corners) -> float | None:
    """Height of an outline: the distance from its top-left to its bottom-left corner (``None``: no outline)."""
    if len(corners) != 4:
        return None
    (x0, y0), (x3, y3) = corners[0], corners[3]
    return ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5


def box(corners: Corners) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in corners] or [0.0], [p[1] for p in corners] or [0.0]
    return min(xs), min(ys), max(xs), max(ys)


def overlap(a: Corners, b: Corners) -> bool:
    """Whether the bounding boxes of two outlines overlap."""
    (a0, a1, a2, a3), (b0, b1, b2, b3) = box(a), box(b)
    return a0 < b2 and b0 < a2 and a1 < b3 and b1 < a3


def _bar_normal(grey: Any, centre: Any, half: float) -> Any:
    """The unit vector across the bars around ``centre`` (the dominant gradient direction), or ``None``."""
    import cv2
    import numpy as np

    h, w = grey.shape[:2]
    x0, y0 = max(int(centre[0] - half), 0), max(int(centre[1] - half), 0)
    x1, y1 = min(int(centre[0] + half) + 1, w), min(int(centre[1] + half) + 1, h)
    patch = grey[y0:y1, x0:x1].astype(np.float32)
    if patch.shape[0] < 4 or patch.shape[1] < 4:
        return None
    gx, gy = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    if jxx + jyy <= 0:
        return None
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    return np.array([np.cos(theta), np.sin(theta)])


def symbol_bars(grey: Any, corners: Corners, modules: int) -> int | None:
    """The dark bars of the symbol that a read of ``modules`` modules (EAN-8 67, UPC-E 51) with this outline lies
    in, counted along the bars' normal through the outline's centre; ``None`` when it cannot be told."""
    import cv2
    import numpy as np

    if len(corners) != 4:
        return None
    tl, tr, br, bl = (np.asarray(p, np.float64) for p in corners)
    a, b = (tl + bl) / 2, (tr + br) / 2
    length = float(np.linalg.norm(b - a))
    if length < 10:
        return None
    along, centre = (b - a) / length, (a + b) / 2
    normal = _bar_normal(grey, centre, length / 4)
    if normal is None:
        return None
    if normal @ along < 0:
        normal = -normal
    width = length * abs(float(normal @ along))  # the read's length across the bars
    module = width / modules
    ts = np.arange(-1.5 * length, 1.5 * length, dtype=np.float64)
    xs, ys = (centre[0] + ts * normal[0]).astype(np.float32), (centre[1] + ts * normal[1]).astype(np.float32)
    profile = cv2.remap(grey, xs.reshape(1, -1), ys.reshape(1, -1), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE).ravel().astype(np.float64)
    span = profile[np.abs(ts) <= width / 2]
    if span.size < 2 or module <= 0:
        return None
    dark = profile < (span.min() + span.max()) / 2
    edges = np.flatnonzero(np.diff(np.concatenate(([0], dark.astype(np.int8), [0]))))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist()))
    if not runs:
        return None
    middle = len(ts) // 2
    k = min(range(len(runs)), key=lambda i: max(runs[i][0] - middle, middle - runs[i][1] + 1, 0))
    lo = hi = k
    while lo > 0 and runs[lo][0] - runs[lo - 1][1] <= _GAP_MODULES * module:
        lo -= 1
    while hi < len(runs) - 1 and runs[hi + 1][0] - runs[hi][1] <= _GAP_MODULES * module:
        hi += 1
    return hi - lo + 1


def upright(grey: Any, corners: Corners, margin: float = 0.25) -> Any:
    """The region of ``corners`` cut out of ``grey``, its long side horizontal, ``margin`` × that side added left and
    right (the quiet zones); ``None`` for an outline too small to hold a symbol."""
    import cv2
    import numpy as np

    if len(corners) != 4:
        return None
    tl, tr, br, bl = (np.asarray(p, np.float64) for p in corners)
    width, height = float(np.linalg.norm(tr - tl)), float(np.linalg.norm(bl - tl))
    if width < height:  # the long side runs across the bars
        tl, tr, br, bl = bl, tl, tr, br
        width, height = height, width
    if width < 20 or height < 8 or width > 4 * max(grey.shape) or height > 4 * max(grey.shape):
        return None
    pad = margin * width
    turn = cv2.getAffineTransform(np.float32([tl, tr, bl]), np.float32([[pad, 0], [pad + width, 0], [pad, height]]))
    return cv2.warpAffine(grey, turn, (int(width + 2 * pad), int(height)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
