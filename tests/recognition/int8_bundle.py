"""Tiny bundles with an int8 model, made by the real ``trainer.quantize`` (ONNX Runtime static QDQ) in a second or two.

:func:`build_two_conv_bundle` is the factory's tiny bundle with a second convolution in the middle: quantize keeps
the layers at the ends (reading the image, writing the logits) in fp32, so a network needs a middle to quantize.
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


def two_conv_onnx(num_classes: int, seed: int) -> bytes:
    """conv 3→8 → ReLU → conv 8→8 → ReLU → global average pool → linear, over 32x32 RGB, dynamic batch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = {"conv1.weight": rng.normal(0, 0.6, (8, 3, 3, 3)), "conv1.bias": rng.normal(0, 0.1, (8,)),
               "conv2.weight": rng.normal(0, 0.4, (8, 8, 3, 3)), "conv2.bias": rng.normal(0, 0.1, (8,)),
               "fc.weight": rng.normal(0, 1.5, (num_classes, 8)), "fc.bias": rng.normal(0, 0.2, (num_classes,))}
    inits = [numpy_helper.from_array(v.astype(np.float32), name=k) for k, v in weights.items()]
    conv = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(nodes, "two-conv", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                 ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", num_classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests.recognition")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def build_two_conv_bundle(out: Path, model_version: int = 1) -> Path:
    """The factory's tiny bundle (unsigned) with :func:`two_conv_onnx` as its model and self-test outputs to match
    (its ``backends``: onnxruntime and tensorrt; the safetensors file is the factory's and is not run)."""
    import dataclasses

    from kiosk.bundle_format.bundle import file_entry, write_manifest
    from kiosk.bundle_format.selftest import record_selftest
    from kiosk.recognition.backends.base import create_backend
    from kiosk.recognition.recognizer import Recognizer

    out = build_tiny_bundle(out, model_version=model_version)
    m = load_bundle(out, verify=False).manifest
    (out / "model.onnx").write_bytes(two_conv_onnx(len(m.labels), seed=model_version))
    m = dataclasses.replace(m, files={**m.files, "model.onnx": file_entry(out / "model.onnx")})
    write_manifest(out, m)
    bundle = load_bundle(out)
    rec = Recognizer(bundle, create_backend("onnxruntime", bundle, threads=1, warmup=False, precision="fp32"))
    try:
        cases = record_selftest(rec.probabilities, m.labels, out, [c.image for c in m.selftest])
    finally:
        rec.close()
    write_manifest(out, dataclasses.replace(m, selftest=cases))
    return out


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
    """An unsigned two-conv tiny bundle (v1) with ``model.int8.onnx`` added by ``quantize_bundle``."""
    from trainer.quantize import quantize_bundle

    bundle = build_two_conv_bundle(root / "bundle", model_version=1)
    calibration = photo_manifest(bundle, root / "calibration", 24, seed=5)
    val = photo_manifest(bundle, root / "val", 24, seed=6)
    quantize_bundle(bundle, calibration, val, images=24, tolerance=tolerance)
    return bundle
