"""``checkout kiosk update``: poll a channel or install an archive at a shell; staff may unblock a blocked version.

``checkout kiosk update (--config kiosk.toml | --state DIR --keys PATH) --channel URL --store-id ID …`` polls the
channel once (or every ``--every`` seconds) and activates a new model (:class:`kiosk.bundles.updater.Updater`);
``--archive FILE`` installs that archive instead, with the same checks. A version blocked here (a staff rollback
left it, or it was refused for its contract or self-test) is refused unless ``--unblock --staff NAME --reason WHY``:
then, once the archive has verified, the model store unblocks it (its ``audit.jsonl`` has the ``unblock`` line) and
installs it.

With the kiosk's settings (``--config``) an unblock is also a row of the till's audit log, written as a shell
rollback writes its own (:mod:`kiosk.rollback_cli`): the ``model.unblock`` row under the store's lock once the
archive has verified and its version is blocked, before the store unblocks it, naming the unblock (``unblock_id``,
with ``version`` and ``source`` the command); the store's line names the row (``audit_seq``); an unblock that fails
after the row and that the store did not make is a ``model.unblock_failed`` row naming it. So ``checkout audit
verify --config`` holds shell unblocks against the model store (:mod:`kiosk.audit.check_models`). Nothing to
unblock (the version is not blocked, or the archive was refused) writes no row.

``--state`` and ``--keys`` default to the settings' ``model_state`` and ``trusted_keys``; a ``--state`` that is not
the settings' ``model_state`` is refused. Without ``--config`` no till is named, and the model store's line is the
record.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.errors import UserError
from kiosk.rollback_cli import row_first, store_and_keys, till

SOURCE = "checkout kiosk update"
#: the till's row of an unblock: its kind, the id's key, and what it records of the store's change
UNBLOCK_ROW = ("model.unblock", "unblock_id", {"version": "version"})


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.bundles.cli import catalog_args
    from kiosk.subcommands import bounded, group

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("update", help="poll a channel once (or every --every seconds) and activate a new model")
    p.add_argument("--config", metavar="FILE", help="the kiosk's settings: its model store and keys, and with "
                                                    "--unblock the till's audit row (model.unblock)")
    p.add_argument("--state", type=Path, help="the kiosk's bundle store directory (default: --config's model_state)")
    p.add_argument("--keys", type=Path, action="append",
                   help="trusted public key file or directory (default: --config's trusted_keys)")
    p.add_argument("--channel", required=True, help="channel URL (http(s)://…, file:/…) or directory")
    p.add_argument("--store-id", required=True, help="this store's id (staged roll-out)")
    p.add_argument("--group", default="default")
    p.add_argument("--backend", default="onnxruntime", help="backend the new model must load with")
    catalog_args(p, required=True)
    p.add_argument("--archive", type=Path, default=None, help="install this bundle archive instead of polling")
    p.add_argument("--unblock", action="store_true",
                   help="with --archive: install it even if its version is blocked here (a staff rollback or a "
                        "refusal); needs --staff and --reason, audited (in the till's log too with --config), and "
                        "unblocks that version")
    p.add_argument("--staff", default="", help="with --unblock: who decided it")
    p.add_argument("--reason", default="", help="with --unblock: why (goes to the audit log)")
    p.add_argument("--every", type=bounded(float, 0, 7 * 86400), default=0, help="keep polling every SECONDS (0: once)")
    p.set_defaults(func=cmd_kiosk_update)


def cmd_kiosk_update(args) -> int:
    import time

    from kiosk.bundles.cli import catalog_compat, open_store
    from kiosk.bundles.updater import Updater

    if args.unblock and (args.archive is None or not args.staff.strip() or not args.reason.strip()):
        raise UserError("--unblock goes with --archive, and needs the staff member's name (--staff) and a reason "
                        "(--reason) for the audit log")
    if not args.unblock and (args.staff or args.reason):
        raise UserError("--staff and --reason go with --unblock")
    state, keys = store_and_keys(args, "unblock" if args.unblock else "update")
    store, trust = open_store(state, keys)
    updater = Updater(store, trust, args.channel, args.store_id, group=args.group, catalog=catalog_compat(args),
                      backend=args.backend)
    if args.archive is not None:  # a refusal raises (exit 2); a model that failed to load and was rolled back: 1
        with till(args.config if args.unblock else None, SOURCE) as write:
            result = _installed(updater, args, write)
        print(f"{result.outcome}: {result.message}")
        return _update_exit(result)
    while True:
        result = updater.check_once()
        print(f"{result.outcome}: {result.message}", flush=True)
        if not args.every:
            return _update_exit(result)
        time.sleep(args.every)


def _installed(updater, args, write):
    """``--archive`` installed; with ``--unblock`` and the till's log (``write``), the ``model.unblock`` row first
    (only when its version is blocked) and the ``model.unblock_failed`` row when it fails after the row and the store
    did not unblock it."""
    unblock = (args.staff, args.reason) if args.unblock else None
    if write is None:
        return updater.install_archive(args.archive, unblock=unblock)
    return row_first(write, args, UNBLOCK_ROW,
                     lambda record: updater.install_archive(args.archive, unblock=unblock, record=record),
                     lambda began: _made(updater.store, began))


def _made(store, change: dict) -> bool:
    """Whether the store made ``change``'s unblock despite the failure: its ``unblock`` line names it, or the version
    is no longer blocked (the failure came after it)."""
    try:
        return (any(e.get("unblock_id") == change["id"] for e in store.read_audit())
                or change["version"] not in store.blocked_versions())
    except (OSError, UserError):  # a store that cannot be read did not make it, as far as anyone can tell
        return False


def _update_exit(result) -> int:
    """The exit status of one update, the same from a channel and from ``--archive``: 1 unless it ended well."""
    return 0 if result.outcome not in ("refused", "error", "rolled-back") else 1
