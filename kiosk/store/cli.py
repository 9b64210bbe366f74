"""``checkout receipt reprint [RECEIPT_NO | --last] --store DB``: a receipt again, from the kiosk's sales file;
``checkout receipt day [--date DAY] --store DB [--json] [--csv FILE]``: the day's takings (end-of-day report);
``checkout receipt list [--date DAY] --store DB [--json]``: the day's receipts, one line each.

The copy is the stored receipt under a ``DUPLICATE`` line (never a second sale), and the reprint is recorded in the
store with who asked (``--by``, default the login name). Cheap to import: the store is opened in the handler.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from kiosk.errors import UserError


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    receipt = group(sub, groups, "receipt", "receipts of closed sales")
    p = receipt.add_parser("reprint", help="print a receipt again (marked DUPLICATE; the reprint is recorded)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("receipt_no", nargs="?", metavar="RECEIPT_NO", help="e.g. K1-000123")
    which.add_argument("--last", action="store_true", help="the last sale's receipt")
    p.add_argument("--store", type=Path, required=True, help="the kiosk's sales database")
    p.add_argument("--by", default=None, help="who is reprinting (default: the login name)")
    p.set_defaults(func=cmd_receipt_reprint)
    p = _a_day(receipt, "day", "the day's takings (end-of-day report): sales, payments, GST per rate, staff changes; "
                               "--csv for the accountant", "print the report as one JSON object (amounts in paise)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per receipt and GST rate there")
    p.set_defaults(func=cmd_receipt_day)
    p = _a_day(receipt, "list", "the day's receipts: number, time, items, total, how paid (to find one to reprint)",
               "one JSON object per line (amounts in paise)")
    p.set_defaults(func=cmd_receipt_list)


def _a_day(receipt, name: str, what: str, json_help: str) -> argparse.ArgumentParser:
    """A command over one day of the kiosk's sales: ``--store``, ``--date``, ``--json``."""
    p = receipt.add_parser(name, help=what)
    p.add_argument("--store", type=Path, required=True, help="the kiosk's sales database")
    p.add_argument("--date", default="today", metavar="YYYY-MM-DD",
                   help="the day (the kiosk's local date; also today, yesterday; default today)")
    p.add_argument("--json", action="store_true", help=json_help)
    return p


def _who(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def cmd_receipt_reprint(args: argparse.Namespace) -> int:
    from kiosk.store import SalesStore, StoreError

    if not args.store.is_file():
        raise UserError(f"{args.store}: no sales database there")
    try:
        with SalesStore.open(args.store) as store:
            copy = store.reprint(None if args.last else args.receipt_no, by=_who(args.by))
    except StoreError as exc:
        raise UserError(str(exc)) from None
    print(copy.text, end="" if copy.text.endswith("\n") else "\n")
    return 0


def _day(text: str) -> date:
    today = datetime.now().astimezone().date()
    named = {"today": today, "yesterday": today - timedelta(days=1)}
    if text in named:
        return named[text]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r}: not a date (YYYY-MM-DD, today or yesterday)") from None


def _write_csv(path: Path, rows: list[tuple[str, ...]]) -> None:
    from kiosk.bundle_format.atomic import atomic_write
    from kiosk.domain.takings import TAX_CSV_HEADER

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TAX_CSV_HEADER)
    writer.writerows(rows)
    try:
        atomic_write(path, buf.getvalue().encode("utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot write the CSV ({exc.strerror or exc})") from None


def _days_receipts(args: argparse.Namespace):
    """``(day, its receipts, its takings)`` from ``--store`` and ``--date``; one line when either is wrong."""
    from kiosk.store import SalesStore, StoreError

    day = _day(args.date)
    if not args.store.is_file():
        raise UserError(f"{args.store}: no sales database there")
    try:
        with SalesStore.open(args.store) as store:
            receipts = store.receipts_on(day)
            return day, receipts, store.takings(day, receipts)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def cmd_receipt_list(args: argparse.Namespace) -> int:
    from kiosk.domain.money import format_inr

    day, receipts, _takings = _days_receipts(args)
    for r in receipts:
        b = r.bill
        if args.json:
            print(json.dumps({"receipt_no": r.receipt_no, "issued_at": r.issued_at.isoformat(), "items": b.item_count,
                              "total": b.total, "payment_method": r.payment_method}))
        else:
            print(f"{r.receipt_no:<14} {r.issued_at:%H:%M}  {b.item_count:>3} item(s) {format_inr(b.total):>14}  "
                  f"{r.payment_method.upper()}")
    if not args.json:
        print(f"{len(receipts)} receipt(s) on {day:%d-%m-%Y}", file=sys.stderr)
    return 0


def cmd_receipt_day(args: argparse.Namespace) -> int:
    from kiosk.domain.takings import tax_csv_rows

    _, receipts, takings = _days_receipts(args)
    if args.csv:
        _write_csv(args.csv, tax_csv_rows(receipts))
    print(json.dumps(takings.to_dict(), indent=2, ensure_ascii=False) if args.json else takings.to_text(), end="")
    if args.json:
        print()
    if args.csv:
        print(f"wrote {args.csv}: {len(receipts)} receipt(s)", file=sys.stderr)
    return 0
