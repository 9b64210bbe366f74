"""``checkout staff add|list|disable|enable|reset-pin``: the people who may sign in at a kiosk.

The accounts live in the kiosk's sales database (``--store DB``, or the ``store`` of ``--config kiosk.toml``), opened
as :func:`kiosk.store.cli.opened` says: ``list`` read-only; a path that is not there is refused, except that ``add``
with ``--config`` makes the kiosk's store where the kiosk will look for it (staff added before its first start). A PIN
is read from the terminal twice (not echoed), or one line from standard input with ``--pin-stdin`` (scripts); it
is never printed or logged. ``enable`` takes a new PIN too: the one an account had ends with its disable. Every
change is written to the kiosk's audit log as ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from kiosk.errors import UserError
from kiosk.exchange.display import display

__all__ = ["register"]


def _store_args(p: argparse.ArgumentParser) -> None:
    from kiosk.store.cli import store_args

    store_args(p)


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    staff = group(sub, groups, "staff", "staff accounts: a staff number, a role and a personal PIN each")
    p = staff.add_parser("add", help="add a person (prints their staff number)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, choices=("assistant", "supervisor"))
    p.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (one line)")
    _store_args(p)
    p.set_defaults(func=cmd_add)
    p = staff.add_parser("list", help="the accounts: number, name, role, active")
    p.add_argument("--json", action="store_true")
    _store_args(p)
    p.set_defaults(func=cmd_list)
    for name, helptext in (("disable", "stop a person signing in (the account and its audit rows stay)"),
                           ("enable", "let a disabled person sign in again, with a new PIN (the old one ended with "
                                      "the disable)")):
        p = staff.add_parser(name, help=helptext)
        p.add_argument("who", metavar="NUMBER_OR_NAME")
        if name == "enable":
            p.add_argument("--pin-stdin", action="store_true", help="read the new PIN from standard input (one line)")
        _store_args(p)
        p.set_defaults(func=cmd_active, active=name == "enable")
    p = staff.add_parser("reset-pin", help="give a person a new PIN (clears their wrong-PIN count)")
    p.add_argument("who", metavar="NUMBER_OR_NAME")
    p.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (one line)")
    _store_args(p)
    p.set_defaults(func=cmd_reset_pin)


def _kiosk_config(path: str) -> tuple[str, str, str]:
    from kiosk.config import KioskConfig

    config = KioskConfig.from_file(path)
    return config.store, config.kiosk_id, config.audit_key


def _open(args, *, write: bool = True, may_create: bool = False):
    from kiosk.store.cli import opened

    return opened(args, write=write, may_create=may_create, read_config=_kiosk_config)


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_pin(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("new staff PIN: ")
    if getpass.getpass("the same PIN again: ") != pin:
        raise UserError("the two PINs differ: nothing changed")
    return pin


def cmd_add(args) -> int:
    from kiosk.staff.accounts import add_account

    pin = _read_pin(args.pin_stdin)
    with _open(args, may_create=True) as store:
        account = add_account(store, args.name, args.role, pin, by=_by())
    print(display(f"staff number {account.staff_no}: {account.name} ({account.role})"))
    return 0


def cmd_list(args) -> int:
    with _open(args, write=False) as store:
        accounts = [a.public() for a in store.staff_accounts()]
    if args.json:
        print(json.dumps(accounts, indent=2))
        return 0
    print(f"{'number':<8}{'name':<28}{'role':<12}{'active':<8}since")
    for a in accounts:  # a name edited into the file by hand may hold terminal escapes: shown, not obeyed
        print(display(f"{a['staff_no']:<8}{a['name'][:27]:<28}{a['role']:<12}{'yes' if a['active'] else 'no':<8}"
                      f"{a['created_at'][:10]}"))
    if not accounts:
        print("(none: the shared staff_pin_hash, if set, still signs in; `checkout staff add` makes accounts)")
    return 0


def cmd_active(args) -> int:
    from kiosk.staff.accounts import set_active

    pin = _read_pin(args.pin_stdin) if args.active else None
    with _open(args) as store:
        account = set_active(store, args.who, args.active, by=_by(), pin=pin)
    print(f"staff number {account.staff_no}: {account.name} "
          f"{'enabled, new PIN set' if account.active else 'disabled'}")
    return 0


def cmd_reset_pin(args) -> int:
    from kiosk.staff.accounts import reset_pin

    pin = _read_pin(args.pin_stdin)
    with _open(args) as store:
        account = reset_pin(store, args.who, pin, by=_by())
    print(display(f"staff number {account.staff_no}: {account.name}: new PIN set"))
    return 0
