"""``checkout bench hardening``: a seeded property run over what a store or an attacker can feed the kiosk.

Three properties, each over ``cases`` generated inputs (plain seeded generators: the same ``--seed`` gives the same
run):

* **catalog rows** — hostile CSV rows (formula cells, control characters, NUL, Arabic-Indic and superscript digits,
  5,000-digit numbers, ``../`` image paths, one GTIN in two lengths …) are imported in files of
  :data:`ROWS_PER_FILE`. An import either succeeds or is refused with a :class:`~kiosk.errors.UserError` naming
  line, column and value; anything else is a traceback. Every stored name and group is one printable NFC line,
  every exported cell is formula-safe, and export → import → export gives the same bytes.
* **receipts** — each generated name (catalog checks bypassed: straight into a cart line) and store header is
  rendered; the receipt must have exactly the lines the same sale with plain names has, none wider than the roll.
* **search** — generated search strings (thousands of words, a 50,000-character word, lone surrogates, control
  characters) against a catalog: a list comes back, never an exception.

The result counts tracebacks; the command exits 1 when there is one.
"""

from __future__ import annotations

import random
import string
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["HardeningResult", "hostile_text", "hostile_row", "hostile_search", "run_hardening", "format_result"]

ROWS_PER_FILE = 250

#: pieces an attacker (or a spreadsheet) puts into catalog text
_NASTY = ["\n", "\r", "\r\n", "\x00", "\t", "\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029", "\u202e",
          "\u200b", "\u200d", "\ufeff", "\ud800", "\udfff", "\ue000", "\u0301", "\u0308", "TOTAL ₹0.01",
          "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "'=1", "\"", ",", ";", "#", "\\", "../", "%s", "{}",
          "٥", "١٢", "²", "³", "٣", "５", "Ｔ", "中", "🍌", "é", "é", "ﬁ", "Ⅻ", " ", "\u00a0", "\u3000"]
_DIGITS = ["0", "5", "12", "18", "28", "٥", "١٨", "²", "５", "-5", "--5", "+5", "5.0", "1e3", "0x10", " 7 ", "",
           "9" * 5000, "1" * 13, "-0", "00012", "5%", "%", "٥%"]


def _piece(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_NASTY)
    if roll < 0.55:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randint(1, 8)))
    if roll < 0.6:
        return "".join(chr(rng.randrange(0x0, 0x10FFFF)) for _ in range(rng.randint(1, 4)))
    return "".join(rng.choice(string.ascii_letters + string.digits + " .-&()'") for _ in range(rng.randint(1, 12)))


def hostile_text(rng: random.Random, max_pieces: int = 8) -> str:
    """Text built from ordinary words, odd Unicode and the classic injection pieces; sometimes very long."""
    text = "".join(_piece(rng) for _ in range(rng.randint(1, max_pieces)))
    if rng.random() < 0.03:
        text *= rng.randint(20, 400)
    return text


def _gtin(rng: random.Random, length: int) -> str:
    body = "".join(rng.choice(string.digits) for _ in range(length - 1))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _barcodes(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return ""
    if roll < 0.55:  # one GTIN written as UPC-A and as EAN-13 (in this row, or as a later row's)
        code = _BARCODE_POOL[rng.randrange(len(_BARCODE_POOL))]
        return rng.choice([f"{code};0{code}", f"0{code}", code])
    return ";".join(_gtin(rng, rng.choice((8, 12, 13, 14))) for _ in range(rng.randint(1, 2)))


_BARCODE_POOL = [_gtin(random.Random(i), 12) for i in range(50)]


_HOSTILE_CELLS = {
    "sku": lambda r: hostile_text(r, 2),
    "group": hostile_text,
    "sold_by": lambda r: r.choice(["kg", "UNIT", "", "wéight", "unit\n"]),
    "price_paise": lambda r: r.choice(_DIGITS),
    "gst_percent": lambda r: r.choice(_DIGITS),
    "hsn": lambda r: r.choice(["٠٨٠٣", "08O3", "²²²²", "123", ""]),
    "plu": lambda r: r.choice(["٤٠١١", "0123", "99", "1²34"]),
    "barcodes": lambda r: hostile_text(r, 3),
    "unit_weight_min_g": lambda r: r.choice(_DIGITS),
    "unit_weight_max_g": lambda r: r.choice(_DIGITS),
    "active": lambda r: r.choice(["maybe", "٫", "true\x00"]),
    "image": lambda r: r.choice(["../../../../etc/passwd", "/etc/passwd", "images/x.jpg", "a\x00b.jpg",
                                 "photos/../../secret.jpg", "..\\..\\win.ini", "x.jpg\n", "\u202egpj.exe"]),
}


def hostile_row(rng: random.Random, n: int) -> dict[str, str]:
    """One catalog CSV row: a valid row whose name is odd text half the time, with 0-3 other cells made hostile."""
    row = {
        "sku": f"s{n:06d}", "name": hostile_text(rng) if rng.random() < 0.5 else f"Product {n}",
        "group": "Fruit", "sold_by": rng.choice(("unit", "weight")), "price_paise": str(rng.randint(1, 10**6)),
        "gst_percent": rng.choice(("0", "5", "12", "18", "28")), "hsn": rng.choice(("0803", "080390", "08039010")),
        "plu": "" if rng.random() < 0.6 else str(10000 + n % 90000), "barcodes": _barcodes(rng),
        "unit_weight_min_g": "", "unit_weight_max_g": "", "active": rng.choice(("1", "0", "yes", "")), "image": "",
    }
    for col in rng.sample(sorted(_HOSTILE_CELLS), rng.choice((0, 0, 1, 1, 2, 3))):
        row[col] = _HOSTILE_CELLS[col](rng)
    return row


def hostile_search(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return " ".join(rng.choice(("a", "b", "banana", "١")) for _ in range(rng.randint(990, 3000)))
    if roll < 0.08:
        return rng.choice(string.ascii_lowercase) * rng.randint(10_000, 50_000)
    if roll < 0.12:
        return "\ud800" + hostile_text(rng, 2) + "\udfff"
    if roll < 0.2:
        return "".join(rng.choice(string.digits + "٥٢%_\\'\"") for _ in range(rng.randint(1, 20)))
    return hostile_text(rng)


@dataclass
class HardeningResult:
    seed: int
    counts: Counter = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.tracebacks and not self.counts["receipt_line_mismatches"] and not self.counts[
            "unsafe_stored_text"] and not self.counts["formula_cells_exported"] and not self.counts[
            "round_trip_mismatches"]

    def failed(self, what: str, exc: BaseException) -> None:
        self.counts["tracebacks"] += 1
        if len(self.tracebacks) < 5:
            self.tracebacks.append(f"{what}: " + "".join(traceback.format_exception(exc)))


def _csv_text(rows: list[dict[str, str]]) -> str:
    import csv
    import io

    from catalog.model import CSV_COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in row.items()})
    return out.getvalue()


def _check_catalog(catalog, result: HardeningResult) -> None:
    import csv
    import io

    from catalog.csv_io import FORMULA_START
    from catalog.model import MAX_GROUP, MAX_NAME, text_problem

    for s in catalog.all():
        if text_problem(s.name, MAX_NAME) or text_problem(s.group, MAX_GROUP):
            result.counts["unsafe_stored_text"] += 1
        result.counts["formula_like_names_stored"] += s.name.startswith(FORMULA_START)
    rows = list(csv.reader(io.StringIO(_export(catalog), newline="")))[1:]
    result.counts["formula_cells_exported"] += sum(1 for row in rows for cell in row if cell.startswith(FORMULA_START))


def _export(catalog) -> str:
    import io

    from catalog.csv_io import export_csv

    out = io.StringIO()
    export_csv(catalog, out)
    return out.getvalue()


def run_catalog_rows(cases: int, rng: random.Random, result: HardeningResult, work: Path) -> None:
    """Import ``cases`` hostile rows in files of :data:`ROWS_PER_FILE`; count what was accepted and refused."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.errors import UserError

    with Catalog.open(work / "catalog.sqlite") as catalog:
        for start in range(0, cases, ROWS_PER_FILE):
            rows = [hostile_row(rng, n) for n in range(start, min(cases, start + ROWS_PER_FILE))]
            result.counts["catalog_rows"] += len(rows)
            path = work / f"rows-{start}.csv"
            path.write_text(_csv_text(rows), encoding="utf-8")
            try:
                import_csv(catalog, path)
                result.counts["catalog_files_imported"] += 1
            except UserError as exc:
                result.counts["catalog_files_refused"] += 1
                result.counts["catalog_problems_reported"] += len(getattr(exc, "errors", [exc]))
                _import_good_rows(catalog, path, exc, result)
            except Exception as exc:  # noqa: BLE001 - what the run counts
                result.failed(f"import {path.name}", exc)
        result.counts["catalog_skus_stored"] = len(catalog)
        _check_catalog(catalog, result)
        _round_trip(catalog, work, result)


def _import_good_rows(catalog, path: Path, exc, result: HardeningResult) -> None:
    """Import the rows the refusal did not name, as a store would after fixing the file (a second pass may name
    more: conflicts with the catalog and unreadable photos are checked once the rows themselves are valid)."""
    from catalog.csv_io import import_csv
    from kiosk.errors import UserError

    for _ in range(3):
        keep, header = _rows_not_named(path, {e.line for e in getattr(exc, "errors", [])})
        if not keep:
            return
        path.write_text(_csv_text([dict(zip(header, row)) for row in keep]), encoding="utf-8")
        try:
            import_csv(catalog, path)
            result.counts["catalog_rows_imported_after_fix"] += len(keep)
            return
        except UserError as again:
            exc = again
        except Exception as exc2:  # noqa: BLE001
            result.failed(f"re-import {path.name}", exc2)
            return
    result.counts["catalog_files_refused_after_fix"] += 1


def _rows_not_named(path: Path, bad_lines: set[int]) -> tuple[list[list[str]], list[str]]:
    import csv

    keep = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        start = reader.line_num + 1
        for row in reader:
            if start not in bad_lines:
                keep.append(row)
            start = reader.line_num + 1
    return keep, header


def _round_trip(catalog, work: Path, result: HardeningResult) -> None:
    from catalog.csv_io import export_csv, import_csv
    from catalog.repository import Catalog

    first = work / "export-1.csv"
    export_csv(catalog, first)
    with Catalog.open(work / "again.sqlite") as again:
        try:
            import_csv(again, first)
            export_csv(again, work / "export-2.csv")
            same = first.read_bytes() == (work / "export-2.csv").read_bytes()
            result.counts["round_trip_mismatches"] += 0 if same else 1
        except Exception as exc:  # noqa: BLE001
            result.failed("export/import round trip", exc)


def _receipt_lines(names: list[str], store_name: str, width: int = 42) -> list[str]:
    from kiosk.domain.cart import Cart, CartLine
    from kiosk.domain.receipt import Receipt, StoreInfo

    cart = Cart("c1")
    for i, name in enumerate(names):
        cart.add(CartLine.unit(f"s{i}", name, 100 + i, 500) if i % 2 == 0
                 else CartLine.weighed(f"s{i}", name, 10_000, 0, 250 + i))
    cart.close()
    store = StoreInfo(name=store_name, address=store_name, gstin=store_name[:15], kiosk_id=store_name[:4])
    receipt = Receipt.from_cart(cart, "K1-000001", datetime(2026, 1, 1, tzinfo=timezone.utc), store=store,
                                payment_method=store_name[:10])
    return receipt.to_text(width).split("\n")


def run_receipts(cases: int, rng: random.Random, result: HardeningResult) -> None:
    """Render ``cases`` hostile names (3 to a receipt, catalog checks bypassed) and compare with plain names."""
    from kiosk.domain.receipt import columns

    done = 0
    while done < cases:
        names = [hostile_text(rng) for _ in range(min(3, cases - done))]
        header = hostile_text(rng, 3) if rng.random() < 0.5 else "Green Basket"
        plain = _receipt_lines([f"item {i}" for i in range(len(names))], "Green Basket")
        try:
            lines = _receipt_lines(names, header)
        except Exception as exc:  # noqa: BLE001
            result.failed(f"receipt for {names!r}"[:200], exc)
            lines = plain
        if len(lines) != len(plain) or any(columns(line) > 42 for line in lines):
            result.counts["receipt_line_mismatches"] += 1
        done += len(names)
        result.counts["receipt_names"] += len(names)
        result.counts["receipts"] += 1


def run_search(cases: int, rng: random.Random, result: HardeningResult, work: Path) -> None:
    """Search the demo-sized catalog ``cases`` times with hostile strings; every answer must be a list."""
    from catalog.repository import Catalog

    with Catalog.open(work / "catalog.sqlite") as catalog:
        for _ in range(cases):
            text = hostile_search(rng)
            try:
                found = catalog.search(text, limit=12)
                if not isinstance(found, list):
                    raise TypeError(f"search returned {type(found).__name__}")
                result.counts["search_hits"] += len(found)
            except Exception as exc:  # noqa: BLE001
                result.failed(f"search for {len(text)} characters", exc)
            result.counts["searches"] += 1


def run_hardening(cases: int, seed: int, work: Path | None = None) -> HardeningResult:
    """All three properties with ``cases`` inputs each; ``work``: a folder for the catalogs (default: temporary)."""
    result = HardeningResult(seed)
    with tempfile.TemporaryDirectory(prefix="hardening-") as tmp:
        root = Path(work) if work is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        run_catalog_rows(cases, random.Random(seed), result, root)
        run_receipts(cases, random.Random(seed + 1), result)
        run_search(cases, random.Random(seed + 2), result, root)
    return result


def format_result(result: HardeningResult) -> str:
    c = result.counts
    lines = [
        f"hardening run, seed {result.seed}",
        f"  catalog rows generated {c['catalog_rows']}: files imported {c['catalog_files_imported']}, refused "
        f"{c['catalog_files_refused']} ({c['catalog_problems_reported']} problems named by line/column/value), rows "
        f"imported once the named ones were taken out {c['catalog_rows_imported_after_fix']}; "
        f"SKUs stored {c['catalog_skus_stored']}; unsafe stored names/groups {c['unsafe_stored_text']}; "
        f"names starting like a formula {c['formula_like_names_stored']}, exported as formulas "
        f"{c['formula_cells_exported']}; export/import/export mismatches {c['round_trip_mismatches']}",
        f"  receipts rendered {c['receipts']} with {c['receipt_names']} generated names: extra or over-wide lines "
        f"{c['receipt_line_mismatches']}",
        f"  search strings {c['searches']}: results {c['search_hits']}",
        f"  tracebacks {c['tracebacks']}",
    ]
    lines += [f"  --- {t}" for t in result.tracebacks]
    return "\n".join(lines)
