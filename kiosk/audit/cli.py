"""``checkout audit verify|show|key``: a kiosk's audit log from its sales file (read-only; nothing is changed).

``--config kiosk.toml`` takes the store and the key file from the kiosk's settings, and ``verify`` holds the log's own
kiosk id (its ``audit.started`` row) against the settings' ``kiosk_id``, its staff model rollbacks against the
model store (``model_state``, or ``--model-state DIR``) and the products staff taught against the gallery
(``gallery``, or ``--gallery DIR``); ``--store DB`` (and ``--key FILE``) name
them directly. ``verify`` exits 1 when anything is wrong, naming each row. What the file holds is printed through
:func:`kiosk.exchange.display.display` (a hand-edited row's terminal escapes are shown, not obeyed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.errors import UserError
from kiosk.exchange.display import display_lines

__all__ = ["register"]


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="kiosk settings (store and audit_key from there)")
    p.add_argument("--store", type=Path, metavar="DB", help="the kiosk's sales database")
    p.add_argument("--key", type=Path, metavar="FILE", help="the audit key file (default: beside the store)")


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    audit = group(sub, groups, "audit", "the tamper-evident audit log: verify, show, collect at head office")
    p = audit.add_parser("verify", help="check a kiosk's audit log: names edited, deleted, inserted, reordered rows")
    _where(p)
    p.add_argument("--model-state", type=Path, metavar="DIR",
                   help="the kiosk's model store (default: model_state of --config): staff model rollbacks there and "
                        "in the log are held against each other")
    p.add_argument("--gallery", type=Path, metavar="DIR",
                   help="the kiosk's gallery of taught products (default: gallery of --config): products taught at "
                        "the staff screen and their staff.teach rows are held against each other")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_verify)
    p = audit.add_parser("show", help="a kiosk's audit rows since a time, as a table or JSON lines")
    _where(p)
    p.add_argument("--since", metavar="WHEN", help="ISO date/time (without an offset: the store's time, "
                                                     "store_timezone of --config, else local) or an age: 30m, 12h, 7d")
    p.add_argument("--kind", help="only this kind or family (e.g. staff, line.void)")
    p.add_argument("--actor", help="only rows by this staff number (or shopper, kiosk)")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.set_defaults(func=cmd_show)
    p = audit.add_parser("key", help="the kiosk's audit key id; --export prints the key for head office's registry")
    _where(p)
    p.add_argument("--export", action="store_true",
                   help="print the key itself (hex) for `checkout audit enroll` at head office; keep it secret")
    p.set_defaults(func=cmd_key)


def _paths(args) -> tuple[Path, Path | None]:
    store, key = args.store, args.key
    if args.config:
        from kiosk.config import KioskConfig

        config = KioskConfig.from_file(args.config)
        store = store or Path(config.store)
        key = key or (Path(config.audit_key) if config.audit_key else None)
    if store is None:
        raise UserError("name the kiosk's sales database: --store DB or --config kiosk.toml")
    if not Path(store).is_file():
        raise UserError(f"{store}: no sales database there")
    return Path(store), key


def cmd_verify(args) -> int:
    from kiosk.audit.verify import verify_store

    store, key = _paths(args)
    kiosk_id, model_state, gallery = None, args.model_state, args.gallery
    if args.config:  # the log's own kiosk id is held against the settings' (another kiosk's file and key)
        from kiosk.config import KioskConfig

        config = KioskConfig.from_file(args.config)
        kiosk_id = config.kiosk_id
        model_state = model_state or (Path(config.model_state) if config.model_state.strip() else None)
        gallery = gallery or (Path(config.gallery) if config.gallery.strip() else None)
    for named, what in ((args.model_state, "--model-state names the kiosk's model_state"),
                        (args.gallery, "--gallery names the kiosk's gallery")):
        if named is not None and not named.is_dir():
            raise UserError(f"{named}: no such folder ({what})")
    try:
        result = verify_store(store, key, kiosk_id=kiosk_id, model_state=model_state, gallery=gallery)
    except Exception as exc:  # not a sales file, no audit table: one line
        raise UserError(f"{store}: cannot read its audit log ({type(exc).__name__}: {exc})") from None
    print(json.dumps(result.to_dict(), indent=2) if args.json else display_lines(result.lines()))
    return 0 if result.ok else 1


def cmd_show(args) -> int:
    from kiosk.audit.show import format_rows, parse_since, read_rows

    store, _ = _paths(args)
    tz = None
    if args.config:  # a --since without an offset is the store's time
        from kiosk.config import KioskConfig

        tz = KioskConfig.from_file(args.config).tz
    rows = read_rows(store, since=parse_since(args.since, tz=tz), kind=args.kind, actor=args.actor)
    print(format_rows(rows, as_json=args.json), end="")
    return 0


def cmd_key(args) -> int:
    from kiosk.exchange.audit import key_id
    from kiosk.store.audit import default_key_path, load_key

    store, key_path = _paths(args)
    key_path = key_path or default_key_path(store)
    key = load_key(key_path)
    if key is None:
        raise UserError(f"{key_path}: no audit key (the kiosk makes it when it first opens its store)")
    print(f"{key.hex()}" if args.export else f"key id {key_id(key)} ({key_path})")
    return 0
