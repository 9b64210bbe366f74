"""A full or crowded disk under the trainer: one line naming the sizes, nothing half-written, a bounded cache.

The full disk is real: a 256 KiB tmpfs mounted for the test (CI runs as root; elsewhere the tests say why they skip).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kiosk.bundle_format.preprocess import PreprocessSpec
from kiosk.cli import disk_full
from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.trainer.synthetic import make_dataset
from trainer import imagecache
from trainer.imagecache import build_cache

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
        "--batch-size", "8", "--threads", "2", "--no-progress", "--epochs", "1", "--max-steps", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True,
                           text=True)
    if mount.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one was refused: {mount.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_a_cache_the_disk_cannot_hold_is_refused_before_decoding(data, small_disk, tmp_path):
    """Its own process: a memory map's page the disk cannot back is a SIGBUS (what this once was), not an error."""
    train, val = data
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "train", "--train", str(train), "--val", str(val),
                           "--out", str(tmp_path / "run"), "--cache-dir", str(small_disk), *FAST],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    err = done.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert f"{small_disk}: the decoded cache of 36 images needs 0.5 MB and the disk has" in err, err
    assert list(small_disk.iterdir()) == []  # no half-written temporary holds the little space there is


def test_a_full_disk_under_the_run_is_one_line_and_resumable(data, small_disk, tmp_path, capsys):
    train, val = data
    run = small_disk / "run"
    rc = checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run),
                   "--cache-dir", str(tmp_path / "cache"), *FAST[2:], "--arch", "mobilenet_v2"])
    assert rc == 2
    err = _one_line_error(capsys)
    assert err.startswith("checkout: error: the disk is full") and "--resume RUN" in err, err
    assert not [p for p in run.rglob("*.tmp")], "a temporary was left behind"


def test_only_disk_full_errors_are_turned_into_a_line():
    assert disk_full(OSError(errno.ENOSPC, "No space left on device", "/var/x.bin")).startswith(
        "the disk is full writing /var/x.bin;")
    assert disk_full(RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"))
    assert disk_full(OSError(errno.EACCES, "Permission denied", "/var/x.bin")) is None
    assert disk_full(ValueError("bad shape")) is None


def _photos(root: Path, n: int) -> list[tuple[Path, int]]:
    import cv2

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    out = []
    for i in range(n):
        path = root / f"{i}.png"
        cv2.imwrite(str(path), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
        out.append((path, 0))
    return out


def test_the_cache_keeps_its_budget_by_dropping_the_least_recently_used(tmp_path, monkeypatch):
    spec = PreprocessSpec(crop_size=32, resize_size=36)
    one_entry = 4 * 32 * 32 * 3 + 128  # four images plus the .npy header
    monkeypatch.setenv(imagecache.BUDGET_ENV, str(2.5 * one_entry / imagecache.GB))
    cache = tmp_path / "cache"
    a, b, c = (_photos(tmp_path / name, 4) for name in "abc")
    build_cache(a, cache, "eval", spec)
    (a_npy,) = cache.glob("*.npy")
    build_cache(b, cache, "eval", spec)
    (b_npy,) = set(cache.glob("*.npy")) - {a_npy}
    for age, npy in ((2, a_npy), (1, b_npy)):  # b built after a, and then a used again: b is the least recent
        os.utime(npy, ns=(age * 10**9, age * 10**9))
    stale, live = cache / ".eval-0.npy.0123456789ab.tmp", cache / ".eval-1.npy.0123456789ab.tmp"
    stale.write_bytes(b"left by a kill -9")
    live.write_bytes(b"being written")
    os.utime(stale, ns=(10**9, 10**9))
    c_images = build_cache(c, cache, "eval", spec).images
    assert not stale.exists() and live.exists()
    assert not b_npy.exists() and not b_npy.with_suffix(".json").exists()
    assert len(list(cache.glob("*.npy"))) == 2
    assert c_images.shape == (4, 32, 32, 3)
    os.utime(a_npy, ns=(10**9, 10**9))
    build_cache(a, cache, "eval", spec)  # a hit marks its use
    assert a_npy.stat().st_mtime > 10**6
    assert np.array_equal(build_cache(a, cache, "eval", spec).images, build_cache(a, tmp_path / "fresh", "eval",
                                                                                  spec).images)


def test_a_bad_budget_is_one_line(monkeypatch):
    monkeypatch.setenv(imagecache.BUDGET_ENV, "lots")
    with pytest.raises(UserError, match=r"^CHECKOUT_CACHE_MAX_GB='lots': not a size in GB"):
        imagecache.cache_budget()
    monkeypatch.setenv(imagecache.BUDGET_ENV, "-1")
    with pytest.raises(UserError, match="not a size in GB"):
        imagecache.cache_budget()
