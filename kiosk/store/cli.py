"""``checkout receipt reprint [RECEIPT_NO | --last] --config kiosk.toml``: a receipt again, from the kiosk's sales file;
``checkout receipt day [--date DAY] --config kiosk.toml [--json] [--csv FILE]``: the day's takings (end-of-day report);
``checkout receipt list [--date DAY] --config kiosk.toml [--json]``: the day's receipts, one line each.

``--config`` takes the store, kiosk id, audit key and the store's time zone from the kiosk's settings; ``--store DB``
names the database alone (its audit key then beside it). :func:`opened` is how these and ``checkout staff`` open it:
read-only when the command only reads, never making a database at a path that is not there, never re-keying the
kiosk's audit log, and on the store's clock: what they write and the days they count are in the store's time zone
(``--timezone``, else ``store_timezone`` of ``--config``, else the offset the kiosk wrote its last sale with), never
in the zone of the shell they run in.

The copy is the stored receipt under a ``DUPLICATE`` line (never a second sale), and the reprint is recorded in the
store with who asked (``--by``, default the login name). Cheap to import: the store is opened in the handler.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import UserError
from kiosk.exchange.display import display, display_lines

if TYPE_CHECKING:
    from kiosk.store.sales import SalesStore


def store_args(p: argparse.ArgumentParser) -> None:
    """``--config`` (store, kiosk_id and audit_key from the kiosk's settings) and ``--store DB``."""
    p.add_argument("--config", metavar="FILE", help="kiosk settings (store, kiosk_id and audit_key from there)")
    p.add_argument("--store", type=Path, metavar="DB",
                   help="the kiosk's sales database (default: the store of --config; its audit key beside it)")
    p.add_argument("--timezone", metavar="ZONE",
                   help="the store's time zone, e.g. Asia/Kolkata (default: store_timezone of --config, else the "
                        "offset of the store's last sale, else this machine's zone)")


#: what the receipt commands take from the kiosk's settings, and KioskConfig's defaults for them
_SETTINGS = {"store": "var/sales.sqlite", "kiosk_id": "K1", "audit_key": ""}


def read_settings(path: str) -> tuple[str, str, str]:
    """``(store, kiosk_id, audit_key)`` from the kiosk's settings file. The store layer may not import
    :mod:`kiosk.config` (it sits above it), so this reads only these three keys of the TOML; ``checkout staff`` passes
    :class:`~kiosk.config.KioskConfig`, which checks the whole file, and ``checkout doctor`` checks it for the kiosk."""
    from kiosk.inputfiles import read_settings_toml

    data = read_settings_toml(path)
    values = {k: data.get(k, default) for k, default in _SETTINGS.items()}
    for key, value in values.items():
        if not isinstance(value, str):
            raise UserError(f"{path}: {key} = {value!r}: expected a string")
    return values["store"], values["kiosk_id"], values["audit_key"]


def read_zone(path: str) -> str:
    """``store_timezone`` of the kiosk's settings file ("" when not set); one line when it is not a time zone."""
    from kiosk.domain.store_time import zone_problem
    from kiosk.inputfiles import read_settings_toml

    name = read_settings_toml(path).get("store_timezone", "")
    problem = zone_problem(name)
    if problem is not None:
        raise UserError(f"{path}: store_timezone={problem}")
    return name


def _zone(args: argparse.Namespace, store: SalesStore) -> tzinfo | None:
    """The store's time zone for a command: ``--timezone``, else ``store_timezone`` of ``--config``, else the offset
    of the store's last sale (what the kiosk wrote), else None (this machine's local zone)."""
    from kiosk.domain.store_time import store_zone, zone_problem

    name = getattr(args, "timezone", None)
    if name is not None:
        problem = zone_problem(name)
        if problem is not None:
            raise UserError(f"--timezone {problem}")
        return store_zone(name) or store.zone_of_sales()
    if args.config:
        name = read_zone(args.config)
        if name:
            return store_zone(name)
    return store.zone_of_sales()


def _settings(args: argparse.Namespace, read_config: Callable[[str], tuple[str, str, str]]
              ) -> tuple[Path, str, str | None]:
    """``(store, kiosk_id, audit key file or None)`` from ``--store`` / ``--config``."""
    store, kiosk_id, key = args.store, "K1", None
    if args.config:
        config_store, kiosk_id, key = read_config(args.config)
        store, key = store or Path(config_store), key or None
    if store is None:
        raise UserError("name the kiosk's sales database: --store DB or --config kiosk.toml")
    return Path(store), kiosk_id, key


@contextmanager
def opened(args: argparse.Namespace, *, write: bool, may_create: bool = False,
           read_config: Callable[[str], tuple[str, str, str]] = read_settings) -> Iterator[SalesStore]:
    """The kiosk's sales database as ``--config`` / ``--store`` name it, closed after.

    A command that only reads opens it read-only: nothing made or written, no audit key read or made. One that
    writes uses the kiosk's audit key and never makes a new key beside a log that has rows (that would re-key the
    kiosk's log); with ``--store`` alone the key must already be beside it. A file that is not there is refused (a
    mistyped path must not become a new database) unless ``may_create`` and the path is the store of ``--config``:
    the one the kiosk will open, with its key. ``read_config``: how ``--config`` is read (:func:`read_settings`)."""
    from kiosk.store.sales import SalesStore, unusable

    store, kiosk_id, key = _settings(args, read_config)
    if not store.exists() and not store.is_symlink() and not (may_create and args.config and not args.store):
        hint = (" (the kiosk makes its store at its first start; to add staff before that, name the kiosk's "
                "settings: --config kiosk.toml)") if may_create else ""
        raise UserError(f"{store}: no sales database there{hint}")
    if store.exists() and not store.is_file():
        from kiosk.inputfiles import not_a

        raise UserError(not_a(store, "a sales database"))
    if write:
        opened_store = SalesStore.open(store, kiosk_id=kiosk_id, audit_key=key,
                                       new_key="if-log-empty" if args.config else "no")
    else:
        opened_store = SalesStore.open(store, kiosk_id=kiosk_id, audit_key=key, readonly=True)
    try:
        with opened_store:
            opened_store.use_zone(_zone(args, opened_store))
            yield opened_store
    except sqlite3.OperationalError as exc:  # one the open did not meet (made read-only, locked, cut since)
        raise unusable(store, exc) from None


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    receipt = group(sub, groups, "receipt", "receipts of closed sales")
    p = receipt.add_parser("reprint", help="print a receipt again (marked DUPLICATE; the reprint is recorded)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("receipt_no", nargs="?", metavar="RECEIPT_NO", help="e.g. K1-000123")
    which.add_argument("--last", action="store_true", help="the last sale's receipt")
    store_args(p)
    p.add_argument("--by", default=None, help="who is reprinting (default: the login name)")
    p.set_defaults(func=cmd_receipt_reprint)
    p = _a_day(receipt, "day", "the day's takings (end-of-day report): sales, payments, GST per rate, staff changes; "
                               "--csv for the accountant", "print the report as one JSON object (amounts in paise)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per receipt and GST rate there")
    p.add_argument("--force", action="store_true", help="replace the --csv file when it is there (never a database "
                                                         "or a key)")
    p.set_defaults(func=cmd_receipt_day)
    p = _a_day(receipt, "list", "the day's receipts: number, time, items, total, how paid (to find one to reprint)",
               "one JSON object per line (amounts in paise)")
    p.set_defaults(func=cmd_receipt_list)


def _a_day(receipt, name: str, what: str, json_help: str) -> argparse.ArgumentParser:
    """A command over one day of the kiosk's sales: ``--config`` / ``--store``, ``--date``, ``--json``."""
    p = receipt.add_parser(name, help=what)
    store_args(p)
    p.add_argument("--date", default="today", metavar="YYYY-MM-DD",
                   help="the day (a calendar day in the store's time zone; also today, yesterday; default today)")
    p.add_argument("--json", action="store_true", help=json_help)
    return p


@contextmanager
def till_log(config: str, source: str) -> Iterator[Callable[..., dict]]:
    """The audit log of the till whose settings file is ``config``, for a staff action taken at a shell: yields
    ``write(kind, actor, **detail)`` (the row, ``source`` added to its detail). The sales database is made when the
    kiosk has not started yet (:func:`opened`'s ``may_create``), with the kiosk's audit key."""
    with opened(argparse.Namespace(config=config, store=None, timezone=None), write=True, may_create=True) as till:
        yield lambda kind, actor, **detail: till.audit(kind, actor, **detail, source=source)


def who_ran(name: str | None) -> str:
    """``name``, else the user running the command (an audit row's actor from the shell)."""
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def cmd_receipt_reprint(args: argparse.Namespace) -> int:
    with opened(args, write=True) as store:
        copy = store.reprint(None if args.last else args.receipt_no, by=who_ran(args.by))
    print(display_lines(copy.text.removesuffix("\n").split("\n")))
    return 0


def _day(text: str) -> date | None:
    """``--date`` as a date; None for today or yesterday (the store's, known once it is open)."""
    if text in ("today", "yesterday"):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r}: not a date (YYYY-MM-DD, today or yesterday)") from None


def zone_name(zone: tzinfo | None) -> str:
    """How a report names the time zone its days are in."""
    if zone is None:
        return "this machine's local time"
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


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
    """``(day, its receipts, its takings, the store's zone)`` from the store (opened read-only) and ``--date`` (a day
    in the store's zone); one line when either is wrong."""
    day = _day(args.date)
    with opened(args, write=False) as store:
        if day is None:
            day = store.today() - timedelta(days=1 if args.date == "yesterday" else 0)
        receipts = store.receipts_on(day)
        return day, receipts, store.takings(day, receipts), store.zone


def cmd_receipt_list(args: argparse.Namespace) -> int:
    from kiosk.domain.money import format_inr

    day, receipts, _takings, zone = _days_receipts(args)
    for r in receipts:
        b, at = r.bill, r.issued_at.astimezone(zone)  # on the store's clock
        if args.json:
            print(json.dumps({"receipt_no": r.receipt_no, "issued_at": at.isoformat(), "items": b.item_count,
                              "total": b.total, "payment_method": r.payment_method}))
        else:
            print(display(f"{r.receipt_no:<14} {at:%H:%M}  {b.item_count:>3} item(s) {format_inr(b.total):>14}  "
                          f"{r.payment_method.upper()}"))
    if not args.json:
        print(f"{len(receipts)} receipt(s) on {day:%d-%m-%Y} ({zone_name(zone)})", file=sys.stderr)
    return 0


def cmd_receipt_day(args: argparse.Namespace) -> int:
    from kiosk.bundle_format.atomic import check_output, shown
    from kiosk.domain.takings import tax_csv_rows

    if args.csv is not None:  # before the store is opened: never a database or key replaced by the CSV
        check_output(args.csv, force=args.force, option="--csv")
    _, receipts, takings, _zone = _days_receipts(args)
    if args.csv:
        _write_csv(args.csv, tax_csv_rows(receipts))
    text = json.dumps(takings.to_dict(), indent=2, ensure_ascii=False) if args.json else takings.to_text()
    print(display_lines(text.removesuffix("\n").split("\n")))
    if args.csv:
        print(f"wrote {shown(args.csv)}: {len(receipts)} receipt(s)", file=sys.stderr)
    return 0
