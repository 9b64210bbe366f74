"""Tamper suite: every way a bundle can be wrong is refused with its reason, and v1 keeps recognising."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bundle_format.bundle import file_entry, read_manifest, write_manifest
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundle_format.verify import BundleRefused, CatalogCompat
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle, tiny_catalog
from trainer.release.keys import SigningKey
from trainer.release.publish import publish
from trainer.release.signing import sign_bundle


def tar_dir(src: Path, dest: Path, extra: list[tarfile.TarInfo] = ()) -> Path:
    """Tar a directory as it is (no verification), optionally with extra hostile entries."""
    with tarfile.open(dest, "w") as tar:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=p.relative_to(src).as_posix())
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return dest


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def resign(root: Path, key: SigningKey, **manifest_changes) -> None:
    m = read_manifest(root)
    if manifest_changes:
        m = dataclasses.replace(m, **manifest_changes)
    m = dataclasses.replace(m, files={n: file_entry(root / n) for n in m.files})
    write_manifest(root, m)
    sign_bundle(root, key)


def test_tamper_suite(kiosk_v1, bundle_copy, bundles_dir, head_office_key, tmp_path, capsys):
    k = kiosk_v1
    frame = k.frame()
    before = k.active.recognize(frame)
    cases: list[tuple[str, str, object]] = []  # (name, expected reason, action returning None or raising)

    def archive_case(name: str, reason: str, make, catalog: CatalogCompat | None = None):
        n = len(cases)

        def run():
            src = make()
            archive = src if src.suffix == ".tar" else tar_dir(src, tmp_path / f"case-{n}.tar")
            k.updater.catalog = catalog or tiny_catalog()
            try:
                k.updater.install_archive(archive)
            finally:
                k.updater.catalog = tiny_catalog()
        cases.append((name, reason, run))

    # one byte flipped in each file of a valid signed bundle
    files = sorted(p.relative_to(bundles_dir / "v2").as_posix() for p in (bundles_dir / "v2").rglob("*") if p.is_file())
    assert {"manifest.json", "manifest.sig", "model.onnx", "model.safetensors"} <= set(files) and len(files) >= 7
    for i, rel in enumerate(files):
        def make(rel=rel, i=i):
            d = bundle_copy(2, f"flip{i}")
            flip_byte(d / rel)
            return d
        archive_case(f"byte flipped in {rel}", "signature" if rel.startswith("manifest.") else "hash", make)

    def edited():
        d = bundle_copy(2, "edited")
        m = json.loads((d / "manifest.json").read_text())
        m["auto_add_threshold"] = 0.5
        (d / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
        return d
    archive_case("manifest edited after signing", "signature", edited)

    def untrusted():
        d = bundle_copy(2, "untrusted")
        sign_bundle(d, SigningKey.generate("mallory"))
        return d
    archive_case("signed by an untrusted key", "signature", untrusted)

    def unsigned():
        d = bundle_copy(2, "unsigned")
        (d / "manifest.sig").unlink()
        return d
    archive_case("signature file removed", "signature", unsigned)

    def same_version():  # the active v1's own files again are "already active" (test_rollback_interrupted.py)
        d = build_tiny_bundle(tmp_path / "other-v1", model_version=1, seed=7)
        sign_bundle(d, head_office_key)
        return d
    archive_case("version equal to active (another bundle claiming v1)", "version", same_version)

    def older():
        d = build_tiny_bundle(tmp_path / "v0", model_version=0, seed=7)
        sign_bundle(d, head_office_key)
        return d
    archive_case("version below active", "version", older)

    def expired():
        d = bundle_copy(2, "expired")
        signed_at = datetime.now(timezone.utc) - timedelta(days=3)
        sign_bundle(d, head_office_key, expires_in=timedelta(days=1), now=signed_at)
        return d
    archive_case("expired", "expired", expired)

    archive_case("SKU missing from the catalog", "catalog", lambda: bundle_copy(2, "sku-missing"),
                 CatalogCompat.from_skus(1, TINY_LABELS[:-1]))
    archive_case("SKU inactive in the catalog", "catalog", lambda: bundle_copy(2, "sku-inactive"),
                 CatalogCompat(1, lambda sku: sku != "banana-robusta"))
    archive_case("catalog schema mismatch", "catalog", lambda: bundle_copy(2, "schema"),
                 CatalogCompat.from_skus(2, TINY_LABELS))

    def selftest_off():
        d = bundle_copy(2, "selftest-off")
        m = read_manifest(d)
        first = m.selftest[0]
        bad = dataclasses.replace(first, top_scores=[min(1.0, first.top_scores[0] + 0.2), *first.top_scores[1:]])
        resign(d, head_office_key, selftest=[bad, *m.selftest[1:]])
        return d
    archive_case("self-test outputs off (recorded scores)", "selftest", selftest_off)

    def model_swapped():
        d = bundle_copy(2, "model-swapped")
        shutil.copy(bundles_dir / "v1" / "model.onnx", d / "model.onnx")
        resign(d, head_office_key)
        return d
    archive_case("self-test outputs off (other weights, re-signed)", "selftest", model_swapped)

    def unlisted():
        d = bundle_copy(2, "unlisted")
        (d / "selftest" / "extra.py").write_text("print('hi')\n")
        return d
    archive_case("unlisted file added", "hash", unlisted)

    def traversal():
        info = tarfile.TarInfo("../../evil.txt")
        info.size = 4
        return tar_dir(bundle_copy(2, "traversal"), tmp_path / "traversal.tar", [info])
    archive_case("archive with a ../ path", "archive", traversal)

    def symlink():
        info = tarfile.TarInfo("selftest/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        return tar_dir(bundle_copy(2, "symlink"), tmp_path / "symlink.tar", [info])
    archive_case("archive with a symlink", "archive", symlink)

    def device():
        info = tarfile.TarInfo("dev-null")
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
        return tar_dir(bundle_copy(2, "device"), tmp_path / "device.tar", [info])
    archive_case("archive with a device node", "archive", device)

    # through a channel: the download itself is wrong
    blocked_before: list[set[int]] = []
    def channel_case(name: str, reason: str, damage, key: SigningKey = head_office_key):
        n = len(cases)

        def run():
            ch = tmp_path / f"channel-{n}"
            entry = publish(bundles_dir / "v2", ch, key, trust=TrustStore.from_keys(head_office_key.public))
            damage(ch / entry["archive"], ch)
            for part in k.store.staging_dir.glob("*.part"):  # each case starts without a partial download
                part.unlink()
            blocked_before.append(k.store.blocked_versions())  # the signed v2s refused for their self-test block v2 …
            k.store.write_state(blocked=[])  # … so that the channel's own v2 is judged here, as on a fresh kiosk
            k.updater.channel = str(ch)
            return k.updater.check_once()
        cases.append((name, reason, run))

    def truncate(archive: Path, ch: Path):
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) * 2 // 3])
    channel_case("truncated download", "download", truncate)

    def same_size_altered(archive: Path, ch: Path):
        flip_byte(archive)
    channel_case("archive altered on the server", "download", same_size_altered)

    def index_edited(archive: Path, ch: Path):
        doc = json.loads((ch / "index.json").read_text())
        doc["signed"]["groups"]["default"]["rollout_percent"] = 50
        (ch / "index.json").write_text(json.dumps(doc))
    channel_case("channel index edited", "index", index_edited)

    channel_case("channel index signed by an untrusted key", "index", lambda a, c: None, SigningKey.generate("mallory"))

    refused, lines = 0, []
    for name, reason, run in cases:
        try:
            result = run()
            got, message = (result.reason, result.message) if result and result.outcome == "refused" else (None, "")
        except BundleRefused as exc:
            got, message = exc.reason, str(exc)
        if got is None:
            lines.append(f"ACCEPTED: {name}")
        else:
            ok = got == reason and f"({reason})" in message
            lines.append(f"{'REFUSED' if ok else 'WRONG REASON'}: {name}: {message}")
            refused += ok
        # the kiosk keeps recognising with v1, and v1 on disk still verifies completely
        assert k.store.active_version() == 1, name
        assert k.active.version == 1, name
        after = k.active.recognize(frame)
        assert after.model_version == 1 and after.suggestions == before.suggestions, name
        assert not [p for p in k.store.staging_dir.iterdir() if p.name.startswith("extract")], name
    bundle, _ = k.store.open_active(k.trust)
    assert bundle.manifest.model_version == 1
    with capsys.disabled():
        print(f"\ntamper suite: {len(cases)} cases tried, {refused} refused with the expected reason")
        for line in lines:
            print("  " + line)
    assert refused == len(cases), "\n".join(lines)
    assert blocked_before[0] == {2}  # refused for what head office signed (self-test): blocked, not retried
    assert len(cases) == len(files) + 19
    assert k.updater.status.state == "failed" and k.updater.status.last_error
    assert sum(1 for e in k.store.read_audit() if e["event"] == "refused") >= len(cases) - 2


def test_valid_v2_is_accepted_after_the_suite_setup(kiosk_v1, bundles_dir, tmp_path):
    """Control: the untampered bundle passes the same path, so the refusals above are not vacuous."""
    archive = tar_dir(bundles_dir / "v2", tmp_path / "v2.tar")
    result = kiosk_v1.updater.install_archive(archive)
    assert result.outcome == "activated" and kiosk_v1.active.version == 2
    assert kiosk_v1.active.recognize(kiosk_v1.frame()).model_version == 2
