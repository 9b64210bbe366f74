"""Tiny bundles with an int8 model, made by the real ``trainer.quantize`` (ONNX Runtime static QDQ) in a second or two.

:func:`photo_manifest` writes PNG photos and a manifest whose labels are what the bundle's fp32 model answers, so fp32
top-1 on it is 1.0 and any int8 loss shows; ``constant=True`` writes flat grey photos, a calibration set that
leaves the int8 model's input range empty (every real photo then saturates to one value).
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from kiosk.bundle_format.bundle import load_bundle
from kiosk.bundle_format.preprocess import read_image
from tests.bundles.factory import build_tiny_bundle, tiny_images


def photo_manifest(bundle_dir: Path, folder: Path, n: int, seed: int, constant: bool = False) -> Path:
    from kiosk.recognition.backends.base import create_backend
    from kiosk.recognition.recognizer import Recognizer

    bundle = load_bundle(bundle_dir)
    recognizer = Recognizer(bundle, create_backend("onnxruntime", bundle, threads=1, warmup=False, precision="fp32"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for i, image in enumerate(tiny_images(n, seed)):
            if constant:
                image = np.full_like(image, 40 + i % 3)
            path = folder / f"{i:03d}.png"
            cv2.imwrite(str(path), image)
            top = recognizer.probabilities([read_image(path)])[0].argmax()
            rows.append((path.name, bundle.manifest.labels[top]))
    finally:
        recognizer.close()
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "sku"), *rows])
    return manifest


def build_int8_bundle(root: Path, tolerance: float = 100.0) -> Path:
    """An unsigned tiny bundle (v1) with ``model.int8.onnx`` added by ``quantize_bundle``."""
    from trainer.quantize import quantize_bundle

    bundle = build_tiny_bundle(root / "bundle", model_version=1)
    calibration = photo_manifest(bundle, root / "calibration", 24, seed=5)
    val = photo_manifest(bundle, root / "val", 24, seed=6)
    quantize_bundle(bundle, calibration, val, images=24, tolerance=tolerance)
    return bundle
