"""A full disk while downloading or unpacking a model is reported as a disk problem (one `error` line saying what is
needed and what is free, retried later), not audited as a refused corrupt archive; the signed size is checked against
the free space before anything is downloaded."""

from __future__ import annotations

import errno
import types

import pytest

from kiosk.errors import BundleError
from tests.bundle_format.test_archive_disk import big_archive, file_size_limit
from trainer.release.publish import publish


def _refusals(store) -> int:
    return sum(1 for e in store.read_audit() if e["event"] == "refused")


def test_too_little_free_space_for_the_signed_size_is_said_before_downloading(kiosk_v1, bundles_dir, head_office_key,
                                                                               tmp_path, monkeypatch):
    publish(bundles_dir / "v2", tmp_path / "ch", head_office_key)
    kiosk_v1.updater.channel = str(tmp_path / "ch")
    monkeypatch.setattr("kiosk.bundles.updater.shutil.disk_usage", lambda p: types.SimpleNamespace(free=1000))
    result = kiosk_v1.updater.check_once()
    assert result.outcome == "error" and "not enough disk space" in result.message, result
    assert "needs " in result.message and "0.0 MB free" in result.message and "\n" not in result.message
    assert not list(kiosk_v1.store.staging_dir.glob("*.part")) and _refusals(kiosk_v1.store) == 0
    monkeypatch.undo()
    assert kiosk_v1.updater.check_once().outcome == "activated"


def test_a_file_size_limit_while_unpacking_is_not_a_corrupt_archive(kiosk_v1, tmp_path):
    archive = big_archive(tmp_path / "usb.tar")
    with file_size_limit(64 * 1024), pytest.raises(BundleError) as info:
        kiosk_v1.updater.install_archive(archive)
    line = str(info.value)
    assert "refused" not in line and "File too large" in line and "limit on file size" in line
    assert _refusals(kiosk_v1.store) == 0 and kiosk_v1.updater.status.last_error_reason == "error"
    assert not [p for p in kiosk_v1.store.staging_dir.iterdir() if p.name.startswith("extract")]


def test_a_full_disk_while_unpacking_says_how_much_is_needed_and_free(kiosk_v1, tmp_path, monkeypatch):
    def full(src, size, target, where):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr("kiosk.bundle_format.archive._extract_member", full)
    with pytest.raises(BundleError) as info:
        kiosk_v1.updater.install_archive(big_archive(tmp_path / "usb.tar"))
    line = str(info.value)
    assert line.startswith("update failed: the disk is full:") and "No space left on device" in line
    assert "needs 0.3 MB" in line and "MB free in" in line and "refused" not in line
    assert _refusals(kiosk_v1.store) == 0
