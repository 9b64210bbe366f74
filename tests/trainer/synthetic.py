"""A tiny synthetic product dataset: coloured shapes on a noisy tray, one class per shape/colour."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

CLASSES = {
    "red-disc": ((40, 40, 220), "disc"),
    "green-box": ((40, 200, 40), "box"),
    "blue-bar": ((220, 60, 30), "bar"),
    "yellow-disc": ((30, 220, 230), "disc"),
}
GROUPS = {"red-disc": "discs", "yellow-disc": "discs", "green-box": "boxes", "blue-bar": "bars"}


def draw(sku: str, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    color, shape = CLASSES[sku]
    img = np.full((size, size, 3), 150, np.uint8)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    c = (int(size / 2 + rng.integers(-10, 11)), int(size / 2 + rng.integers(-10, 11)))
    col = tuple(int(np.clip(v + rng.integers(-20, 21), 0, 255)) for v in color)
    if shape == "disc":
        cv2.circle(img, c, int(size * 0.28), col, -1)
    elif shape == "box":
        r = int(size * 0.25)
        cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), col, -1)
    else:
        cv2.rectangle(img, (c[0] - int(size * 0.35), c[1] - 8), (c[0] + int(size * 0.35), c[1] + 8), col, -1)
    return img


def make_dataset(root: Path, per_class: int = 12, seed: int = 0, size: int = 96) -> tuple[Path, Path]:
    """Write JPEGs and train/val manifests; returns (train.csv, val.csv)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "val": []}
    for sku in CLASSES:
        (root / sku).mkdir(exist_ok=True)
        for i in range(per_class):
            path = root / sku / f"{i:03d}.jpg"
            cv2.imwrite(str(path), draw(sku, rng, size))
            split = "val" if i % 4 == 0 else "train"
            rows[split].append((f"{sku}/{i:03d}.jpg", sku, GROUPS[sku]))
    out = []
    for split in ("train", "val"):
        p = root / f"{split}.csv"
        with open(p, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "sku", "group"])
            w.writerows(rows[split])
        out.append(p)
    return out[0], out[1]
