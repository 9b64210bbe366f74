"""Channels: what head office publishes (``trainer.release.publish``) and any static HTTP server (or a shared folder)
can serve; this module holds the index format and its checks, :mod:`kiosk.bundle_format.archive` the archives.

Layout of a channel directory::

    channel/
      index.json                       # signed channel index (below)
      bundles/v000003-1a2b3c4d5e6f.tar # one uncompressed tar per published bundle (regular files only)

``index.json`` is a signed envelope ``{"signed": {...}, "signatures": [{"keyid", "sig"}]}``; the signature covers
``b"checkout-channel-index-v1\\n" + canonical_json(signed)``. ``signed`` holds::

    {"type": "channel-index", "version": 7,            # +1 on every publish; kiosks refuse a lower one
     "created_at": "...Z", "expires_at": "...Z",       # kiosks refuse an expired index (freeze attacks)
     "groups": {"default": {"model_version": 3, "archive": "bundles/v000003-….tar", "sha256": "…",
                            "size": 12345, "manifest_sha256": "…", "rollout_percent": 100,
                            "published_at": "...Z"}},
     "rotations": [<key-rotation documents>]}

A store takes a group's release when ``rollout_bucket(store_id, group, version) < rollout_percent``: a
deterministic per-store hash, so raising the percentage only ever adds stores.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.timestamps import parse_time
from kiosk.bundle_format.trust import CONTEXT_INDEX, TrustStore, verify_envelope
from kiosk.errors import BundleError

INDEX = "index.json"
INDEX_TYPE = "channel-index"


def rollout_bucket(store_id: str, group: str, model_version: int) -> int:
    """0..99, fixed per (store, group, release): a store in the first N% of a release stays in it."""
    h = hashlib.sha256(f"{group}\n{model_version}\n{store_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") % 100


def in_rollout(store_id: str, group: str, entry: dict) -> bool:
    pct = int(entry.get("rollout_percent", 100))
    return rollout_bucket(store_id, group, int(entry["model_version"])) < pct


def verify_index(doc, trust: TrustStore, where: str, min_version: int | None = None,
                 now: datetime | None = None) -> dict:
    """Check a channel index: trusted signature, type, not older than ``min_version``, not expired."""
    now = now or datetime.now(timezone.utc)
    verify_envelope(doc, CONTEXT_INDEX, trust.keys_for(False, now), where)  # a key past its expiry does not count
    signed = doc["signed"]
    if signed.get("type") != INDEX_TYPE:
        raise BundleError(f"{where}: not a channel index (type {signed.get('type')!r})")
    try:
        version = int(signed["version"])
        groups = signed["groups"]
        if not isinstance(groups, dict):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise BundleError(f"{where}: channel index lacks 'version' or 'groups'") from None
    if min_version is not None and version < min_version:
        raise BundleError(f"{where}: channel index version {version} is older than the {min_version} this kiosk "
                          f"has already seen (replayed index)")
    expires = parse_time(signed.get("expires_at", ""), where)
    if expires <= now:
        raise BundleError(f"{where}: channel index expired at {signed['expires_at']}")
    return signed


def read_index_file(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None
