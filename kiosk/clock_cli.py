"""``checkout kiosk clock-reset``: staff forget a remembered time later than the clock, at a shell.

``checkout kiosk clock-reset --staff NAME --reason WHY (--config kiosk.toml | --state DIR)`` is the model store's
clock reset (:meth:`kiosk.bundles.store.BundleStore.reset_clock`: a reading far ahead that makes every update
"expired" goes back to the clock, never below the newest time head office signed; the store's ``audit.jsonl`` has its
``clock-reset`` line). With the kiosk's settings (``--config``) it is also a row of the till's audit log, written as
a shell rollback writes its own (:mod:`kiosk.rollback_cli`): the ``model.clock_reset`` row under the store's lock once
there is something to reset, before anything changes, naming the reset (``reset_id``, with ``source`` the command);
the store's line names the row (``audit_seq``); a reset that fails after the row and that the store did not make is
a ``model.clock_reset_failed`` row naming it. So ``checkout audit verify --config`` holds shell clock resets against
the model store (:mod:`kiosk.audit.check_models`). Nothing to reset writes no row.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from kiosk.errors import UserError
from kiosk.rollback_cli import row_first, settings_store, till

SOURCE = "checkout kiosk clock-reset"


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("clock-reset", help="staff: forget a remembered time later than the clock (a reading far "
                                             "ahead makes every update 'expired'; audited, in the till's log too "
                                             "with --config)")
    p.add_argument("--config", metavar="FILE",
                   help="the kiosk's settings: its model store, and the till's audit row (model.clock_reset)")
    p.add_argument("--state", type=Path, help="the kiosk's bundle store directory (default: --config's model_state)")
    p.add_argument("--staff", required=True, help="who is resetting it")
    p.add_argument("--reason", required=True, help="why (goes to the audit log)")
    p.set_defaults(func=cmd_kiosk_clock_reset)


def cmd_kiosk_clock_reset(args) -> int:
    from kiosk.bundle_format.timestamps import iso
    from kiosk.bundles.cli import say
    from kiosk.bundles.store import BundleStore

    state, _keys = settings_store(args, "clock reset")
    if state is None:
        raise UserError("name the kiosk's model store: --config kiosk.toml, or --state DIR")
    store = BundleStore(state, create=False)
    store.on_lock_wait = say
    with till(args.config, SOURCE) as write:
        before, after = _reset(store, args, write)
    if after is None:
        print(f"{state}: nothing to reset: the remembered time ({iso(before) if before else 'none yet'}) is not "
              "after this clock")
        return 0
    where = f"{store.audit_path}" + (" and the till's audit log" if args.config else "")
    print(f"{state}: the remembered time went back from {iso(before)} to {iso(after)} (audited in {where})")
    return 0


def _reset(store, args, write):
    """The store's clock reset with, given the till's log (``write``), its ``model.clock_reset`` row first and its
    ``model.clock_reset_failed`` row when it fails after the row and the store did not make it."""
    wall = datetime.now(timezone.utc)
    if write is None:
        return store.reset_clock(args.staff, args.reason, wall)
    return row_first(write, args, ("model.clock_reset", "reset_id", {"from": "from_time", "to": "to_time"}),
                     lambda record: store.reset_clock(args.staff, args.reason, wall, record=record),
                     lambda began: _made(store, began))


def _made(store, change: dict) -> bool:
    """Whether the store holds ``change``'s reset (its remembered time is the reset's) despite the failure."""
    try:
        return store.read_state().get("last_seen") == change["to"]
    except (OSError, UserError):  # a store that cannot be read did not make it, as far as anyone can tell
        return False
