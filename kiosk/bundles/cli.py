"""The till's model commands: ``checkout bundle verify`` and ``checkout kiosk model-status`` (``checkout kiosk
update``, ``rollback`` and ``clock-reset``, which may also write the till's audit row, are :mod:`kiosk.update_cli`,
:mod:`kiosk.rollback_cli` and :mod:`kiosk.clock_cli`, with :func:`open_store` and :func:`catalog_compat` from here;
head office signs and publishes with ``trainer.release.cli``)."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.errors import UserError
from kiosk.inputfiles import MB, read_bounded
from kiosk.subcommands import bounded


def register(sub, groups) -> None:
    from kiosk.subcommands import group

    bundle = group(sub, groups, "bundle", "model bundles: export, sign, verify, publish")
    p = bundle.add_parser("verify", help="check signature, hashes, expiry, optional catalog, every model's inputs "
                                        "and outputs against the manifest, and the self-test")
    p.add_argument("bundle", type=Path)
    p.add_argument("--keys", type=Path, action="append", required=True, help="trusted public key file or directory")
    p.add_argument("--active-version", type=bounded(int, 0, 2**31 - 1), default=None,
                   help="refuse model_version <= this")
    catalog_args(p)
    p.add_argument("--no-selftest", action="store_true", help="skip running the self-test images")
    p.set_defaults(func=cmd_bundle_verify)

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("model-status", help="print the status report (active version, last check, last error)")
    p.add_argument("--state", type=Path, required=True, help="the kiosk's bundle store directory")
    p.set_defaults(func=cmd_kiosk_status)


def catalog_args(p, required: bool = False) -> None:
    p.add_argument("--catalog-schema", type=bounded(int, 0, 10**6), required=required,
                   help="the kiosk catalog's schema version")
    p.add_argument("--active-skus", type=Path, required=required,
                   help="text file: one active SKU id per line (what the kiosk's catalog sells)")


def catalog_compat(args):
    from kiosk.bundle_format.verify import CatalogCompat

    if args.catalog_schema is None and args.active_skus is None:
        return None
    if args.catalog_schema is None or args.active_skus is None:
        raise UserError("--catalog-schema and --active-skus go together")
    try:
        lines = read_bounded(args.active_skus, 64 * MB, "a list of SKUs", text=True).decode("utf-8",
                                                                                            "replace").splitlines()
    except OSError as exc:
        raise UserError(f"{args.active_skus}: cannot read ({exc.strerror})") from None
    skus = [s.strip() for s in lines if s.strip() and not s.startswith("#")]
    return CatalogCompat.from_skus(args.catalog_schema, skus)


def cmd_bundle_verify(args) -> int:
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import VerifyPolicy, verify_bundle
    from kiosk.recognition.contract import inspect_onnx
    from kiosk.recognition.recognizer import selftest_runner

    policy = VerifyPolicy(TrustStore.load(*args.keys), active_version=args.active_version, catalog=catalog_compat(args),
                          selftest=not args.no_selftest, run_model=selftest_runner(), inspect_model=inspect_onnx)
    v = verify_bundle(args.bundle, policy)
    m = v.bundle.manifest
    print(f"{args.bundle}: OK: model_version {m.model_version}, signed by {v.keyid}, {len(m.files)} files verified, "
          f"expires {m.expires_at}" + (f"; {v.selftest.summary()}" if v.selftest else ""))
    return 0


def open_store(state: Path, keys: list[Path], create: bool = True):
    """``(the model store in state, the trust store of keys)``; the store says at once when it waits for its lock or
    finishes what a killed process left."""
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundles.store import BundleStore

    store = BundleStore(state, create=create)
    store.on_lock_wait = store.on_notice = say
    return store, TrustStore.load(*keys)


def say(line: str) -> None:
    """A line for the person at the command (stderr, at once): e.g. that it waits for the store's lock."""
    import sys

    print(f"checkout: {line}", file=sys.stderr, flush=True)


def cmd_kiosk_status(args) -> int:
    """The status report as JSON; a problem with the store's own files (a wrongly typed ``state.json``, an
    ``active.json`` naming a version that is not installed) is listed under ``problems`` and as one warning line each
    on stderr, exit 1, the rest of the report still shown."""
    import sys

    from kiosk.bundles.store import BundleStore
    from kiosk.errors import BundleError

    store = BundleStore(args.state, create=False)  # reading only: a mistyped --state makes nothing
    report, status_problem = store.read_status()
    problems = [line for line in [status_problem, store.pointer_problem(), *store.state_problems()] if line]
    report["active_version"] = store.active_version()
    report["installed_versions"] = store.installed_versions()
    try:
        report["blocked_versions"] = sorted(store.blocked_versions())
    except BundleError as exc:
        report["blocked_versions"] = None
        problems.append(str(exc))
    report["problems"] = problems
    print(json.dumps(report, indent=2, sort_keys=True))
    for line in problems:
        print(f"checkout: warning: {line}", file=sys.stderr)
    return 1 if problems else 0
