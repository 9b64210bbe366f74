"""Signing a bundle: ``manifest.sig`` (format in :mod:`kiosk.bundle_format.trust`).

``sign_bundle`` first rewrites ``manifest.json`` in canonical form (``BundleManifest.dumps()``), so the signed bytes
are the canonical manifest. The manifest lists the sha256 of every other file, so one signature covers the bundle.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write
from kiosk.bundle_format.bundle import MANIFEST, SIGNATURE, Bundle, load_bundle, write_manifest
from kiosk.bundle_format.timestamps import iso
from kiosk.bundle_format.trust import CONTEXT_MANIFEST
from trainer.release.keys import SigningKey


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
    atomic_write(root / SIGNATURE, json.dumps(sig, indent=2, sort_keys=True) + "\n")
    return load_bundle(root)
