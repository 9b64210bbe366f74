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
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.archive import MAX_TOTAL_BYTES
from kiosk.bundle_format.bundle import MAX_MODEL_VERSION
from kiosk.bundle_format.timestamps import parse_time
from kiosk.bundle_format.trust import CONTEXT_INDEX, TrustStore, verify_envelope
from kiosk.bundle_format.values import MAX_NUMBER, number, sha256_hex
from kiosk.errors import BundleError
from kiosk.inputfiles import read_document

INDEX = "index.json"
INDEX_TYPE = "channel-index"
#: the largest archive an index may name: the most a kiosk extracts plus room for the tar headers
MAX_ARCHIVE_BYTES = 2 * MAX_TOTAL_BYTES
#: the largest channel index a kiosk fetches (or head office reads back before publishing)
MAX_INDEX_BYTES = 1 << 20


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
    verify_envelope(doc, CONTEXT_INDEX, trust.keys_for(False, now), where,  # a key past its expiry does not count
                    expired=trust.expired_keys(now))
    signed = doc["signed"]
    if signed.get("type") != INDEX_TYPE:
        raise BundleError(f"{where}: not a channel index (type {signed.get('type')!r})")
    if "version" not in signed or not isinstance(signed.get("groups"), dict):
        raise BundleError(f"{where}: channel index lacks 'version' or 'groups'")
    try:  # the version is kept in state.json (replay protection): one this kiosk cannot read back is refused here
        version = number(signed["version"], "version", 0, MAX_NUMBER, integer=True)
    except ValueError as exc:
        raise BundleError(f"{where}: channel index {exc}") from None
    if min_version is not None and version < min_version:
        raise BundleError(f"{where}: channel index version {version} is older than the {min_version} this kiosk "
                          f"has already seen (replayed index)")
    expires = parse_time(signed.get("expires_at", ""), where)
    if expires <= now:
        raise BundleError(f"{where}: channel index expired at {signed['expires_at']}")
    return signed


def group_entry(signed: dict, group: str, where: str) -> dict | None:
    """The release ``signed`` (a verified index) names for ``group``, every value checked (a signed index may still
    say ``"size": -5`` or put a path where a digest goes); ``None`` when it names none. A :class:`BundleError`
    naming the index, the group and the field otherwise."""
    entry = signed["groups"].get(group)
    if entry is None:
        return None
    at = f"{where}: group {group!r}"
    if not isinstance(entry, dict):
        raise BundleError(f"{at} entry is not an object")
    try:
        archive = entry["archive"]
        if not isinstance(archive, str) or not archive or archive.startswith("/") or ".." in archive.split("/") \
                or "://" in archive or "\\" in archive or "\x00" in archive:
            raise BundleError(f"{at}: unsafe archive path {archive!r}")
        out = {**entry,
               "model_version": number(entry["model_version"], "model_version", 0, MAX_MODEL_VERSION, integer=True),
               "size": number(entry["size"], "size", 1, MAX_ARCHIVE_BYTES, integer=True),
               "sha256": sha256_hex(entry["sha256"], "sha256"),
               "rollout_percent": number(entry.get("rollout_percent", 100), "rollout_percent", 0, 100, integer=True)}
        if entry.get("manifest_sha256") is not None:
            out["manifest_sha256"] = sha256_hex(entry["manifest_sha256"], "manifest_sha256")
    except KeyError as exc:
        raise BundleError(f"{at} entry lacks {exc.args[0]!r}") from None
    except ValueError as exc:
        raise BundleError(f"{at}: {exc}") from None
    return out


def read_index_file(path: Path) -> dict | None:
    if not path.is_file():
        return None
    return read_document(path, MAX_INDEX_BYTES, "a channel index", BundleError)
