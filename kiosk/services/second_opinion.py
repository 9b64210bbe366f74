"""The scale as a second opinion on what the camera saw.

Each SKU may carry the catalog's typical unit weight (``unit_weight_min_g`` … ``unit_weight_max_g``: one piece, one
pack). A net weight on the tray *fits* a SKU when some whole count of pieces ``n`` has
``n × min × (1 − slack) ≤ grams ≤ n × max × (1 + slack)``; unit items are sold one line per placement, so for them
the count that matters is the line's quantity (1).

* :func:`rerank` multiplies the recogniser's top-k scores by how well the weight fits each SKU (1 inside the range,
  a Gaussian fall-off outside it, never below :data:`FLOOR`) and renormalises: the image still decides between SKUs
  the weight cannot tell apart.
* :func:`check_unit_weight` is the ticket-switch check: a unit item confirmed with a weight on the tray that does
  not fit it (a ₹40 item with 1.2 kg on the tray) calls staff instead of adding the line.

Pure functions of catalog SKUs and grams; SKUs without a range, and readings that cannot be priced, are never
judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["FLOOR", "WeightFit", "check_label_weight", "check_unit_weight", "fit_count", "rerank", "weight_likelihood"]

#: the least a weight that fits nothing multiplies an image score by (a weight can demote, never erase)
FLOOR = 0.02
#: most pieces of one SKU considered for a loose-produce weight
MAX_PIECES = 40


@dataclass(frozen=True)
class WeightFit:
    """``fits``: ``True``/``False``, or ``None`` when the SKU has no range or no weight is known; ``count``: the
    number of pieces the weight fits best; ``reason``: one line for staff."""

    fits: bool | None
    count: int | None = None
    reason: str = ""


def unit_range(sku: Any) -> tuple[int, int] | None:
    lo, hi = getattr(sku, "unit_weight_min_g", None), getattr(sku, "unit_weight_max_g", None)
    if not isinstance(lo, int) or not isinstance(hi, int) or lo <= 0 or hi < lo:
        return None
    return lo, hi


def _band(lo: int, hi: int, n: int, slack: float) -> tuple[float, float]:
    return n * lo * (1 - slack), n * hi * (1 + slack)


def _counts(sku: Any, grams: int, lo: int, hi: int) -> range:
    if getattr(sku, "sold_by", "unit") == "weight":
        return range(1, MAX_PIECES + 1)
    return range(1, max(2, min(MAX_PIECES, grams // max(lo, 1) + 2)))


def fit_count(sku: Any, grams: int, slack: float) -> int | None:
    """The smallest count of pieces of ``sku`` whose band holds ``grams``; ``None`` when none does."""
    rng = unit_range(sku)
    if rng is None:
        return None
    for n in _counts(sku, grams, *rng):
        low, high = _band(*rng, n, slack)
        if low <= grams <= high:
            return n
    return None


def weight_likelihood(sku: Any, grams: int, slack: float) -> float:
    """1.0 when ``grams`` fits some count of pieces of ``sku`` (or nothing is known), falling off outside every
    band (a Gaussian whose width is 5 % of the band's middle: the slack is already outside it)."""
    rng = unit_range(sku)
    if rng is None or grams <= 0:
        return 1.0
    best = 0.0
    for n in _counts(sku, grams, *rng):
        low, high = _band(*rng, n, slack)
        if low <= grams <= high:
            return 1.0
        width = max((low + high) / 2 * 0.05, 1.0)
        gap = low - grams if grams < low else grams - high
        best = max(best, math.exp(-0.5 * (gap / width) ** 2))
    return max(best, FLOOR)


def rerank(ranked: list[tuple[Any, float]], grams: int | None, slack: float) -> list[tuple[Any, float]]:
    """``[(sku, score), …]`` re-ordered by ``score × likelihood`` and renormalised to the same total; unchanged when
    ``grams`` is ``None``."""
    if grams is None or not ranked:
        return list(ranked)
    weighted = [(sku, score * weight_likelihood(sku, grams, slack)) for sku, score in ranked]
    total, new_total = sum(s for _, s in ranked), sum(s for _, s in weighted)
    factor = total / new_total if new_total > 0 else 0.0
    out = [(sku, s * factor) for sku, s in weighted]
    return sorted(out, key=lambda pair: -pair[1])


def check_unit_weight(sku: Any, grams: int | None, qty: int, slack: float) -> WeightFit:
    """Does ``grams`` on the tray fit ``qty`` × ``sku`` (a unit item)? ``fits=None``: not judged."""
    rng = unit_range(sku)
    if rng is None or grams is None:
        return WeightFit(None)
    low, high = _band(*rng, qty, slack)
    if low <= grams <= high:
        return WeightFit(True, qty)
    count = fit_count(sku, grams, slack)
    usual = f"{rng[0]}-{rng[1]} g each"
    if count is not None:
        return WeightFit(False, count, f"{grams} g on the tray fits {count} × {sku.name} ({usual}), not {qty}")
    return WeightFit(False, None, f"{grams} g on the tray does not fit {sku.name} ({usual})")


def check_label_weight(label_grams: int, grams: int | None, slack: float, least: int) -> WeightFit:
    """A weight-embedded label against the tray: the tray's net must be within ``slack`` (and at least ``least``
    grams) of what the label says."""
    if grams is None:
        return WeightFit(None)
    allowed = max(label_grams * slack, least)
    if abs(grams - label_grams) <= allowed:
        return WeightFit(True, 1)
    return WeightFit(False, None, f"the label says {label_grams} g, the tray weighs {grams} g")
