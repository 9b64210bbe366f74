"""Catalog CSV import and export.

Format: UTF-8 (a BOM is accepted), comma-separated, one header row with the columns of
:data:`catalog.model.CSV_COLUMNS` (any order; the optional ones may be left out). Lines
starting with ``#`` BEFORE the header are comments (the demo catalog says there that its
prices are made up). ``barcodes`` holds several codes separated by ``;``. ``price_paise`` is
per unit, or per kg for ``sold_by=weight``; ``gst_percent`` is one of 0, 5, 12, 18, 28.

Import validates EVERY row first and collects every problem (line, column, value, reason);
only a file without a single problem is written, in one transaction. Export writes the same
format, so export -> import -> export gives the same bytes.

A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is exported with a leading ``'`` (OWASP's advice against CSV injection); import takes exactly that one ``'``
off again, so the round trip stays exact.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from catalog.images import image_problem, install_image, resolve_source
from catalog.model import CSV_COLUMNS, REQUIRED_COLUMNS, Sku, gtin14, parse_sku_fields, sku_to_fields
from catalog.repository import Catalog
from kiosk.bundle_format.atomic import atomic_open
from kiosk.errors import CatalogError
from kiosk.inputfiles import MB, read_bounded

__all__ = ["CsvImportError", "CsvRows", "RowError", "ImportResult", "read_catalog_csv", "read_import", "import_csv",
           "export_csv", "write_skus_csv"]

MAX_ERRORS_IN_MESSAGE = 5
MAX_VALUE_SHOWN = 60  # characters of a bad cell quoted in a message
#: first characters that make a spreadsheet treat a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(cell: str) -> str:
    """``cell`` as exported: a leading ``'`` when a spreadsheet would run it (or when it already starts with ``'``
    followed by such a character, so that :func:`restore_formula` gives back exactly ``cell``)."""
    if cell.startswith(FORMULA_START) or (cell.startswith("'") and cell[1:].startswith(FORMULA_START)):
        return "'" + cell
    return cell


def formula_safe(cells: Iterable[object]) -> list[object]:
    """A CSV row as every head-office CSV writes it (a catalog export, feedback.csv's provenance, unlabelled.csv,
    ``report taught --new-products``, takings): each text cell through :func:`neutralise_formula`, so a value a
    store sent (a chooser, a product name) never runs as a formula in the spreadsheet that opens it."""
    return [neutralise_formula(c) if isinstance(c, str) else c for c in cells]


def restore_formula(cell: str) -> str:
    """Inverse of :func:`neutralise_formula` (import)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith((*FORMULA_START, "'")) else cell


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) <= MAX_VALUE_SHOWN:
        return text
    return f"{text[:MAX_VALUE_SHOWN]}… ({len(str(value))} characters)"


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    line: int
    column: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: column {self.column} value {_shown(self.value)}: {self.reason}"


class CsvImportError(CatalogError):
    """A catalog CSV with problems; ``errors`` lists every one. Nothing was imported."""

    def __init__(self, path: str, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[:MAX_ERRORS_IN_MESSAGE])
        more = len(self.errors) - MAX_ERRORS_IN_MESSAGE
        super().__init__(f"{path}: {len(self.errors)} problem(s), nothing imported: {shown}"
                         + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def _strip_leading_comments(lines: Iterator[str]) -> Iterator[str]:
    """Blank out ``#`` comment lines before the header so csv's line numbers stay true."""
    in_header_zone = True
    for line in lines:
        if in_header_zone and (line.lstrip().startswith("#") or not line.strip()):
            yield "\n"
            continue
        in_header_zone = False
        yield line


def read_catalog_csv(path: str | Path, text: str | None = None) -> list[Sku]:
    """Parse and validate a whole catalog CSV. Raises :class:`CsvImportError` with EVERY problem.

    ``text`` may hold the file's content (``path`` then only names it in messages).
    """
    return [s for _, s in _read_numbered(path, text)]


def _read_numbered(path: str | Path, text: str | None = None) -> list[tuple[int, Sku]]:
    name = str(path)
    if text is None:
        try:
            raw = read_bounded(path, 256 * MB, "a catalog CSV", error=CatalogError)
        except OSError as exc:
            raise CatalogError(f"{name}: cannot read ({exc.strerror or exc})") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise CatalogError(
                f"{name}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"
            ) from exc
    else:
        text = text.removeprefix("\ufeff")
    errors: list[RowError] = []
    reader = csv.reader(_strip_leading_comments(iter(io.StringIO(text, newline=""))), strict=True)
    header: list[str] | None = None
    header_line = 0
    skus: list[tuple[int, Sku]] = []
    keys: list[tuple[int, list[tuple[str, str]]]] = []
    last_line = 0
    try:
        for row in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if header is None:
                header_line = start
                header = [c.strip() for c in row]
                seen = set()
                for col in header:
                    if col not in CSV_COLUMNS:
                        expected = ", ".join(CSV_COLUMNS)
                        errors.append(RowError(name, start, col, col, f"unknown column (expected {expected})"))
                    elif col in seen:
                        errors.append(RowError(name, start, col, col, "column appears twice"))
                    seen.add(col)
                for col in REQUIRED_COLUMNS:
                    if col not in seen:
                        errors.append(RowError(name, start, col, "", "required column missing from the header"))
                if errors:
                    raise CsvImportError(name, errors)
                continue
            if len(row) != len(header):
                errors.append(RowError(name, start, "*", ",".join(row),
                                       f"has {len(row)} fields, the header has {len(header)}"))
                continue
            fields = dict(zip(header, (restore_formula(cell) for cell in row)))
            sku, problems = parse_sku_fields(fields)
            errors += [RowError(name, start, p.column, p.value, p.reason) for p in problems]
            if sku is not None:
                skus.append((start, sku))
            keys.append((start, _unique_keys(fields)))
    except csv.Error as exc:
        errors.append(RowError(name, reader.line_num, "*", "", f"malformed CSV ({exc})"))
    if header is None:
        errors.append(RowError(name, header_line or 1, "*", "", "no header row (empty file?)"))
    # uniqueness across rows
    firsts: dict[tuple[str, str], int] = {}
    for line, row_keys in keys:  # raw values, so a row with other problems is still checked
        for col, value, raw in row_keys:
            if (col, value) in firsts:
                errors.append(RowError(name, line, col, raw, f"already used on line {firsts[(col, value)]}"
                                       + (" (the same GTIN)" if value != raw else "")))
            else:
                firsts[(col, value)] = line
    if errors:
        errors.sort(key=lambda e: e.line)
        raise CsvImportError(name, errors)
    return skus


def _unique_keys(fields: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(column, key, value)`` of what must be unique across the file: sku, plu, each barcode (keyed by its GTIN-14
    form, so an EAN-13 and a UPC-A spelling of one code collide)."""
    out = []
    for col in ("sku", "plu"):
        v = (fields.get(col) or "").strip()
        if v:
            out.append((col, v, v))
    codes = (fields.get("barcodes") or "").replace(",", ";").split(";")
    unique = {gtin14(c.strip()): c.strip() for c in reversed(codes) if c.strip()}  # a repeat within the row is
    out += [("barcodes", key, code) for key, code in reversed(unique.items())]  # validate_sku's "listed twice"
    return out


@dataclass(frozen=True, slots=True)
class CsvRows:
    """A catalog CSV read and checked on its own (:func:`read_import`): every row valid, every image usable."""
    name: str
    csv_dir: Path
    numbered: list[tuple[int, Sku]]


def read_import(path: str | Path) -> CsvRows:
    """The rows of the catalog CSV at ``path``, each row and its image checked: :class:`CsvImportError` naming every
    problem. Needs no catalog, so ``catalog import`` runs it before the database is opened (or created): a refused
    file -- or an import killed while it reads -- leaves no empty catalog behind."""
    name, csv_dir = str(path), Path(path).parent
    numbered = _read_numbered(path)
    errors = [RowError(name, line, "image", s.image, reason) for line, s in numbered
              if (reason := image_problem(csv_dir, s.image)) is not None]
    if errors:
        raise CsvImportError(name, errors)
    return CsvRows(name, csv_dir, numbered)


def import_csv(catalog: Catalog, path: str | Path | CsvRows) -> ImportResult:
    """Validate the whole file (:func:`read_import`, or the rows it read), check it against the catalog, then
    upsert every row in one transaction.

    SKUs already in the catalog but absent from the file are left as they are. A PLU or barcode
    that the file gives to one SKU while another SKU (not in the file) holds it is an error. Each row's image is
    copied into the catalog's image folder (:mod:`catalog.images`).
    """
    rows = path if isinstance(path, CsvRows) else read_import(path)
    name = rows.name
    skus = [s for _, s in rows.numbered]
    lines = {s.sku: line for line, s in rows.numbered}
    ids = {s.sku for s in skus}
    plu_owner, code_owner = catalog.owners()
    code_owner = {gtin14(code): sku for code, sku in code_owner.items()}
    errors: list[RowError] = []
    for s in skus:
        if s.plu and plu_owner.get(s.plu, s.sku) not in ids:
            errors.append(RowError(name, lines.get(s.sku, 0), "plu", s.plu,
                                   f"already the PLU of {plu_owner[s.plu]!r} in the catalog"))
        for code in s.barcodes:
            if code_owner.get(gtin14(code), s.sku) not in ids:
                errors.append(RowError(name, lines.get(s.sku, 0), "barcodes", code,
                                       f"already a barcode of {code_owner[gtin14(code)]!r} in the catalog"))
    if errors:
        raise CsvImportError(name, sorted(errors, key=lambda e: e.line))
    skus = [_with_installed_image(s, rows.csv_dir, catalog.path) for s in skus]
    existing = {s.sku for s in catalog.all()}
    catalog.upsert_many(skus)
    created = sum(1 for s in skus if s.sku not in existing)
    return ImportResult(created=created, updated=len(skus) - created)


def _with_installed_image(sku: Sku, csv_dir: Path, catalog_path: Path | None) -> Sku:
    if not sku.image:
        return sku
    source = resolve_source(csv_dir, sku.image)
    if catalog_path is None:  # an in-memory catalog has no folder: keep where the photo is
        return replace(sku, image=str(source.resolve()))
    return replace(sku, image=install_image(source, Path(catalog_path), sku.sku))


def write_skus_csv(skus: Sequence[Sku], out: TextIO, *, comments: Sequence[str] = ()) -> None:
    """Write SKUs in the catalog CSV format (``comments`` become leading ``# `` lines)."""
    for c in comments:
        for part in c.splitlines() or [""]:
            out.write(f"# {part}".rstrip() + "\n")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for s in skus:
        writer.writerow({col: neutralise_formula(cell) for col, cell in sku_to_fields(s).items()})


def export_csv(catalog: Catalog, out: str | Path | TextIO | None = None) -> int:
    """Write every SKU (inactive ones too, sorted by id) to ``out`` (a path, a text stream, or stdout).

    Written to a file, image paths are relative to that file's folder, so the CSV imports again from where it
    is; to a stream, they are as stored (relative to the catalog's folder).
    """
    skus = catalog.all()
    if out is None:
        write_skus_csv(skus, sys.stdout)
    elif isinstance(out, (str, Path)):
        path = Path(out)
        if catalog.path is not None:
            skus = [_image_relative_to(s, Path(catalog.path).parent, path.parent) for s in skus]
        with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
            write_skus_csv(skus, fh)
    else:
        write_skus_csv(skus, out)
    return len(skus)


def _image_relative_to(sku: Sku, catalog_dir: Path, out_dir: Path) -> Sku:
    if not sku.image or Path(sku.image).is_absolute():
        return sku
    return replace(sku, image=Path(os.path.relpath(catalog_dir / sku.image, out_dir.resolve())).as_posix())
