"""The kiosk's look: one QSS file (``kiosk/ui/kiosk.qss``, installed with the package) written for a 1024×768 screen,
scaled up for bigger screens by multiplying its pixel sizes.

Qt style sheets have no relative units, so :func:`scaled_stylesheet` rewrites every
``NNpx`` in the sheet by a factor (fonts, paddings, minimum heights, radii); the window
re-applies the sheet when its size moves into another step (:func:`scale_factor`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["QSS_PATH", "BASE_SIZE", "load_stylesheet", "scaled_stylesheet", "scale_factor"]

REPO_ROOT = Path(__file__).resolve().parents[2]
QSS_PATH = Path(__file__).resolve().parent / "kiosk.qss"
#: the screen size the sheet's pixel values are written for
BASE_SIZE = (1024, 768)

_PX = re.compile(r"(?<![\w.#-])(\d+(?:\.\d+)?)px\b")


@lru_cache(maxsize=4)
def load_stylesheet(path: Path = QSS_PATH) -> str:
    return Path(path).read_text(encoding="utf-8")


def scaled_stylesheet(text: str, factor: float) -> str:
    """``text`` with every ``Npx`` multiplied by ``factor`` (rounded, at least 1px for N > 0)."""
    if factor == 1:
        return text

    def scale(match: re.Match) -> str:
        value = float(match.group(1))
        scaled = round(value * factor)
        return f"{max(scaled, 1 if value > 0 else 0)}px"

    return _PX.sub(scale, text)


def scale_factor(width: int, height: int, *, step: float = 0.25, maximum: float = 2.0) -> float:
    """How much bigger than 1024×768 the window is, in ``step``s, never below 1 (the sheet's
    sizes are the smallest usable ones) nor above ``maximum``."""
    raw = min(width / BASE_SIZE[0], height / BASE_SIZE[1])
    stepped = int(raw / step + 1e-9) * step
    return max(1.0, min(maximum, stepped))
