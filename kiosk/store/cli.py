"""``checkout receipt reprint [RECEIPT_NO | --last] --store DB``: a receipt again, from the kiosk's sales file.

The copy is the stored receipt under a ``DUPLICATE`` line (never a second sale), and the reprint is recorded in the
store with who asked (``--by``, default the login name). Cheap to import: the store is opened in the handler.
"""

from __future__ import annotations

import argparse
import getpass
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
