"""The openvino backend: the bundle's ONNX models (fp32 with the bf16 hint, or int8 as they are) through OpenVINO.

Where the ``openvino`` package is missing the tests that run it skip, saying so; selecting the backend then is
refused in one line (tested everywhere).
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from kiosk.bundle_format.bundle import load_bundle
from kiosk.recognition import precision
from kiosk.recognition.backends.base import BackendUnavailable, create_backend
from kiosk.recognition.recognizer import Recognizer
from tests.bundles.factory import build_tiny_bundle, tiny_images

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
needs_openvino = pytest.mark.skipif(not HAS_OPENVINO, reason="the openvino package is not installed "
                                    "(pip install 'edge-checkout-kiosk[openvino]' to test the openvino backend)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("ov") / "bundle")


def probabilities(bundle_dir, backend: str, precision: str = "fp32", **options) -> np.ndarray:
    bundle = load_bundle(bundle_dir)
    rec = Recognizer(bundle, create_backend(backend, bundle, threads=1, precision=precision, **options))
    try:
        return rec.probabilities(tiny_images(12, seed=21))
    finally:
        rec.close()


def test_without_openvino_selecting_it_is_refused_in_one_line(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino → ImportError
    with pytest.raises(BackendUnavailable) as info:
        Recognizer.load(tiny, backend="openvino")
    msg = str(info.value)
    assert "\n" not in msg and "backend 'openvino' needs the openvino package" in msg
    assert "pip install 'edge-checkout-kiosk[openvino]'" in msg


@needs_openvino
def test_openvino_fp32_matches_onnxruntime(tiny):
    ref = probabilities(tiny, "onnxruntime")
    np.testing.assert_allclose(probabilities(tiny, "openvino"), ref, atol=1e-5)  # fp32 is fp32 arithmetic
    bf16 = probabilities(tiny, "openvino", "bf16")  # bf16 where this CPU has it: scores move a little, never the answer
    np.testing.assert_allclose(bf16, ref, atol=0.03)
    assert (bf16.argmax(1) == ref.argmax(1)).mean() >= 11 / 12


@needs_openvino
def test_openvino_runs_the_int8_model_as_onnxruntime_does(int8_bundle):
    ref = probabilities(int8_bundle, "onnxruntime", "int8")
    got = probabilities(int8_bundle, "openvino", "int8")
    np.testing.assert_allclose(got, ref, atol=0.03)
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 11 / 12


@needs_openvino
def test_openvino_describes_its_hints_and_caches_compiled_models(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: frozenset({"avx512f", "avx512_vnni"}))
    rec = Recognizer.load(tiny, backend="openvino", cache_dir=tmp_path)
    text = rec.backend.describe()
    assert text.startswith("openvino ") and "(CPU, LATENCY, inference precision f32)" in text
    assert text.endswith("· fp32 (bundle has no int8 model)")
    assert rec.backend.run(np.zeros((3, 3, 32, 32), np.float32)).shape == (3, 5)  # batch > 1: image by image
    rec.close()
    assert any((tmp_path / "openvino").iterdir())  # compiled model cached for the next start
    fp32 = Recognizer.load(tiny, backend="openvino", precision="fp32")
    assert fp32.backend.describe().endswith("· fp32 (fp32 asked for)")
    fp32.close()


@needs_openvino
def test_auto_computes_the_fp32_model_in_bf16_where_the_cpu_does(tiny, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: frozenset({"avx512f", "avx512_bf16"}))
    import openvino as ov

    capable = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    rec = Recognizer.load(tiny, backend="openvino")
    assert rec.backend.describe().endswith("· bf16 (bundle has no int8 model; bf16: the CPU computes it)")
    assert rec.backend.inference_precision == ("bf16" if capable else "f32")  # OpenVINO's own word on this CPU
    rec.close()
