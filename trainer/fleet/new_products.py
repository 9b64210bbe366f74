"""New products head office creates while labelling: ``DIR/new-products.csv`` beside the ``DIR/labels.csv`` of a
``checkout feedback collect … --out DIR`` folder.

Most crops the stores could not recognise are products head office's catalog does not have yet. The Label page makes
the product's catalog row here and labels the crops with it in one step (:func:`add_and_label`, all or nothing); the
file is a catalog CSV in the format ``checkout report taught --new-products`` writes (:func:`catalog.csv_io.
write_skus_csv`: the catalog's columns, formula cells neutralised), checked with the catalog import's own row
validation, so ``checkout catalog import DIR/new-products.csv --db DB`` takes it as it is. Until then a collect with
``--catalog`` leaves the crops labelled with such a SKU for review, saying so: nothing trains on a SKU no store can
sell. The file is replaced whole and atomically under an ``flock`` on ``DIR/.new-products.csv.lock``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, shown
from kiosk.errors import DataError, UserError

__all__ = ["NEW_PRODUCTS", "add_and_label", "import_command", "paise_of", "price_of", "product_of", "read_new_products"]

NEW_PRODUCTS = "new-products.csv"
DEFAULT_GROUP = "new products"  # the group a kiosk's Teach gives a product created without one
_RUPEES = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,2}))?\Z")


def paise_of(text: str) -> int:
    """A price in rupees as typed (``12.50``, ``12.5``, ``12``, ``₹12.50``) in whole paise (1250): a
    :class:`UserError` in one line for more than two decimals, a sign, or anything but a number."""
    raw = text.strip().removeprefix("₹").strip()
    match = _RUPEES.match(raw)
    if not match:
        raise UserError(f"price {text[:30]!r}: rupees with at most two decimals (12.50), no sign")
    whole, fraction = match.groups()
    return int(whole) * 100 + int((fraction or "0").ljust(2, "0"))


def product_of(fields: Mapping[str, str]):
    """The :class:`catalog.model.Sku` of the Label page's new-product form (sku, name, group, sold_by, price in
    rupees, gst_percent, hsn), checked by the catalog import's own row validation; a :class:`UserError` in one line
    naming every problem."""
    from catalog.model import parse_sku_fields

    sku_id = (fields.get("sku") or "").strip()
    row = {k: (fields.get(k) or "").strip() for k in ("sku", "name", "group", "sold_by", "gst_percent", "hsn")}
    row["group"] = row["group"] or DEFAULT_GROUP
    row["price_paise"] = str(paise_of(fields.get("price") or ""))
    sku, errors = parse_sku_fields(row)
    if errors or sku is None:
        raise UserError(f"new product {sku_id[:70] or '?'}: " + "; ".join(str(e) for e in errors))
    return sku


def read_new_products(folder: str | Path) -> dict:
    """SKU id → :class:`catalog.model.Sku` of ``folder/new-products.csv`` (``{}`` when there is none), read with the
    catalog import's validation: a damaged file is one line naming it."""
    from catalog.csv_io import read_catalog_csv

    path = Path(folder) / NEW_PRODUCTS
    if not path.exists():
        return {}
    return {s.sku: s for s in read_catalog_csv(path)}


def price_of(product) -> str:
    """``₹12.50`` (``₹69.50/kg`` sold by weight)."""
    from trainer.fleet.status import rupees

    return f"₹{rupees(product.price_paise)}{'/kg' if product.by_weight else ''}"


def import_command(folder: str | Path, catalog: str | Path | None = None) -> str:
    """The command that adds ``folder``'s new products to head office's catalog."""
    return f"checkout catalog import {shown(Path(folder) / NEW_PRODUCTS)} --db {shown(catalog) if catalog else 'DB'}"


def _text(products: Iterable) -> str:
    from catalog.csv_io import write_skus_csv

    buf = io.StringIO()
    write_skus_csv(list(products), buf)
    return buf.getvalue()


def add_and_label(folder: str | Path, product, keys: Iterable[tuple[str, str, str]], *, user: str,
                  catalog: Collection[str] | None, rows: Mapping | None = None) -> list:
    """Add ``product`` (:func:`product_of`) to ``folder/new-products.csv`` and label every placement ``keys`` names
    with it (:func:`trainer.fleet.labels.set_labels`), all or nothing: refused in one line (nothing written) when the
    SKU is in ``catalog`` (head office's SKUs; None: no catalog to check), is a new product already with other
    fields, or a label is refused. The same product again labels more crops. Returns the labels made."""
    from catalog.csv_io import read_catalog_csv
    from trainer.fleet.labels import locked, set_labels

    folder = Path(folder)
    if catalog is not None and product.sku in catalog:
        raise UserError(f"SKU {product.sku} is already in the catalog: label the crops with it, no new product needed")
    path = folder / NEW_PRODUCTS
    with locked(folder, NEW_PRODUCTS):
        before = path.read_text(encoding="utf-8") if path.exists() else None
        products = read_new_products(folder)
        earlier = products.get(product.sku)
        if earlier is not None and earlier != product:
            raise UserError(f"SKU {product.sku} is already a new product ({earlier.name}, {price_of(earlier)}) with "
                            "other fields: label with it as it is, or choose another SKU")
        if earlier is None:
            text = _text([*products.values(), product])
            read_catalog_csv(path, text=text)  # the whole file as `catalog import` will read it
            _write(path, text)
        try:
            return set_labels(folder, keys, sku=product.sku, user=user, known=catalog, rows=rows)
        except BaseException:
            if earlier is None:  # the product goes with its labels
                _write(path, before) if before is not None else path.unlink(missing_ok=True)
            raise


def _write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot write the new products ({exc.strerror or exc})") from None
