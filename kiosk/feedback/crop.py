"""The tray region: the part of the camera frame that is the tray, as fractions ``(x0, y0, x1, y1)`` of the frame.

The recogniser sees only this crop, and it is the only part of a frame the kiosk ever keeps (``captures``): the
shopper's hands and face, the queue behind, whatever else the camera sees, stay out of the photos sent to head
office, and training on the same crop the till recognises keeps the two alike. An empty region means "not set":
the whole frame is used (``checkout doctor`` warns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["crop_to_tray", "region_pixels", "region_problem"]

#: the crop must keep at least this share of the frame on each axis (a mistyped region would blind the recogniser)
MIN_SIDE = 0.05


def region_problem(region: Sequence[float]) -> str | None:
    """Why ``region`` is not a tray region (None: it is one, or it is empty = not set)."""
    if len(region) == 0:
        return None
    if len(region) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                   for v in region):
        return f"tray_region={list(region)!r}: four numbers [x0, y0, x1, y1], fractions of the frame"
    x0, y0, x1, y1 = (float(v) for v in region)
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        return f"tray_region={list(region)!r}: need 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1"
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return f"tray_region={list(region)!r}: narrower than {MIN_SIDE:.0%} of the frame"
    return None


def region_pixels(region: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` pixel bounds of ``region`` in a ``width`` x ``height`` frame."""
    if len(region) == 0:
        return 0, 0, width, height
    x0, y0, x1, y1 = region
    left, top = int(math.floor(x0 * width)), int(math.floor(y0 * height))
    right, bottom = max(left + 1, int(math.ceil(x1 * width))), max(top + 1, int(math.ceil(y1 * height)))
    return left, top, min(right, width), min(bottom, height)


def crop_to_tray(image: Any, region: Sequence[float]) -> Any:
    """The tray's part of ``image`` (a numpy H x W [x C] array), contiguous; the image itself when no region is
    set."""
    if len(region) == 0:
        return image
    import numpy as np

    left, top, right, bottom = region_pixels(region, image.shape[1], image.shape[0])
    return np.ascontiguousarray(image[top:bottom, left:right])
