"""``checkout kiosk rollback``: staff take the till back to an installed lower model version at a shell.

``checkout kiosk rollback --staff NAME --reason WHY [--to N] (--config kiosk.toml | --state DIR --keys PATH)`` is the
model store's staff rollback (:meth:`kiosk.bundles.store.BundleStore.rollback`: the version left is blocked, the
store's ``audit.jsonl`` has its ``staff-rollback`` line). With the kiosk's settings (``--config``) it is also a row of
the till's audit log, written as staff mode writes it (:func:`kiosk.services.model_updates.model_rollback`): the
``model.rollback`` row once every check passed and before the store changes anything, naming the rollback
(``rollback_id``, with ``source`` the command), the store's intent and line naming the row (``audit_seq``); a rollback
that fails after the row and that the store did not make is a ``model.rollback_failed`` row naming it. So
``checkout audit verify --config`` holds shell rollbacks against the model store like staff mode's, and a kiosk that
starts after one stopped half-way settles it the same way.

``--state`` and ``--keys`` default to the settings' ``model_state`` and ``trusted_keys``; a ``--state`` that is not
the settings' ``model_state`` is refused (the row would record another store's rollback). Without ``--config`` no
till is named, and the model store's line is the record.
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path

from kiosk.errors import UserError

SOURCE = "checkout kiosk rollback"


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import bounded, group

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("rollback", help="staff: go back to an installed lower version (audited, in the till's log "
                                          "too with --config; while the running kiosk holds the model store, e.g. "
                                          "downloading, it says so and waits)")
    p.add_argument("--config", metavar="FILE",
                   help="the kiosk's settings: its model store and keys, and the till's audit row (model.rollback)")
    p.add_argument("--state", type=Path, help="the kiosk's bundle store directory (default: --config's model_state)")
    p.add_argument("--keys", type=Path, action="append",
                   help="trusted public key file or directory (default: --config's trusted_keys)")
    p.add_argument("--staff", required=True, help="who is rolling back")
    p.add_argument("--reason", required=True, help="why (goes to the audit log)")
    p.add_argument("--to", type=bounded(int, 1, 2**31 - 1), default=None,
                   help="version (default: the newest installed below the active)")
    p.set_defaults(func=cmd_kiosk_rollback)


def settings_store(args, action: str) -> tuple[Path | None, list[Path] | None]:
    """``(model store, trusted keys)`` from ``--state``/``--keys`` and ``--config`` (its ``model_state`` and
    ``trusted_keys``): a ``--state`` that is not the settings' store is refused, as the till's row would record
    another store's ``action``; so are settings with no model store."""
    state, keys = args.state, getattr(args, "keys", None)
    if not args.config:
        return state, keys
    config = kiosk_settings(args.config)
    named = config.model_state.strip()
    if state is not None and named and Path(state).resolve() != Path(named).resolve():
        raise UserError(f"--state {state}: {args.config} runs the model store {named}; the till's audit row "
                        f"would record another store's {action} (leave --state out, or name that store)")
    if state is None and not named:
        raise UserError(f"{args.config}: no model_state (the kiosk runs a plain bundle: there is no {action} to "
                        "make); name the store with --state DIR")
    return Path(state or named), keys or [Path(config.trusted_keys)]


def kiosk_settings(path: str):
    """The kiosk's settings in ``path`` (``--config``: a :class:`~kiosk.config.KioskConfig`); a problem is one line."""
    from kiosk.config import ConfigError, KioskConfig

    try:
        return KioskConfig.from_file(path)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def store_and_keys(args, action: str) -> tuple[Path, list[Path]]:
    """``(model store, trusted keys)`` from the command line and ``--config`` (:func:`settings_store`), both needed."""
    state, keys = settings_store(args, action)
    if state is None or not keys:
        raise UserError("name the kiosk's model store and keys: --config kiosk.toml, or --state DIR --keys PATH")
    return Path(state), keys


def cmd_kiosk_rollback(args) -> int:
    from kiosk.bundles.cli import open_store

    state, keys = store_and_keys(args, "rollback")
    store, trust = open_store(state, keys, create=False)
    before = store.active_version()
    with till(args.config) as write:
        now = _rolled_back(store, trust, args, write)
    where = f"{store.audit_path}" + (" and the till's audit log" if args.config else "")
    print(f"{state}: rolled back from model_version {before} to {now} (audited in {where})")
    return 0


def till(config: str | None, source: str = SOURCE):
    """The till's audit log of ``config`` (:func:`kiosk.store.cli.till_log`), or ``None`` without settings."""
    if not config:
        return nullcontext(None)
    from kiosk.store.cli import till_log

    return till_log(config, source)


def _rolled_back(store, trust, args, write) -> int:
    """The store's rollback with, given the till's log (``write``), its ``model.rollback`` row first and its
    ``model.rollback_failed`` row when it fails after the row and the store did not make it (a rollback the store
    made stands: the next holder of its lock finishes it)."""
    if write is None:
        return store.rollback(trust, actor=args.staff, reason=args.reason, to_version=args.to)
    from kiosk.services.model_updates import rollback_made

    return row_first(write, args, ("model.rollback", "rollback_id", {"from": "from_version", "to": "to_version"}),
                     lambda record: store.rollback(trust, actor=args.staff, reason=args.reason, to_version=args.to,
                                                   record=record),
                     lambda began: rollback_made(store, began))


def row_first(write, args, row: tuple[str, str, dict[str, str]], change, made):
    """``change(record)``, a staff change to the model store whose ``record(c)`` (``c``: ``id`` and what changes) the
    store calls under its lock before anything changes: it writes the till's row (``row``: its kind, the id's key, and
    which of ``c``'s fields it records under which name; by ``args.staff``, for ``args.reason``) and returns
    ``{"audit_seq": N}`` for the store's line. A failure after the row that ``made(c)`` says the store did not make is
    a ``<kind>_failed`` row naming it."""
    kind, key, fields = row
    began: dict = {}

    def record(c: dict) -> dict:
        written = write(kind, args.staff, **{name: c[field] for field, name in fields.items()}, reason=args.reason,
                        **{key: c["id"]})
        began.update(c)
        return {"audit_seq": written["seq"]}

    try:
        return change(record)
    except BaseException as exc:
        if began and not made(began):
            write(f"{kind}_failed", args.staff, reason=(str(exc) or type(exc).__name__)[:300], **{key: began["id"]})
        raise
