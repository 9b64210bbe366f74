"""Tiny real bundles for the tests (no training, no torch).

:func:`build_tiny_bundle` writes a bundle with the exporter's layout: ``model.onnx`` (conv 3x3 → ReLU → global
average pool → linear, over 32x32 RGB, dynamic batch, input ``input``, output ``logits``), the same weights in
``model.safetensors``, PNG self-test images whose top-k outputs are recorded with ONNX Runtime, and a manifest.
Different ``seed`` values give different weights; the same seed gives byte-identical files.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import FORMAT_VERSION, BundleManifest, file_entry, write_manifest
from kiosk.bundle_format.preprocess import PreprocessSpec

TINY_LABELS = ["apple-royal-gala", "banana-robusta", "carrot-ooty", "milk-toned-500ml", "tomato-hybrid"]
TINY_SPEC = PreprocessSpec(resize_size=32, crop_size=32)
TINY_ARCH = "tiny-conv-test"


def tiny_weights(num_classes: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "conv.weight": rng.normal(0, 0.6, (8, 3, 3, 3)).astype(np.float32),
        "conv.bias": rng.normal(0, 0.1, (8,)).astype(np.float32),
        "fc.weight": rng.normal(0, 1.5, (num_classes, 8)).astype(np.float32),
        "fc.bias": rng.normal(0, 0.2, (num_classes,)).astype(np.float32),
    }


def tiny_onnx_bytes(weights: dict[str, np.ndarray]) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    num_classes = weights["fc.weight"].shape[0]
    inits = [numpy_helper.from_array(v, name=k) for k, v in weights.items()]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", num_classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests.bundles.factory")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tiny_images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1000 + seed)
    images = []
    for _ in range(n):
        base = rng.integers(0, 256, (1, 1, 3))
        noise = rng.integers(-60, 60, (40, 40, 3))
        images.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return images


def build_tiny_bundle(out: Path | str, model_version: int = 1, seed: int | None = None,
                      labels: list[str] | None = None, n_selftest: int = 3, schema_version: int = 1,
                      created_at: datetime | None = None, expires_in: timedelta = timedelta(days=30),
                      top_k: int = 3) -> Path:
    """Write an unsigned tiny bundle to ``out`` (created; must not exist) and return its path."""
    import cv2
    from safetensors.numpy import save_file

    from kiosk.bundle_format.bundle import Bundle
    from kiosk.bundle_format.selftest import record_selftest
    from kiosk.bundle_format.timestamps import iso
    from kiosk.recognition.backends.base import create_backend
    from kiosk.recognition.recognizer import Recognizer

    out = Path(out)
    out.mkdir(parents=True)
    labels = list(labels or TINY_LABELS)
    seed = model_version if seed is None else seed
    weights = tiny_weights(len(labels), seed)
    (out / "model.onnx").write_bytes(tiny_onnx_bytes(weights))
    save_file(weights, str(out / "model.safetensors"))
    (out / "selftest").mkdir()
    names = []
    for i, image in enumerate(tiny_images(n_selftest, seed)):
        name = f"selftest/{i:03d}.png"
        cv2.imwrite(str(out / name), image)
        names.append(name)
    created = created_at or datetime.now(timezone.utc)
    files = {p.relative_to(out).as_posix(): file_entry(p) for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = BundleManifest(
        format_version=FORMAT_VERSION, model_version=model_version, architecture=TINY_ARCH, preprocess=TINY_SPEC,
        labels=labels, files=files, backends=["onnxruntime", "tensorrt"], created_at=iso(created),
        expires_at=iso(created + expires_in), catalog={"schema_version": schema_version, "skus": labels},
        trainer={"builder": "tests.bundles.factory", "seed": seed},
    )
    bundle = Bundle(out, manifest)
    recognizer = Recognizer(bundle, create_backend("onnxruntime", bundle, threads=1, warmup=False), top_k=top_k)
    cases = record_selftest(recognizer.probabilities, recognizer.labels, out, names, k=top_k)
    recognizer.close()
    import dataclasses

    write_manifest(out, dataclasses.replace(manifest, selftest=cases))
    return out


def tiny_catalog(schema_version: int = 1):
    """A CatalogCompat in which every tiny-bundle SKU exists and is active."""
    from kiosk.bundle_format.verify import CatalogCompat

    return CatalogCompat.from_skus(schema_version, TINY_LABELS)
