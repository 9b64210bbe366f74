"""Publishing a signed bundle to a channel: its archive, then a new signed channel index."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.atomic import atomic_write
from kiosk.bundle_format.bundle import MANIFEST, load_bundle, sha256_file
from kiosk.bundle_format.channel import INDEX, INDEX_TYPE, read_index_file
from kiosk.bundle_format.timestamps import iso
from kiosk.bundle_format.trust import (
    CONTEXT_INDEX,
    TrustStore,
    canonical_json,
    verify_envelope,
    verify_manifest_signature,
)
from kiosk.errors import UserError
from trainer.release.keys import SigningKey


def sign_index(signed: dict, key: SigningKey) -> dict:
    return {"signed": signed, "signatures": [key.sign(CONTEXT_INDEX, canonical_json(signed))]}


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
