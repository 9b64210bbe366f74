"""``checkout kiosk update``: poll a channel or install an archive at a shell; staff may unblock a blocked version.

``checkout kiosk update --config kiosk.toml`` polls the kiosk's channel once (or every ``--every`` seconds) and
activates a new model (:class:`kiosk.bundles.updater.Updater`), as the running kiosk would;
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
the settings' ``model_state`` is refused. ``--channel``, ``--store-id``, ``--group`` and ``--backend`` default to what
the running kiosk's updater is made with (:func:`kiosk.services.model_updates.updater_settings`), and bundles are
checked against the kiosk's catalog (its schema version and active SKUs, opened as the kiosk opens it:
:func:`kiosk.services.wiring.open_catalog`, :func:`kiosk.services.model_updates.catalog_compat`); an option given
on the command line wins (``--catalog-schema`` and ``--active-skus`` together). A new model is test-loaded as the
kiosk loads it (:func:`kiosk.services.model_updates.recognizer_loader`: its device, threads, precision and top-k), so
what the kiosk could not run is rolled back here. Polling needs a channel and a store id (settings with no
``channel``: one line saying so); an archive needs neither from the settings.

Without ``--config`` no till is named, and the model store's line is the record: ``--state``, ``--keys``,
``--store-id``, ``--catalog-schema`` and ``--active-skus`` are needed, and ``--channel`` to poll (an archive is not
fetched from a channel).
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path

from kiosk.errors import UserError
from kiosk.rollback_cli import kiosk_settings, row_first, store_and_keys, till

SOURCE = "checkout kiosk update"
#: the till's row of an unblock: its kind, the id's key, and what it records of the store's change
UNBLOCK_ROW = ("model.unblock", "unblock_id", {"version": "version"})


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.bundles.cli import catalog_args
    from kiosk.subcommands import bounded, group

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("update", help="poll a channel once (or every --every seconds) and activate a new model")
    p.add_argument("--config", metavar="FILE",
                   help="the kiosk's settings: its model store and keys, channel, store id, group, backend and "
                        "catalog (an option given here wins), and with --unblock the till's audit row "
                        "(model.unblock)")
    p.add_argument("--state", type=Path, help="the kiosk's bundle store directory (default: --config's model_state)")
    p.add_argument("--keys", type=Path, action="append",
                   help="trusted public key file or directory (default: --config's trusted_keys)")
    p.add_argument("--channel", help="channel URL (http(s)://…, file:/…) or directory (default: --config's channel; "
                                     "not needed with --archive)")
    p.add_argument("--store-id", help="this store's id (staged roll-out; default: --config's store_id)")
    p.add_argument("--group", help="the store group (default: --config's store_group, else default)")
    p.add_argument("--backend", help="backend the new model must load with (default: --config's backend, else "
                                     "onnxruntime)")
    catalog_args(p)  # default with --config: the kiosk's catalog
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
    from kiosk.bundles.cli import open_store
    from kiosk.bundles.updater import Updater

    if args.unblock and (args.archive is None or not args.staff.strip() or not args.reason.strip()):
        raise UserError("--unblock goes with --archive, and needs the staff member's name (--staff) and a reason "
                        "(--reason) for the audit log")
    if not args.unblock and (args.staff or args.reason):
        raise UserError("--staff and --reason go with --unblock")
    config = kiosk_settings(args.config) if args.config else None
    options = updater_options(args, config)
    state, keys = store_and_keys(args, "unblock" if args.unblock else "update")
    with _catalog(args, config) as compat:
        store, trust = open_store(state, keys)
        updater = Updater(store, trust, catalog=compat, loader=_loader(config, options["backend"]), **options)
        if args.archive is not None:  # a refusal raises (exit 2); a model that failed to load and was rolled back: 1
            with till(args.config if args.unblock else None, SOURCE) as write:
                result = _installed(updater, args, write)
            print(f"{result.outcome}: {result.message}")
            return _update_exit(result)
        return _polled(updater, args.every)


def _loader(config, backend: str):
    """With the kiosk's settings, a new model is test-loaded as the running kiosk loads it (its device, threads,
    precision and top-k; ``backend`` the command line's or the settings'): what fails there fails here, and is rolled
    back here. Without them, the updater's own (the backend alone)."""
    if config is None:
        return None
    from dataclasses import replace

    from kiosk.services.model_updates import recognizer_loader

    return recognizer_loader(replace(config, backend=backend))


def _polled(updater, every: float) -> int:
    """Poll the channel once, or every ``every`` seconds for as long as the command runs."""
    import time

    while True:
        result = updater.check_once()
        print(f"{result.outcome}: {result.message}", flush=True)
        if not every:
            return _update_exit(result)
        time.sleep(every)


def updater_options(args, config) -> dict[str, str]:
    """The updater's ``channel``, ``store_id``, ``group`` and ``backend``: the command line's, else the kiosk's
    settings' (``config``, as the running kiosk makes its updater), else the defaults; what the command needs and
    neither gave is one line (:func:`_needed`)."""
    from kiosk.services.model_updates import updater_settings

    given = {"channel": args.channel, "store_id": args.store_id, "group": args.group, "backend": args.backend}
    options = {"channel": "", "store_id": "", "group": "default", "backend": "onnxruntime"}
    options.update(updater_settings(config) if config is not None else {})
    options.update({k: v for k, v in given.items() if v is not None})
    _needed(args, config, options)
    return options


def _needed(args, config, options: dict[str, str]) -> None:
    """Polling needs a channel and a store id: from the settings when ``config`` is given (one line naming the setting
    that is empty there, or the option given empty). Without settings the command line names the store id and the
    catalog too (the status report names the store; every bundle is checked against the catalog), and the channel to
    poll (an archive is not fetched from one): one line naming each missing option."""
    polling = args.archive is None
    if config is not None:
        for key, flag in (("channel", "--channel URL"), ("store_id", "--store-id ID")):
            if polling and not options[key].strip():
                raise UserError(f"{flag.split()[0]} is empty; name {flag}" if getattr(args, key) is not None else
                                f"{args.config}: no {key.replace('_', ' ')} in the kiosk's settings ({key} = "
                                f"{json.dumps(getattr(config, key))}); pass {flag}")
        return
    no_catalog = args.catalog_schema is None and args.active_skus is None
    missing = [flag for flag, gone in (("--channel URL", polling and not options["channel"].strip()),
                                       ("--store-id ID", not options["store_id"].strip()),
                                       ("--catalog-schema N", no_catalog), ("--active-skus FILE", no_catalog)) if gone]
    if missing:
        raise UserError(f"{', '.join(missing)}: needed without --config kiosk.toml (the kiosk's settings, which hold "
                        "them)" + ("; --archive FILE needs no --channel" if "--channel URL" in missing else ""))


@contextmanager
def _catalog(args, config):
    """What bundles are checked against: ``--catalog-schema`` with ``--active-skus``, else with ``config`` the kiosk's
    catalog as the running kiosk checks it (opened as it opens it; open while the update runs: SKUs are looked up
    as a bundle is checked)."""
    from kiosk.bundles.cli import catalog_compat as listed

    if config is None or args.catalog_schema is not None or args.active_skus is not None:
        yield listed(args)  # both or neither (one line); neither without settings: refused by _needed
        return
    from kiosk.services.model_updates import catalog_compat
    from kiosk.services.wiring import open_catalog

    catalog = open_catalog(config.catalog)
    try:
        yield catalog_compat(catalog)
    finally:
        catalog.close()


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
