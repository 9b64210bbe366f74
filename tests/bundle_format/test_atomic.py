"""atomic_write and its users: unique temporaries, fsync of file and directory, nothing half-written."""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path

import pytest

from kiosk.bundle_format import atomic
from kiosk.bundle_format.atomic import AtomicFile, atomic_open, atomic_write
from kiosk.bundle_format.bundle import BundleManifest, read_manifest, write_manifest
from kiosk.bundle_format.preprocess import PreprocessSpec

REPO = Path(__file__).resolve().parents[2]


def manifest(version: int) -> BundleManifest:
    return BundleManifest(format_version=1, model_version=version, architecture="tiny", preprocess=PreprocessSpec(),
                          labels=["apple", "banana"], files={})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_manifest_ignores_a_stale_tmp_directory(tmp_path):
    (tmp_path / "manifest.json.tmp").mkdir()  # debris where the old code always wrote its temporary
    write_manifest(tmp_path, manifest(3))
    assert read_manifest(tmp_path).model_version == 3


def test_write_manifest_never_writes_through_a_planted_tmp_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json.tmp").symlink_to(victim)
    write_manifest(bundle, manifest(4))
    assert victim.read_text() == "keep me"
    assert not (bundle / "manifest.json").is_symlink()
    assert read_manifest(bundle).model_version == 4


def test_two_writers_of_one_manifest_do_not_collide(tmp_path):
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(version: int) -> None:
        start.wait()
        try:
            for _ in range(25):
                write_manifest(tmp_path, manifest(version))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(v,)) for v in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_manifest(tmp_path).model_version in range(1, 7)
    assert leftovers(tmp_path) == []


def test_atomic_write_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    target = tmp_path / "state.json"
    atomic_write(target, '{"v": 1}\n')
    assert target.read_text() == '{"v": 1}\n'
    assert synced[-1] == str(tmp_path)  # the directory, after the rename
    assert any(Path(s).name.startswith(".state.json.") for s in synced[:-1])  # the temporary, before it


def test_atomic_write_keeps_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "catalog.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w", encoding="utf-8") as fh:
            fh.write("half a new fi")
            raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_atomic_file_gives_a_path_for_libraries_that_want_one(tmp_path):
    import numpy as np

    target = tmp_path / "cache.npy"
    with AtomicFile(target) as out:
        arr = np.lib.format.open_memmap(out.tmp, mode="w+", dtype=np.uint8, shape=(2, 3))
        arr[:] = 7
        arr.flush()
        del arr
        assert not target.exists()
    assert np.load(target).tolist() == [[7, 7, 7], [7, 7, 7]]
    assert leftovers(tmp_path) == []


def test_atomic_open_refuses_read_and_append_modes(tmp_path):
    for mode in ("rb", "ab", "r+"):
        with pytest.raises(ValueError, match="not a 'w' mode"):
            with atomic_open(tmp_path / "x", mode):
                pass


def _is_replace(node) -> bool:
    """``os.replace(…)``, or ``tmp.replace(path)`` on a temporary's Path (directory renames are another matter)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)):
        return False
    name, attr = node.func.value.id, node.func.attr
    if name == "os":
        return attr == "replace"
    return attr == "replace" and len(node.args) == 1 and ("tmp" in name or "part" in name)


def test_no_hand_written_os_replace_outside_atomic_write():
    """Every file replacement in the product goes through kiosk.bundle_format.atomic."""
    found = []
    for room in ("kiosk", "catalog", "trainer"):
        for path in sorted((REPO / room).rglob("*.py")):
            if path == REPO / "kiosk" / "bundle_format" / "atomic.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if _is_replace(node):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []
