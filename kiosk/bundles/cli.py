"""``checkout keys …``, ``checkout bundle sign|verify|publish`` and ``checkout kiosk update|rollback|model-status``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from kiosk.errors import UserError


def register(sub, groups) -> None:
    from kiosk.cli import group

    keys = group(sub, groups, "keys", "head-office signing keys")
    p = keys.add_parser("generate", help="make an Ed25519 key pair (NAME.key stays at head office, NAME.pub goes to kiosks)")
    p.add_argument("--name", required=True, help="key name, e.g. headoffice-2026")
    p.add_argument("--out", type=Path, default=Path.home() / ".checkout" / "keys", help="directory (default ~/.checkout/keys)")
    p.add_argument("--allow-in-repo", action="store_true", help="allow writing the private key inside a git work tree")
    p.set_defaults(func=cmd_keys_generate)
    p = keys.add_parser("rotate", help="write a rotation document: the old key introduces the new one")
    p.add_argument("--old-key", type=Path, required=True, help="the old private key (trusted by kiosks now)")
    p.add_argument("--new-pub", type=Path, required=True, help="the new public key")
    p.add_argument("--revoke-old", action="store_true", help="kiosks stop trusting the old key for new bundles")
    p.add_argument("--out", type=Path, required=True, help="rotation JSON to write (publish it with --rotation)")
    p.set_defaults(func=cmd_keys_rotate)

    bundle = group(sub, groups, "bundle", "model bundles: export, sign, verify, publish")
    p = bundle.add_parser("sign", help="canonicalise manifest.json and write manifest.sig")
    p.add_argument("bundle", type=Path)
    p.add_argument("--key", type=Path, required=True, help="private key (NAME.key)")
    p.add_argument("--expires-days", type=float, default=None, help="set expires_at to now + DAYS (default: keep; 180 if none)")
    p.set_defaults(func=cmd_bundle_sign)
    p = bundle.add_parser("verify", help="check signature, hashes, expiry, optional catalog and the self-test")
    p.add_argument("bundle", type=Path)
    p.add_argument("--keys", type=Path, action="append", required=True, help="trusted public key file or directory")
    p.add_argument("--active-version", type=int, default=None, help="refuse model_version <= this")
    _catalog_args(p)
    p.add_argument("--no-selftest", action="store_true", help="skip running the self-test images")
    p.set_defaults(func=cmd_bundle_verify)
    p = bundle.add_parser("publish", help="add a signed bundle to a channel directory (archive + signed index)")
    p.add_argument("bundle", type=Path)
    p.add_argument("--channel", type=Path, required=True, help="channel directory served over HTTP or shared")
    p.add_argument("--key", type=Path, required=True, help="private key that signs the channel index")
    p.add_argument("--group", default="default", help="store group (default: default)")
    p.add_argument("--rollout", type=int, default=100, help="staged roll-out: percentage of the group's stores")
    p.add_argument("--index-expires-days", type=float, default=30.0, help="kiosks refuse the index after this")
    p.add_argument("--rotation", type=Path, action="append", default=[], help="key-rotation JSON to ship in the index")
    p.add_argument("--keys", type=Path, action="append", default=[], help="keys that may have signed the bundle "
                   "(default: the publishing key)")
    p.set_defaults(func=cmd_bundle_publish)

    kiosk = group(sub, groups, "kiosk", "run the kiosk and manage its model")
    p = kiosk.add_parser("update", help="poll a channel once (or every --every seconds) and activate a new model")
    _store_args(p)
    p.add_argument("--channel", required=True, help="channel URL (http(s)://…, file:/…) or directory")
    p.add_argument("--store-id", required=True, help="this store's id (staged roll-out)")
    p.add_argument("--group", default="default")
    p.add_argument("--backend", default="onnxruntime", help="backend the new model must load with")
    _catalog_args(p, required=True)
    p.add_argument("--archive", type=Path, default=None, help="install this bundle archive instead of polling")
    p.add_argument("--every", type=float, default=0, help="keep polling every SECONDS (0: once)")
    p.set_defaults(func=cmd_kiosk_update)
    p = kiosk.add_parser("rollback", help="staff: go back to an installed lower version (audited)")
    _store_args(p)
    p.add_argument("--staff", required=True, help="who is rolling back")
    p.add_argument("--reason", required=True, help="why (goes to the audit log)")
    p.add_argument("--to", type=int, default=None, help="version (default: the newest installed below the active)")
    p.set_defaults(func=cmd_kiosk_rollback)
    p = kiosk.add_parser("model-status", help="print the status report (active version, last check, last error)")
    p.add_argument("--state", type=Path, required=True, help="the kiosk's bundle store directory")
    p.set_defaults(func=cmd_kiosk_status)


def _store_args(p) -> None:
    p.add_argument("--state", type=Path, required=True, help="the kiosk's bundle store directory")
    p.add_argument("--keys", type=Path, action="append", required=True, help="trusted public key file or directory")


def _catalog_args(p, required: bool = False) -> None:
    p.add_argument("--catalog-schema", type=int, required=required, help="the kiosk catalog's schema version")
    p.add_argument("--active-skus", type=Path, required=required,
                   help="text file: one active SKU id per line (what the kiosk's catalog sells)")


def _catalog(args):
    from kiosk.bundle_format.verify import CatalogCompat

    if args.catalog_schema is None and args.active_skus is None:
        return None
    if args.catalog_schema is None or args.active_skus is None:
        raise UserError("--catalog-schema and --active-skus go together")
    try:
        lines = args.active_skus.read_text().splitlines()
    except OSError as exc:
        raise UserError(f"{args.active_skus}: cannot read ({exc.strerror})") from None
    return CatalogCompat.from_skus(args.catalog_schema, [s.strip() for s in lines if s.strip() and not s.startswith("#")])


def cmd_keys_generate(args) -> int:
    from kiosk.bundle_format.trust import load_public_key
    from kiosk.bundles.keys import write_keypair

    key_path, pub_path = write_keypair(args.out, args.name, allow_in_repo=args.allow_in_repo)
    print(f"private key: {key_path} (keep it at head office)\npublic key:  {pub_path} "
          f"(key id {load_public_key(pub_path).keyid}; copy it into each kiosk's trusted keys directory)")
    return 0


def cmd_keys_rotate(args) -> int:
    from datetime import datetime, timezone

    from kiosk.bundle_format.atomic import atomic_write
    from kiosk.bundle_format.timestamps import iso
    from kiosk.bundle_format.trust import load_public_key
    from kiosk.bundles.keys import load_signing_key, make_rotation

    old, new = load_signing_key(args.old_key), load_public_key(args.new_pub)
    doc = make_rotation(old, new, revoke_old=args.revoke_old, created_at=iso(datetime.now(timezone.utc)))
    atomic_write(args.out, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    print(f"{args.out}: key {old.keyid} introduces {new.keyid}{' and retires itself' if args.revoke_old else ''}")
    return 0


def cmd_bundle_sign(args) -> int:
    from kiosk.bundles.keys import load_signing_key
    from kiosk.bundles.signing import sign_bundle

    key = load_signing_key(args.key)
    expires = timedelta(days=args.expires_days) if args.expires_days is not None else None
    bundle = sign_bundle(args.bundle, key, expires_in=expires)
    m = bundle.manifest
    print(f"{args.bundle}: model_version {m.model_version} signed by {key.keyid}; expires {m.expires_at}")
    return 0


def cmd_bundle_verify(args) -> int:
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import VerifyPolicy, verify_bundle
    from kiosk.recognition.recognizer import selftest_runner

    policy = VerifyPolicy(TrustStore.load(*args.keys), active_version=args.active_version, catalog=_catalog(args),
                          selftest=not args.no_selftest, run_model=selftest_runner())
    v = verify_bundle(args.bundle, policy)
    m = v.bundle.manifest
    print(f"{args.bundle}: OK: model_version {m.model_version}, signed by {v.keyid}, {len(m.files)} files verified, "
          f"expires {m.expires_at}" + (f"; {v.selftest.summary()}" if v.selftest else ""))
    return 0


def cmd_bundle_publish(args) -> int:
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundles.keys import load_signing_key
    from kiosk.bundles.publish import publish

    key = load_signing_key(args.key)
    trust = TrustStore.load(*args.keys) if args.keys else None
    if trust is not None:
        trust.trusted.setdefault(key.keyid, key.public)
    rotations = []
    for path in args.rotation:
        try:
            rotations.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: cannot read rotation document ({exc})") from None
    entry = publish(args.bundle, args.channel, key, group=args.group, rollout_percent=args.rollout,
                    index_expires_in=timedelta(days=args.index_expires_days), rotations=rotations, trust=trust)
    print(f"{args.channel}: group {args.group!r} → model_version {entry['model_version']} "
          f"({entry['archive']}, {entry['size']} bytes, roll-out {entry['rollout_percent']}%)")
    return 0


def _open(args):
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundles.store import BundleStore

    return BundleStore(args.state), TrustStore.load(*args.keys)


def cmd_kiosk_update(args) -> int:
    import time

    from kiosk.bundles.updater import Updater

    store, trust = _open(args)
    updater = Updater(store, trust, args.channel, args.store_id, group=args.group, catalog=_catalog(args),
                      backend=args.backend)
    if args.archive is not None:
        result = updater.install_archive(args.archive)
        print(f"{result.outcome}: {result.message}")
        return 0
    while True:
        result = updater.check_once()
        print(f"{result.outcome}: {result.message}", flush=True)
        if not args.every:
            return 0 if result.outcome not in ("refused", "error", "rolled-back") else 1
        time.sleep(args.every)


def cmd_kiosk_rollback(args) -> int:
    store, trust = _open(args)
    before = store.active_version()
    now = store.rollback(trust, actor=args.staff, reason=args.reason, to_version=args.to)
    print(f"{args.state}: rolled back from model_version {before} to {now} (audited in {store.audit_path})")
    return 0


def cmd_kiosk_status(args) -> int:
    from kiosk.bundles.store import BundleStore

    store = BundleStore(args.state)
    try:
        report = json.loads(store.status_path.read_text())
    except (OSError, ValueError):
        report = {}
    report["active_version"] = store.active_version()
    report["installed_versions"] = store.installed_versions()
    report["blocked_versions"] = sorted(store.blocked_versions())
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0
