"""``checkout catalog import|export|show``: the catalog's commands (cheap to import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.errors import CatalogError


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    p = sub.add_parser("catalog", help="SKU catalog: import/export CSV, show one SKU",
                       description="The kiosk's SKU catalog (a SQLite file).")
    cmds = p.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)
    groups.setdefault("catalog", cmds)

    imp = cmds.add_parser("import", help="validate a catalog CSV and write it into the catalog (all or nothing)")
    imp.add_argument("csv", type=Path, metavar="FILE.csv")
    imp.add_argument("--db", type=Path, required=True, help="catalog SQLite file (created when missing)")
    imp.set_defaults(func=cmd_import)

    exp = cmds.add_parser("export", help="write the whole catalog as CSV (the import format)")
    exp.add_argument("--db", type=Path, required=True, help="catalog SQLite file")
    exp.add_argument("--out", type=Path, help="CSV file to write (default: stdout)")
    exp.add_argument("--force", action="store_true", help="replace the --out file when it is there (never a database "
                                                          "or a key)")
    exp.set_defaults(func=cmd_export)

    show = cmds.add_parser("show", help="show one SKU (by id, PLU or barcode)")
    show.add_argument("sku", metavar="SKU")
    show.add_argument("--db", type=Path, required=True, help="catalog SQLite file")
    show.set_defaults(func=cmd_show)


def cmd_import(args: argparse.Namespace) -> int:
    import shutil

    from catalog.csv_io import CsvImportError, import_csv, read_import
    from catalog.images import IMAGE_DIR
    from catalog.repository import Catalog
    from kiosk.inputfiles import not_a, path_kind

    kind = path_kind(args.csv)
    if kind not in ("a file", "a named pipe (FIFO)", "a device"):  # a pipe or /dev/stdin is read, bounded
        raise CatalogError(f"{not_a(args.csv, 'a catalog CSV')}" if kind != "missing" else f"{args.csv}: no such file")
    try:  # the file and its images first: a refusal (or a kill while reading) creates no database
        rows = read_import(args.csv)
    except CsvImportError as exc:
        _print_errors(exc)
        raise
    new = not args.db.exists()
    images = args.db.parent / IMAGE_DIR
    new_images = not images.exists()
    try:
        with Catalog.open(args.db) as cat:
            try:
                result = import_csv(cat, rows)
            except CsvImportError as exc:
                _print_errors(exc)
                raise
            print(f"imported {result.total} SKUs into {args.db} ({result.created} new, {result.updated} updated); "
                  f"catalog now holds {len(cat)}")
    except BaseException:
        if new:  # a failed import into a new path leaves no (empty) catalog behind
            _remove_database(args.db)
        if new_images and images.is_dir():
            shutil.rmtree(images, ignore_errors=True)
        raise
    return 0


def _print_errors(exc) -> None:
    for err in exc.errors:  # every problem on its own line; the summary is the error itself
        print(err, file=sys.stderr)


def _remove_database(db: Path) -> None:
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)


def cmd_export(args: argparse.Namespace) -> int:
    from catalog.csv_io import export_csv
    from catalog.repository import Catalog
    from kiosk.bundle_format.atomic import check_output, shown

    if args.out is not None:  # before the catalog is read: a database or key is never replaced by the CSV
        check_output(args.out, force=args.force, error=CatalogError)
    with Catalog.open(args.db, create=False) as cat:
        cat.strict = True  # a row that breaks a rule is an error naming it, not a silent gap in the export
        n = export_csv(cat, args.out)
    if args.out:
        print(f"exported {n} SKUs to {shown(args.out)}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from catalog.repository import Catalog

    with Catalog.open(args.db, create=False) as cat:
        cat.strict = True  # a row that breaks a rule is an error naming it, not "unknown SKU"
        s = cat.lookup(args.sku)
        if s is None:
            raise CatalogError(f"unknown SKU, PLU or barcode {args.sku!r} in {args.db}")
    rupees, paise = divmod(s.price_paise, 100)
    per = "/kg" if s.by_weight else " each"
    weight = ""
    if s.unit_weight_min_g or s.unit_weight_max_g:
        weight = f"{s.unit_weight_min_g or '?'}-{s.unit_weight_max_g or '?'} g"
    rows = [
        ("sku", s.sku), ("name", s.name), ("group", s.group), ("sold by", s.sold_by),
        ("price", f"₹{rupees}.{paise:02d}{per} ({s.price_paise} paise)"), ("GST", f"{s.gst_percent}%"),
        ("HSN", s.hsn), ("PLU", s.plu or "-"), ("barcodes", ", ".join(s.barcodes) or "-"),
        ("unit weight", weight or "-"), ("active", "yes" if s.active else "no"), ("image", s.image or "-"),
    ]
    for k, v in rows:
        print(f"{k:<12}{v}")
    return 0
