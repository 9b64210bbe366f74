"""A small product world for the onboarding tests (enrollment, open set, incremental retraining).

Sixteen synthetic products (four shapes × four colours on a noisy tray). A tiny_cnn is trained by the real trainer on
:data:`TRAINED` and exported by the real exporter (embedding output, prototypes, fusion calibration, open-set
thresholds); :data:`NEW` are products a store adds later (enrolled, or added by an incremental retrain) and
:data:`UNKNOWN` products it never teaches. Built once per test session (about half a minute on 2 cores).
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

COLOURS = {"red": (40, 40, 220), "green": (40, 190, 40), "blue": (220, 70, 30), "yellow": (30, 220, 230)}
SHAPES = ("disc", "box", "bar", "ring")
SKUS = [f"{c}-{s}" for s in SHAPES for c in COLOURS]
NEW = ["yellow-ring", "green-bar", "blue-disc"]
UNKNOWN = ["red-ring", "yellow-box", "green-disc"]
SIZE = 192  # photo side (px); the model sees 64
TRAINED = [s for s in SKUS if s not in NEW + UNKNOWN]
TRAIN_ARGS = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
              "--batch-size", "16", "--threads", "2", "--no-progress", "--rotation", "10", "--epochs", "8",
              "--lr", "1e-2", "--seed", "0", "--exemplars", "12"]


def draw(sku: str, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    colour_name, shape = sku.split("-")
    img = tray(size, rng=rng)
    c = (int(size / 2 + rng.integers(-size // 12, size // 12)), int(size / 2 + rng.integers(-size // 12, size // 12)))
    col = tuple(int(np.clip(v + rng.integers(-15, 16), 0, 255)) for v in COLOURS[colour_name])
    r = int(size * 0.27)
    if shape == "disc":
        cv2.circle(img, c, r, col, -1)
    elif shape == "ring":
        cv2.circle(img, c, r, col, size // 14)
    elif shape == "box":
        cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), col, -1)
    else:
        cv2.rectangle(img, (c[0] - int(size * 0.36), c[1] - size // 12), (c[0] + int(size * 0.36), c[1] + size // 12),
                      col, -1)
    return img


def tray(size: int = SIZE, seed: int = 7, rng: np.random.Generator | None = None) -> np.ndarray:
    """The empty tray the products lie on: mid grey with sensor noise (sharp to the blur check)."""
    rng = rng or np.random.default_rng(seed)
    return np.clip(np.full((size, size, 3), 150.0) + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)


def write_manifest(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sku", "group"])
        w.writerows((p, sku, sku.split("-")[1]) for p, sku in rows)
    return path


def make_photos(root: Path, skus: list[str], per_sku: int, seed: int, prefix: str = "") -> list[tuple[str, str]]:
    """JPEG photos under ``root/<sku>/``; returns (path relative to root, sku) rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for sku in skus:
        (root / sku).mkdir(parents=True, exist_ok=True)
        for i in range(per_sku):
            name = f"{sku}/{prefix}{i:03d}.jpg"
            cv2.imwrite(str(root / name), draw(sku, rng), [cv2.IMWRITE_JPEG_QUALITY, 92])
            rows.append((name, sku))
    return rows


@dataclass(frozen=True)
class World:
    root: Path
    train: Path  # TRAINED SKUs' training photos
    val: Path  # TRAINED SKUs' validation photos
    new_train: Path  # NEW SKUs' photos a store would send (an incremental retrain's --add)
    new_test: Path  # NEW SKUs' other photos
    unknown: Path  # UNKNOWN SKUs' photos
    run: Path
    bundle: Path

    def photos(self, sku: str, manifest: Path | None = None) -> list[np.ndarray]:
        with open(manifest or self.new_test, newline="") as fh:
            return [cv2.imread(str(Path(manifest or self.new_test).parent / r["path"]))
                    for r in csv.DictReader(fh) if r["sku"] == sku]


_LOCK = threading.Lock()
_BUILT: dict[str, World] = {}


def build_world() -> World:
    """The trained world (once per session; kept in a temporary folder removed at exit)."""
    from kiosk.cli import main as checkout

    with _LOCK:
        if "world" in _BUILT:
            return _BUILT["world"]
        root = Path(tempfile.mkdtemp(prefix="onboarding-"))
        import atexit

        atexit.register(shutil.rmtree, root, True)
        data = root / "data"
        rows = make_photos(data, TRAINED, 14, seed=1)
        train = write_manifest(data / "train.csv", [r for i, r in enumerate(rows) if i % 7 != 0])
        val = write_manifest(data / "val.csv", [r for i, r in enumerate(rows) if i % 7 == 0])
        new_train = write_manifest(data / "new_train.csv", make_photos(data, NEW, 12, seed=2, prefix="a"))
        new_test = write_manifest(data / "new_test.csv", make_photos(data, NEW, 6, seed=3, prefix="b"))
        unknown = write_manifest(data / "unknown.csv", make_photos(data, UNKNOWN, 6, seed=4))
        run, bundle = root / "run", root / "bundle"
        assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run),
                         "--cache-dir", str(root / "cache"), *TRAIN_ARGS]) == 0
        # the toy world's 64-d features tell a blue disc from a blue box only by the nearest photo (cosines of
        # 0.9995 against 0.9997): the cosine fusion; the probe's own tests export it (tests/gallery/test_probe.py)
        assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "1",
                         "--fusion-similarity", "max"]) == 0
        _BUILT["world"] = World(root, train, val, new_train, new_test, unknown, run, bundle)
        return _BUILT["world"]


def onboarding_catalog(path: Path, inactive: tuple[str, ...] = ()) -> Path:
    """A catalog with every product of the world (all by unit, ₹10 + 10 paise per index, GST 5 %)."""
    from catalog.model import Sku
    from catalog.repository import Catalog

    with Catalog.open(path) as cat:
        cat.upsert_many([Sku(s, s.replace("-", " ").title(), s.split("-")[1], "unit", 1000 + 10 * i, 500, "0808",
                             active=s not in inactive) for i, s in enumerate(SKUS)])
    return path
