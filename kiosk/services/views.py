"""Presentation: the plain view values (kiosk.services.events) a widget or a headless run shows.

Nothing here decides anything about the checkout; it formats what the cart, the catalog, the scale and the
recogniser say. Product photos are found next to the catalog (``catalog import`` copies them into the
catalog's ``images/`` folder), never relative to the program's own files or the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.domain.cart import Cart, CartLine
from kiosk.domain.money import format_inr
from kiosk.domain.pricing import SoldBy, format_rate
from kiosk.services.events import (
    BillView,
    CartLineView,
    CartView,
    SuggestionView,
    TaxRowView,
)

__all__ = ["format_grams", "price_text", "reading_text", "Presenter", "model_description"]


def format_grams(grams: int) -> str:
    kg, g = divmod(int(grams), 1000)
    return f"{kg}.{g:03d} kg"


def price_text(sku) -> str:
    text = format_inr(sku.price_paise)
    return f"{text}/kg" if sku.sold_by == "weight" else text


def reading_text(reading) -> str:
    if reading.ok:
        return f"{reading.grams} g" + ("" if reading.stable else " ~")
    return reading.status.value + (f": {reading.message}" if reading.message else "")


def model_description(recognizer) -> tuple[int | None, str]:
    """``(version, "v7 mobilenet_v2 · onnxruntime (…)")`` of a recogniser, ``(None, "no model")`` without one."""
    if recognizer is None:
        return None, "no model"
    version = getattr(recognizer, "model_version", None)
    bundle = getattr(recognizer, "bundle", None)
    arch = getattr(getattr(bundle, "manifest", None), "architecture", "") if bundle is not None else ""
    backend = getattr(recognizer, "backend", None)
    how = backend.describe() if backend is not None and hasattr(backend, "describe") else type(recognizer).__name__
    return version, " ".join(x for x in (f"v{version}", arch, f"· {how}") if x)


def _unit_price_text(line: CartLine) -> str:
    return f"{format_inr(line.unit_price)}/kg" if line.sold_by is SoldBy.WEIGHT else format_inr(line.unit_price)


def _line_view(line: CartLine, cart: Cart | None = None) -> CartLineView:
    qty_text = format_grams(line.net_grams) if line.sold_by is SoldBy.WEIGHT else str(line.qty)
    mark, was = ("voided", "") if line.voided else ("", "")
    if not line.voided and cart is not None:
        mark, before = cart.shown_change(line)  # "was": the line's first price or item, however many steps since
        was = before.name if mark == "corrected" else _unit_price_text(before) if mark == "price" else ""
    return CartLineView(line_id=line.line_id, sku=line.sku, name=line.name, qty_text=qty_text,
                        unit_price_text=_unit_price_text(line), total_text=format_inr(line.total),
                        sold_by=line.sold_by.value, grams=line.net_grams, qty=line.qty, unit_price=line.unit_price,
                        total=line.total, gst_bp=line.gst_bp, voided=line.voided, mark=mark, was_text=was)


def _shown(cart: Cart) -> tuple[CartLineView, ...]:
    """Lines on the bill plus the ones staff voided outright (not those a correction replaced), in cart order."""
    replaced = {line.replaces for line in cart.all_lines if line.replaces}
    return tuple(_line_view(x, cart) for x in cart.all_lines if not (x.voided and x.line_id in replaced))


def cart_view(cart: Cart) -> CartView:
    b = cart.bill()
    rows = tuple(TaxRowView(rate_text=format_rate(r.rate_bp), rate_bp=r.rate_bp, gross_text=format_inr(r.gross),
                            gross=r.gross, taxable_text=format_inr(r.taxable), taxable=r.taxable,
                            cgst_text=format_inr(r.cgst), cgst=r.cgst, sgst_text=format_inr(r.sgst), sgst=r.sgst)
                 for r in b.tax_rows)
    bill = BillView(gross_text=format_inr(b.gross), gross=b.gross, tax_rows=rows,
                    round_off_text=format_inr(b.round_off, sign=True), round_off=b.round_off,
                    total_text=format_inr(b.total), total=b.total, item_count=b.item_count,
                    taxable_text=format_inr(b.taxable), taxable=b.taxable, cgst_text=format_inr(b.cgst),
                    cgst=b.cgst, sgst_text=format_inr(b.sgst), sgst=b.sgst)
    return CartView(cart_id=cart.cart_id, lines=tuple(_line_view(x, cart) for x in cart.lines), bill=bill,
                    shown_lines=_shown(cart))


class Presenter:
    """Views of catalog SKUs and carts. ``catalog_dir``: the folder of the catalog database, where relative
    image paths are resolved (an absolute path is used as it is)."""

    def __init__(self, catalog_dir: str | Path | None) -> None:
        self.catalog_dir = Path(catalog_dir).resolve() if catalog_dir else None
        self._images: dict[str, str] = {}

    def image_path(self, image: str) -> str:
        """The product photo's file, or ``""`` when there is none (checked once per path)."""
        if not image:
            return ""
        if image not in self._images:
            p = Path(image)
            if not p.is_absolute():
                p = self.catalog_dir / p if self.catalog_dir is not None else None
                if p is not None and self.catalog_dir not in p.resolve().parents:  # never outside the catalog's folder
                    p = None
            self._images[image] = str(p) if p is not None and p.is_file() else ""
        return self._images[image]

    def suggestion(self, sku: Any, score: float) -> SuggestionView:
        return SuggestionView(sku=sku.sku, name=sku.name, price_text=price_text(sku), sold_by=sku.sold_by,
                              image_path=self.image_path(sku.image), score=float(score),
                              price_paise=int(sku.price_paise), group=str(getattr(sku, "group", "") or ""))

    cart_view = staticmethod(cart_view)
