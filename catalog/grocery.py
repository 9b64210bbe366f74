"""Demo catalog rows for the 81 products of the Grocery Store dataset (Klasson et al., WACV 2019).

``grocery_catalog_rows(src)`` reads ``classes.csv`` and each product's ``*_Information.txt``
from the dataset folder and returns one catalog row per product:

* ``sku`` = class name in lower case (``granny-smith``); ``group`` = the coarse class (``Apple``);
* ``sold_by`` = ``weight`` when the product URL ends in ``_KG``, else ``unit``;
* ``unit_weight_min_g``/``max_g`` from a weight in the text: "ca 180g" -> 126..234 g (±30 %),
  an exact pack weight "750g" -> 750..825 g (net weight plus up to 10 % packaging);
* ``price_paise``: DEMO prices (hand-set, plausible Indian retail, per kg for weighed items);
* ``gst_percent`` / ``hsn`` as an Indian retailer would file them (see :data:`TAX_BY_GROUP`);
* ``plu``: fresh produce only, 1xx for fruit and 2xx for vegetables (store-internal codes);
* ``barcodes``: packaged goods only, DEMO EAN-13s in the GS1 in-store range (prefix 200);
* ``image``: ``products/<sku>.jpg``, relative to the CSV (``assets/demo/products``), a copy of the iconic image; the
  dataset-relative source path is in the row's extra key ``source_image``.

``write_catalog_csv(rows, path)`` writes them in the catalog CSV format with a header comment
that marks the prices as demo data. Run ``python -m catalog.grocery SRC [OUT]`` to regenerate
``assets/demo/catalog.csv``.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from catalog.model import CSV_COLUMNS, gtin_check_digit, parse_sku_fields, sku_to_fields
from kiosk.bundle_format.atomic import atomic_open
from kiosk.errors import CatalogError

__all__ = ["grocery_catalog_rows", "write_catalog_csv", "DEMO_IMAGE_DIR", "DEMO_NOTICE", "demo_image_path"]

DEMO_IMAGE_DIR = "products"  # relative to the catalog CSV (assets/demo/catalog.csv)
#: Header comment of the demo CSV (one line each).
DEMO_NOTICE: tuple[str, ...] = (
    "DEMO catalog for the Grocery Store dataset (Klasson et al., WACV 2019, MIT licence).",
    "Prices are made-up DEMO values in paise (per kg for sold_by=weight), NOT real prices.",
    "Barcodes are demo EAN-13s in the GS1 in-store range 200; PLUs are store-internal (1xx fruit, 2xx veg).",
    "GST rates and HSN codes as an Indian retailer files them; images: products/<sku>.jpg (beside this file).",
    "Regenerate: python -m catalog.grocery ../shared/datasets/grocery-store assets/demo/catalog.csv",
)

#: coarse class -> (GST %, HSN) for the products in the dataset (rates as in force before Sept 2025).
TAX_BY_GROUP: dict[str, tuple[int, str]] = {
    # fresh fruit: nil-rated, HSN chapter 08
    "Apple": (0, "080810"), "Pear": (0, "080830"), "Avocado": (0, "080440"), "Mango": (0, "080450"),
    "Pineapple": (0, "080430"), "Banana": (0, "080390"), "Kiwi": (0, "081050"), "Lemon": (0, "080550"),
    "Lime": (0, "080550"), "Melon": (0, "080719"), "Papaya": (0, "080720"), "Nectarine": (0, "080930"),
    "Peach": (0, "080930"), "Plum": (0, "080940"), "Orange": (0, "080510"), "Red-Grapefruit": (0, "080540"),
    "Satsumas": (0, "080521"), "Pomegranate": (0, "081090"), "Passion-Fruit": (0, "081090"),
    # fresh vegetables: nil-rated, chapter 07 (fresh ginger 0910 11, also nil)
    "Asparagus": (0, "070920"), "Aubergine": (0, "070930"), "Cabbage": (0, "070490"), "Carrots": (0, "070610"),
    "Cucumber": (0, "070700"), "Garlic": (0, "070320"), "Ginger": (0, "091011"), "Leek": (0, "070390"),
    "Mushroom": (0, "070951"), "Onion": (0, "070310"), "Pepper": (0, "070960"), "Potato": (0, "070190"),
    "Red-Beet": (0, "070690"), "Tomato": (0, "070200"), "Zucchini": (0, "070993"),
    # packaged goods
    "Juice": (12, "200990"),       # fruit juices, 2009: 12 %
    "Milk": (0, "040120"),         # fresh pasteurised milk, 0401: nil-rated
    "Yoghurt": (5, "040320"),      # pre-packed, labelled curd/yoghurt: 5 %
    "Sour-Milk": (5, "040390"),    # fermented milk (buttermilk-like): 5 %
    "Sour-Cream": (5, "040390"),   # fermented cream: 5 %
    "Soy-Milk": (12, "220299"),    # soya milk drinks: 12 %
    "Oat-Milk": (18, "220299"),    # other non-alcoholic plant beverages: 18 %
    "Soyghurt": (18, "210690"),    # food preparations n.e.s.: 18 %
    "Oatghurt": (18, "210690"),
}
#: finer HSN for some juices (6-digit HS: apple / orange / grapefruit juice, Brix value <= 20)
HSN_BY_SKU = {
    "bravo-apple-juice": "200971", "god-morgon-apple-juice": "200971", "tropicana-apple-juice": "200971",
    "bravo-orange-juice": "200912", "god-morgon-orange-juice": "200912", "tropicana-juice-smooth": "200912",
    "god-morgon-red-grapefruit-juice": "200921", "tropicana-golden-grapefruit": "200921",
    "sweet-potato": "071420",  # sweet potatoes are chapter 0714, not 0701
}

#: DEMO prices in paise: per kg for products the dataset sells by weight, else per piece / pack.
DEMO_PRICES: dict[str, int] = {
    # fruit
    "golden-delicious": 22000, "granny-smith": 26000, "pink-lady": 28000, "red-delicious": 24000,
    "royal-gala": 25000, "avocado": 12000, "banana": 6950, "kiwi": 3000, "lemon": 1000, "lime": 800,
    "mango": 8000, "cantaloupe": 9000, "galia-melon": 12000, "honeydew-melon": 8500, "watermelon": 3200,
    "nectarine": 32000, "orange": 12000, "papaya": 6000, "passion-fruit": 4000, "peach": 28000, "anjou": 26000,
    "conference": 24000, "kaiser": 25000, "pineapple": 9000, "plum": 30000, "pomegranate": 20000,
    "red-grapefruit": 7000, "satsumas": 16000,
    # juice
    "bravo-apple-juice": 25000, "bravo-orange-juice": 25000, "god-morgon-apple-juice": 17900,
    "god-morgon-orange-juice": 17900, "god-morgon-orange-red-grapefruit-juice": 18900,
    "god-morgon-red-grapefruit-juice": 18900, "tropicana-apple-juice": 21000, "tropicana-golden-grapefruit": 22500,
    "tropicana-juice-smooth": 21000, "tropicana-mandarin-morning": 22500,
    # dairy and alternatives
    "arla-ecological-medium-fat-milk": 8500, "arla-lactose-medium-fat-milk": 9500, "arla-medium-fat-milk": 6800,
    "arla-standard-milk": 7200, "garant-ecological-medium-fat-milk": 8000, "garant-ecological-standard-milk": 8400,
    "oatly-natural-oatghurt": 32000, "oatly-oat-milk": 27500, "arla-ecological-sour-cream": 15000,
    "arla-sour-cream": 13500, "arla-sour-milk": 12000, "alpro-blueberry-soyghurt": 35000,
    "alpro-vanilla-soyghurt": 35000, "alpro-fresh-soy-milk": 19900, "alpro-shelf-soy-milk": 18000,
    "arla-mild-vanilla-yoghurt": 18500, "arla-natural-mild-low-fat-yoghurt": 16500, "arla-natural-yoghurt": 16000,
    "valio-vanilla-yoghurt": 22000, "yoggi-strawberry-yoghurt": 19500, "yoggi-vanilla-yoghurt": 18500,
    # vegetables
    "asparagus": 35000, "aubergine": 2500, "cabbage": 4000, "carrots": 6000, "cucumber": 1500, "garlic": 30000,
    "ginger": 16000, "leek": 18000, "brown-cap-mushroom": 40000, "yellow-onion": 4000, "green-bell-pepper": 12000,
    "orange-bell-pepper": 30000, "red-bell-pepper": 30000, "yellow-bell-pepper": 30000, "floury-potato": 3500,
    "solid-potato": 4000, "sweet-potato": 8000, "red-beet": 6000, "beef-tomato": 9000, "regular-tomato": 4000,
    "vine-tomato": 12000, "zucchini": 4000,
}

_WEIGHT = re.compile(r"(?P<ca>\bca\.?\s*)?(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>kg|g)\b", re.IGNORECASE)
_VOLUME = re.compile(r"(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>kg|g|dl|ml|cl|l)\b", re.IGNORECASE)


def demo_image_path(sku: str) -> str:
    """Where the demo catalog's product photo is, relative to the CSV's folder (``assets/demo``)."""
    return f"{DEMO_IMAGE_DIR}/{sku}.jpg"


def _read_info(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lstrip("\ufeff")
        if sep and key and not line.startswith((" ", "\t")) and key not in fields:
            fields[key] = value.strip()
    return fields


def _info_file(src: Path, description_path: str, class_name: str) -> Path:
    folder = (src / description_path.lstrip("/")).parent
    for name in (f"{class_name}_Information.txt", f"{class_name}-Information.txt"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*Information.txt"))
    if len(found) == 1:
        return found[0]
    raise CatalogError(f"{folder}: no *_Information.txt for class {class_name}")


def _unit_weight_range(volume: str) -> tuple[int | None, int | None]:
    m = _WEIGHT.search(volume)
    if not m:
        return None, None
    grams = float(m["num"].replace(",", ".")) * (1000 if m["unit"].lower() == "kg" else 1)
    grams_i = int(round(grams))
    if m["ca"]:
        return (grams_i * 7 + 5) // 10, (grams_i * 13 + 5) // 10
    return grams_i, (grams_i * 11 + 5) // 10


def _pack_size(volume: str) -> str:
    """'BRAVO , 2l' -> '2 l'; '3dl' -> '300 ml'; '' when none."""
    m = _VOLUME.search(volume)
    if not m:
        return ""
    num, unit = m["num"].replace(",", "."), m["unit"].lower()
    if unit == "dl":
        return f"{int(round(float(num) * 100))} ml"
    if unit == "cl":
        return f"{int(round(float(num) * 10))} ml"
    return f"{num} {unit}"


def _display_name(class_name: str, coarse: str, family: str, pack: str) -> str:
    name = class_name.replace("-", " ")
    if family != "Packages":
        noun = coarse.replace("-", " ")
        noun = {"Carrots": "Carrot", "Satsumas": "Satsuma"}.get(noun, noun)
        if noun.casefold() not in name.casefold():
            name = f"{name} {noun}"
    elif pack:
        name = f"{name} {pack}"
    return name


def grocery_catalog_rows(src: Path) -> list[dict]:
    """One catalog row (CSV column -> text) per product of the dataset at ``src``, in class-id order.

    Each row also carries ``source_image`` (iconic image path relative to ``src``), ``class_id``
    and ``family`` (Fruit / Vegetables / Packages), which the CSV does not store.
    """
    src = Path(src)
    classes = src / "classes.csv"
    if not classes.is_file():
        raise CatalogError(f"{classes}: not found (expected the grocery-store dataset folder)")
    with open(classes, encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))[1:]
    rows: list[dict] = []
    fruit_plu, veg_plu = 100, 200
    for line_no, rec in enumerate(records, start=2):
        if not rec:
            continue
        if len(rec) < 6:
            raise CatalogError(f"{classes}:{line_no}: expected 6 columns, got {len(rec)}")
        class_name, class_id, coarse, _coarse_id, iconic, description = (c.strip() for c in rec[:6])
        family = iconic.strip("/").split("/")[1]
        sku = class_name.lower()
        info = _read_info(_info_file(src, description, class_name))
        url = info.get("URL", "")
        volume = info.get("Country and volume") or info.get("Manufacturer and volume") or ""
        volume = volume.rsplit(",", 1)[-1] if "," in volume else ""
        sold_by = "weight" if url.rstrip("/").upper().endswith("_KG") else "unit"
        wmin, wmax = _unit_weight_range(volume)
        if sku not in DEMO_PRICES:
            raise CatalogError(f"{classes}:{line_no}: no demo price for {sku!r}")
        if coarse not in TAX_BY_GROUP:
            raise CatalogError(f"{classes}:{line_no}: no GST/HSN for group {coarse!r}")
        gst, hsn = TAX_BY_GROUP[coarse]
        plu = barcode = ""
        if family == "Fruit":
            fruit_plu += 1
            plu = str(fruit_plu)
        elif family == "Vegetables":
            veg_plu += 1
            plu = str(veg_plu)
        else:
            body = f"200{int(class_id):09d}"
            barcode = body + str(gtin_check_digit(body))
        rows.append({
            "sku": sku,
            "name": _display_name(class_name, coarse, family, _pack_size(volume)),
            "group": coarse,
            "sold_by": sold_by,
            "price_paise": str(DEMO_PRICES[sku]),
            "gst_percent": str(gst),
            "hsn": HSN_BY_SKU.get(sku, hsn),
            "plu": plu,
            "barcodes": barcode,
            "unit_weight_min_g": "" if wmin is None else str(wmin),
            "unit_weight_max_g": "" if wmax is None else str(wmax),
            "active": "1",
            "image": demo_image_path(sku),
            "source_image": iconic.lstrip("/"),
            "class_id": int(class_id),
            "family": family,
        })
    for row in rows:  # every generated row must pass the catalog's own validation
        _, problems = parse_sku_fields(row)
        if problems:
            raise CatalogError(f"generated row for {row['sku']} is invalid: {'; '.join(map(str, problems))}")
    return rows


def write_catalog_csv(rows: Sequence[dict], path: Path, *, notice: Sequence[str] = DEMO_NOTICE) -> Path:
    """Write rows (as from :func:`grocery_catalog_rows`) as a catalog CSV; extra keys are dropped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        for line in notice:
            fh.write(f"# {line}\n")
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            sku, problems = parse_sku_fields(row)
            if problems:
                raise CatalogError(f"row for {row.get('sku')!r} is invalid: {'; '.join(map(str, problems))}")
            writer.writerow(sku_to_fields(sku))
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m catalog.grocery DATASET_DIR [OUT.csv]  (default OUT: assets/demo/catalog.csv)")
        return 0 if argv else 2
    out = Path(argv[1]) if len(argv) > 1 else Path("assets/demo/catalog.csv")
    rows = grocery_catalog_rows(Path(argv[0]))
    write_catalog_csv(rows, out)
    print(f"wrote {len(rows)} SKUs to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
