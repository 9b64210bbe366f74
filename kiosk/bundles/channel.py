"""Channels: what head office publishes and any static HTTP server (or a shared folder) can serve.

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
import os
import posixpath
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bundles.keys import CONTEXT_INDEX, SigningKey, TrustStore, canonical_json, verify_envelope
from kiosk.bundle_format.atomic import AtomicFile, atomic_write, fsync_dir
from kiosk.bundles.signing import iso, parse_time, verify_manifest_signature
from kiosk.errors import BundleError, UserError
from kiosk.recognition.bundle import MANIFEST, SIGNATURE, load_bundle, sha256_file

INDEX = "index.json"
INDEX_TYPE = "channel-index"
MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 4 << 30


# ------------------------------------------------------------------------------------------------ archive


def bundle_files(root: Path) -> list[str]:
    bundle = load_bundle(root)
    return sorted([MANIFEST, SIGNATURE, *bundle.manifest.files])


def write_archive(root: Path | str, dest: Path | str, names: list[str] | None = None) -> Path:
    """Deterministic tar of a bundle directory: sorted regular files, mtime 0, owner 0, mode 0644. ``names``: the
    files to pack (default :func:`bundle_files`, which loads and checks the bundle first)."""
    root, dest = Path(root), Path(dest)
    with AtomicFile(dest) as out, tarfile.open(out.tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(names) if names is not None else bundle_files(root):
            path = root / name
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, 0, "", ""
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
    return dest


def _safe_member_name(name: str, where: str) -> str:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise BundleError(f"{where}: unsafe path {name!r} in archive")
    norm = posixpath.normpath(name)
    parts = norm.split("/")
    if norm in (".", "") or any(p in ("", ".", "..") for p in parts) or norm != name.rstrip("/"):
        raise BundleError(f"{where}: unsafe path {name!r} in archive (path traversal)")
    return norm


def safe_extract(archive: Path | str, dest: Path | str, max_total: int = MAX_TOTAL_BYTES) -> list[str]:
    """Extract regular files only into a new directory ``dest``; refuses links, devices, FIFOs, absolute or
    ``..`` paths, duplicates, more than MAX_MEMBERS entries or ``max_total`` bytes. Files are fsynced."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True)
    names: list[str] = []
    total = 0
    try:
        tar = tarfile.open(archive, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"{archive}: not a readable tar archive ({exc})") from None
    with tar:
        try:
            for member in tar:
                if len(names) >= MAX_MEMBERS:
                    raise BundleError(f"{archive}: more than {MAX_MEMBERS} entries")
                if member.isdir():
                    _safe_member_name(member.name, str(archive))
                    continue
                if not member.isreg():
                    kind = "link" if (member.issym() or member.islnk()) else "device or special file"
                    raise BundleError(f"{archive}: entry {member.name!r} is a {kind}; only regular files are allowed")
                name = _safe_member_name(member.name, str(archive))
                if name in names:
                    raise BundleError(f"{archive}: entry {name!r} appears twice")
                total += member.size
                if total > max_total:
                    raise BundleError(f"{archive}: more than {max_total} bytes when extracted")
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "wb") as out:
                    remaining = member.size
                    while remaining:
                        block = src.read(min(remaining, 1 << 20))
                        if not block:
                            raise BundleError(f"{archive}: entry {name!r} is truncated")
                        out.write(block)
                        remaining -= len(block)
                    out.flush()
                    os.fsync(out.fileno())
                names.append(name)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BundleError(f"{archive}: corrupt archive ({exc})") from None
    for d in sorted({(dest / n).parent for n in names} | {dest}, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(d)
    return names


# ------------------------------------------------------------------------------------------------ index


def rollout_bucket(store_id: str, group: str, model_version: int) -> int:
    """0..99, fixed per (store, group, release): a store in the first N% of a release stays in it."""
    h = hashlib.sha256(f"{group}\n{model_version}\n{store_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") % 100


def in_rollout(store_id: str, group: str, entry: dict) -> bool:
    pct = int(entry.get("rollout_percent", 100))
    return rollout_bucket(store_id, group, int(entry["model_version"])) < pct


def sign_index(signed: dict, key: SigningKey) -> dict:
    return {"signed": signed, "signatures": [key.sign(CONTEXT_INDEX, canonical_json(signed))]}


def verify_index(doc, trust: TrustStore, where: str, min_version: int | None = None,
                 now: datetime | None = None) -> dict:
    """Check a channel index: trusted signature, type, not older than ``min_version``, not expired."""
    verify_envelope(doc, CONTEXT_INDEX, trust.trusted, where)
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
    if expires <= (now or datetime.now(timezone.utc)):
        raise BundleError(f"{where}: channel index expired at {signed['expires_at']}")
    return signed


def read_index_file(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_bytes())
    except ValueError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None


def publish(bundle_dir: Path | str, channel_dir: Path | str, key: SigningKey, group: str = "default",
            rollout_percent: int = 100, index_expires_in: timedelta = timedelta(days=30),
            rotations: list[dict] = (), trust: TrustStore | None = None, now: datetime | None = None) -> dict:
    """Add a signed bundle to a channel: write its archive, then a new signed index. Returns the group entry.

    The bundle must verify (hashes + signature by a key in ``trust``, default: the publishing key). A group
    never goes back to a lower model version here (staff roll back on the kiosk); publishing the same
    version again changes its roll-out percentage.
    """
    bundle_dir, channel = Path(bundle_dir), Path(channel_dir)
    if not 0 <= int(rollout_percent) <= 100:
        raise UserError(f"--rollout {rollout_percent}: must be between 0 and 100")
    trust = trust or TrustStore.from_keys(key.public)
    bundle = load_bundle(bundle_dir)
    verify_manifest_signature(bundle_dir, trust)
    now = now or datetime.now(timezone.utc)
    (channel / "bundles").mkdir(parents=True, exist_ok=True)
    index_path = channel / INDEX
    old = read_index_file(index_path)
    if old is not None:
        signed_old = old.get("signed", {}) if isinstance(old, dict) else {}
        verify_envelope(old, CONTEXT_INDEX, {**trust.all_keys(), key.keyid: key.public}, str(index_path))
        groups = dict(signed_old.get("groups", {}))
        version = int(signed_old.get("version", 0)) + 1
        old_rotations = list(signed_old.get("rotations", []))
    else:
        groups, version, old_rotations = {}, 1, []
    m = bundle.manifest
    current = groups.get(group)
    if current and int(current["model_version"]) > m.model_version:
        raise UserError(f"{index_path}: group {group!r} already has model_version {current['model_version']}; "
                        f"refusing to publish the older {m.model_version}")
    manifest_sha = sha256_file(bundle_dir / MANIFEST)
    name = f"bundles/v{m.model_version:06d}-{manifest_sha[:12]}.tar"
    archive = channel / name
    if not archive.exists():
        write_archive(bundle_dir, archive)
    entry = {
        "model_version": m.model_version, "archive": name, "sha256": sha256_file(archive),
        "size": archive.stat().st_size, "manifest_sha256": manifest_sha, "rollout_percent": int(rollout_percent),
        "published_at": iso(now),
    }
    groups[group] = entry
    seen = {r.get("signed", {}).get("new_keyid") for r in old_rotations}
    for r in rotations:
        if r.get("signed", {}).get("new_keyid") not in seen:
            old_rotations.append(r)
    signed = {"type": INDEX_TYPE, "version": version, "created_at": iso(now),
              "expires_at": iso(now + index_expires_in), "groups": groups, "rotations": old_rotations}
    atomic_write(index_path, (json.dumps(sign_index(signed, key), indent=2, sort_keys=True) + "\n").encode())
    return entry
