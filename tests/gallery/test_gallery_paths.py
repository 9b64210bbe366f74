"""``checkout sku list|forget`` on a gallery that is not there, or on a read-only mount: one line, nothing made.

Only ``checkout sku enroll`` and the kiosk make a gallery; ``list`` opens an existing one read-only (a read-only
mount lists), ``forget`` refuses a folder holding none."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.cli import main as checkout
from kiosk.gallery import Gallery, GalleryError
from kiosk.gallery import store as gallery_store


def _gallery(root: Path) -> Path:
    photos = [cv2.imencode(".png", np.full((40, 40, 3), v, np.uint8))[1].tobytes() for v in (10, 90)]
    with Gallery.open(root) as g:
        g.add("kiwi", photos, np.asarray([[1, 0, 0, 0], [0, 1, 0, 0]], np.float32), "fp32-test", staff="asha")
    return root


@pytest.mark.parametrize("command", [["sku", "list"], ["sku", "forget", "kiwi"]])
def test_a_missing_gallery_is_refused_and_nothing_is_made(tmp_path, capsys, command):
    head_office = tmp_path / "head-office"
    head_office.mkdir()
    for missing in (tmp_path / "nonexistent", head_office):
        assert checkout([*command, "--gallery", str(missing)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith(f"no gallery at {missing}") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "nonexistent").exists() and list(head_office.iterdir()) == []
    with pytest.raises(GalleryError, match="no gallery at"):
        Gallery.open(tmp_path / "nonexistent", create=False)
    assert not (tmp_path / "nonexistent").exists()


def _as_on_a_read_only_mount(monkeypatch) -> None:
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):  # what a read-only mount does (tests run as root, who writes anywhere)
        if "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(gallery_store.sqlite3, "connect", connect)
    monkeypatch.setattr(gallery_store, "_read_only_mount", lambda folder: True)


def test_list_reads_a_gallery_on_a_read_only_mount(tmp_path, capsys, monkeypatch):
    root = _gallery(tmp_path / "g")
    for ext in ("-wal", "-shm"):
        Path(f"{root / 'gallery.sqlite'}{ext}").unlink(missing_ok=True)
    _as_on_a_read_only_mount(monkeypatch)
    assert checkout(["sku", "list", "--gallery", str(root)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.startswith("kiwi: 2 photos") and "by asha" in out, out


def test_list_leaves_a_pending_journal_to_the_error_and_changes_nothing(tmp_path, capsys, monkeypatch):
    root = _gallery(tmp_path / "g")
    before = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*") if "sqlite" not in p.name)
    assert checkout(["sku", "list", "--gallery", str(root), "--json"]) == 0
    assert [e["sku"] for e in json.loads(capsys.readouterr().out)] == ["kiwi"]
    assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")
                  if "sqlite" not in p.name) == before
    Path(f"{root / 'gallery.sqlite'}-wal").write_bytes(b"x" * 100)  # changes not merged: immutable would skip them
    _as_on_a_read_only_mount(monkeypatch)
    assert checkout(["sku", "list", "--gallery", str(root)]) == 2
    assert "not a usable gallery (unable to open database file)" in capsys.readouterr().err
