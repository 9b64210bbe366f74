"""Head office's release commands: ``checkout keys generate|rotate`` and ``checkout bundle sign|publish``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from kiosk.errors import UserError
from kiosk.exchange.document import read_document
from kiosk.inputfiles import MB
from kiosk.subcommands import bounded, group


def register(sub, groups) -> None:
    keys = group(sub, groups, "keys", "head-office signing keys")
    p = keys.add_parser("generate",
                        help="make an Ed25519 key pair (NAME.key stays at head office, NAME.pub goes to kiosks)")
    p.add_argument("--name", required=True, help="key name, e.g. headoffice-2026")
    p.add_argument("--out", type=Path, default=Path.home() / ".checkout" / "keys",
                   help="directory (default ~/.checkout/keys)")
    p.add_argument("--allow-in-repo", action="store_true", help="allow writing the private key inside a git work tree")
    p.add_argument("--expires-days", type=bounded(float, above=0, high=36500), default=None,
                   help="the public key says it expires after this many days: kiosks then refuse new bundles and "
                        "channel indexes it signs (rotate to a new key before)")
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
    p.add_argument("--expires-days", type=bounded(float, above=0, high=36500), default=None,
                   help="set expires_at to now + DAYS (default: keep; 180 if none)")
    p.set_defaults(func=cmd_bundle_sign)
    p = bundle.add_parser("publish", help="add a signed bundle to a channel directory (archive + signed index)")
    p.add_argument("bundle", type=Path)
    p.add_argument("--channel", type=Path, required=True, help="channel directory served over HTTP or shared")
    p.add_argument("--key", type=Path, required=True, help="private key that signs the channel index")
    p.add_argument("--group", default="default", help="store group (default: default)")
    p.add_argument("--rollout", type=bounded(int, 0, 100), default=100,
                   help="staged roll-out: percentage of the group's stores")
    p.add_argument("--index-expires-days", type=bounded(float, above=0, high=36500), default=30.0,
                   help="kiosks refuse the index after this")
    p.add_argument("--rotation", type=Path, action="append", default=[], help="key-rotation JSON to ship in the index")
    p.add_argument("--keys", type=Path, action="append", default=[], help="keys that may have signed the bundle "
                   "(default: the publishing key)")
    p.set_defaults(func=cmd_bundle_publish)


def cmd_keys_generate(args) -> int:
    from datetime import datetime, timezone

    from kiosk.bundle_format.timestamps import iso
    from kiosk.bundle_format.trust import load_public_key
    from trainer.release.keys import write_keypair

    expires = ""
    if args.expires_days is not None:
        if args.expires_days <= 0:
            raise UserError(f"--expires-days must be above 0, got {args.expires_days}")
        expires = iso(datetime.now(timezone.utc) + timedelta(days=args.expires_days))
    key_path, pub_path = write_keypair(args.out, args.name, allow_in_repo=args.allow_in_repo, expires=expires)
    print(f"private key: {key_path} (keep it at head office)\npublic key:  {pub_path} "
          f"(key id {load_public_key(pub_path).keyid}; copy it into each kiosk's trusted keys directory)")
    return 0


def cmd_keys_rotate(args) -> int:
    from datetime import datetime, timezone

    from kiosk.bundle_format.atomic import atomic_write
    from kiosk.bundle_format.timestamps import iso
    from kiosk.bundle_format.trust import load_public_key
    from trainer.release.keys import load_signing_key, make_rotation

    old, new = load_signing_key(args.old_key), load_public_key(args.new_pub)
    doc = make_rotation(old, new, revoke_old=args.revoke_old, created_at=iso(datetime.now(timezone.utc)))
    atomic_write(args.out, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    print(f"{args.out}: key {old.keyid} introduces {new.keyid}{' and retires itself' if args.revoke_old else ''}")
    return 0


def cmd_bundle_sign(args) -> int:
    from trainer.release.keys import load_signing_key
    from trainer.release.signing import sign_bundle

    key = load_signing_key(args.key)
    expires = timedelta(days=args.expires_days) if args.expires_days is not None else None
    bundle = sign_bundle(args.bundle, key, expires_in=expires)
    m = bundle.manifest
    print(f"{args.bundle}: model_version {m.model_version} signed by {key.keyid}; expires {m.expires_at}")
    return 0


def cmd_bundle_publish(args) -> int:
    from kiosk.bundle_format.trust import TrustStore
    from trainer.release.keys import load_signing_key
    from trainer.release.publish import publish

    key = load_signing_key(args.key)
    trust = TrustStore.load(*args.keys) if args.keys else None
    if trust is not None:
        trust.trusted.setdefault(key.keyid, key.public)
    rotations = []
    for path in args.rotation:
        try:  # nested 100,000 deep, NaN or 1e400: refused here, before it is signed into the index
            rotations.append(read_document(path, MB, "a rotation document", UserError))
        except FileNotFoundError:
            raise UserError(f"{path}: cannot read rotation document (no such file)") from None
    entry = publish(args.bundle, args.channel, key, group=args.group, rollout_percent=args.rollout,
                    index_expires_in=timedelta(days=args.index_expires_days), rotations=rotations, trust=trust)
    print(f"{args.channel}: group {args.group!r} → model_version {entry['model_version']} "
          f"({entry['archive']}, {entry['size']} bytes, roll-out {entry['rollout_percent']}%)")
    return 0
