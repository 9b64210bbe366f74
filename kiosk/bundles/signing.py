"""Signing and checking a bundle's ``manifest.sig``.

``manifest.sig`` is JSON::

    {"algorithm": "ed25519", "signed_file": "manifest.json",
     "signatures": [{"keyid": "<16 hex>", "sig": "<base64 64 bytes>"}]}

Each signature covers ``b"checkout-bundle-manifest-v1\\n" + <the exact bytes of manifest.json>``. ``sign_bundle``
first rewrites ``manifest.json`` in canonical form (``BundleManifest.dumps()``), so those bytes are the canonical
manifest. The manifest lists the sha256 of every other file, so one signature covers the whole bundle.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bundles.keys import CONTEXT_MANIFEST, SigningKey, TrustStore
from kiosk.errors import BundleError
from kiosk.recognition.bundle import MANIFEST, SIGNATURE, Bundle, load_bundle, write_manifest


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BundleError(f"{where}: {value!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def sign_bundle(root: Path | str, key: SigningKey, expires_in: timedelta | None = None,
                now: datetime | None = None) -> Bundle:
    """Verify the bundle's files, canonicalise its manifest and write ``manifest.sig``.

    ``created_at`` is set when empty; ``expires_at`` is set to ``now + expires_in`` when given (a bundle that
    has no expiry gets 180 days: kiosks refuse bundles without one).
    """
    root = Path(root)
    bundle = load_bundle(root)
    m = bundle.manifest
    now = now or datetime.now(timezone.utc)
    changes = {}
    if not m.created_at:
        changes["created_at"] = iso(now)
    if expires_in is not None:
        changes["expires_at"] = iso(now + expires_in)
    elif not m.expires_at:
        changes["expires_at"] = iso(now + timedelta(days=180))
    if changes:
        m = dataclasses.replace(m, **changes)
    write_manifest(root, m)
    data = (root / MANIFEST).read_bytes()
    sig = {"algorithm": "ed25519", "signed_file": MANIFEST, "signatures": [key.sign(CONTEXT_MANIFEST, data)]}
    (root / SIGNATURE).write_text(json.dumps(sig, indent=2, sort_keys=True) + "\n")
    return load_bundle(root)


def verify_manifest_signature(root: Path | str, trust: TrustStore, installed: bool = False) -> str:
    """Check ``manifest.sig`` against the exact bytes of ``manifest.json``; returns the key id that signed.

    ``installed=True`` also accepts keys retired by a rotation (for bundles installed before it).
    """
    root = Path(root)
    mpath, spath = root / MANIFEST, root / SIGNATURE
    if not spath.is_file():
        raise BundleError(f"{spath}: bundle is not signed (manifest.sig missing)")
    try:
        data = mpath.read_bytes()
    except OSError as exc:
        raise BundleError(f"{mpath}: cannot read manifest ({exc.strerror})") from None
    try:
        doc = json.loads(spath.read_bytes())
        entries = doc["signatures"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{spath}: not a valid signature file (expected JSON with 'signatures')") from None
    keys = trust.keys_for(installed)
    seen = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = str(entry.get("keyid", ""))
        seen.append(kid)
        if kid not in keys:
            continue
        try:
            sig = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except ValueError:
            continue
        if keys[kid].verify(sig, CONTEXT_MANIFEST, data):
            return kid
    if not any(k in keys for k in seen):
        raise BundleError(f"{spath}: signed by untrusted key(s) {', '.join(seen) or '[none]'}; "
                          f"this kiosk trusts {', '.join(sorted(keys)) or '[no keys]'}")
    raise BundleError(f"{spath}: signature does not verify against manifest.json (manifest edited after signing, or signature damaged)")
