"""The tensorrt backend: ONNX Runtime's TensorRT execution provider with its engine cache.

On a machine without the provider (this CPU one) selecting it is refused with one line; where onnxruntime-gpu has
TensorrtExecutionProvider and a GPU, the ``gpu`` test runs it for real and checks the engine cache is reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kiosk.bundle_format.bundle import load_bundle
from kiosk.recognition.backends import tensorrt_backend as trt
from kiosk.recognition.backends.base import BackendUnavailable, create_backend
from tests.bundles.factory import tiny_images

ort = pytest.importorskip("onnxruntime")
HAS_TRT = trt.PROVIDER in ort.get_available_providers()


@pytest.fixture
def bundle(bundles_dir):
    return load_bundle(bundles_dir / "v1")


@pytest.fixture
def pretend_provider(monkeypatch):
    """ONNX Runtime says it has TensorrtExecutionProvider; creating a session then finds it does not start."""
    real = ort.get_available_providers
    monkeypatch.setattr(ort, "get_available_providers", lambda: [*real(), trt.PROVIDER])


@pytest.mark.skipif(HAS_TRT, reason="this onnxruntime has TensorrtExecutionProvider: the gpu test covers it")
def test_without_the_provider_selecting_it_is_refused_in_one_line(bundles_dir, tmp_path):
    from kiosk.recognition.recognizer import Recognizer

    with pytest.raises(BackendUnavailable) as info:
        Recognizer.load(bundles_dir / "v1", backend="tensorrt", cache_dir=tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and "needs ONNX Runtime's TensorrtExecutionProvider" in msg
    assert "onnxruntime-gpu" in msg and "pip install 'edge-checkout-kiosk[tensorrt]'" in msg
    assert list(tmp_path.iterdir()) == []  # nothing built or cached


def test_tensorrt_alone_unless_fallbacks_are_asked_for(tmp_path):
    alone = trt.providers(tmp_path, 224, fp16=True, fallback=False)
    assert [p[0] if isinstance(p, tuple) else p for p in alone] == [trt.PROVIDER]
    opts = alone[0][1]
    assert opts["trt_engine_cache_enable"] is True and opts["trt_engine_cache_path"] == str(tmp_path)
    assert opts["trt_fp16_enable"] is True and opts["device_id"] == 0
    assert (opts["trt_profile_min_shapes"], opts["trt_profile_max_shapes"]) == ("input:1x3x224x224",
                                                                                 f"input:{trt.MAX_BATCH}x3x224x224")
    with_fallback = trt.providers(tmp_path, 32, fp16=False, fallback=True, device_id=1)
    assert [p[0] if isinstance(p, tuple) else p for p in with_fallback] == [
        trt.PROVIDER, "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert with_fallback[0][1]["trt_fp16_enable"] is False and with_fallback[1][1] == {"device_id": 1}


def test_engines_are_cached_per_runtime_versions_and_model(tmp_path, monkeypatch):
    monkeypatch.delenv("CHECKOUT_TRT_CACHE", raising=False)
    base = trt.engine_cache_dir(tmp_path, "1.22.0", "10.9.0", "ab" * 32)
    assert base == tmp_path / "tensorrt" / "ort1.22.0-trt10.9.0" / "abababababababab"
    others = {trt.engine_cache_dir(tmp_path, "1.23.0", "10.9.0", "ab" * 32),
              trt.engine_cache_dir(tmp_path, "1.22.0", "10.10.0", "ab" * 32),
              trt.engine_cache_dir(tmp_path, "1.22.0", "10.9.0", "cd" * 32)}
    assert len(others | {base}) == 4
    assert trt.engine_cache_dir(None, "1", "2", "ef" * 32).is_relative_to(Path.home() / ".cache" / "checkout")
    monkeypatch.setenv("CHECKOUT_TRT_CACHE", str(tmp_path / "ops"))
    assert trt.engine_cache_dir(tmp_path, "1", "2", "ef" * 32).parent.parent == tmp_path / "ops"


def test_a_provider_that_does_not_start_is_refused_not_silently_replaced(bundle, tmp_path, pretend_provider):
    with pytest.raises(BackendUnavailable) as info:
        create_backend("tensorrt", bundle, device="cuda", cache_dir=tmp_path, warmup=False)
    msg = str(info.value)
    assert "\n" not in msg and "cannot run here" in msg and "CHECKOUT_TRT_FALLBACK=1" in msg


def test_asked_for_fallbacks_run_the_model_elsewhere_in_chunks(bundle, tmp_path, pretend_provider, caplog):
    backend = create_backend("tensorrt", bundle, device="cuda", cache_dir=tmp_path, fallback=True, warmup=False)
    reference = create_backend("onnxruntime", bundle, warmup=False)
    x = np.random.default_rng(0).standard_normal((trt.MAX_BATCH + 3, 3, 32, 32)).astype(np.float32)
    assert np.allclose(backend.run(x), reference.run(x), atol=1e-5)
    assert "did not start" in caplog.text and "CPUExecutionProvider" in backend.describe()


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TRT, reason=f"needs onnxruntime-gpu with {trt.PROVIDER} and an NVIDIA GPU; this "
                                        f"onnxruntime has {', '.join(ort.get_available_providers())}")
def test_tensorrt_runs_the_bundle_and_reuses_its_cached_engine(bundle, tmp_path, monkeypatch):
    from kiosk.bundle_format.preprocess import preprocess_batch

    monkeypatch.delenv("CHECKOUT_TRT_CACHE", raising=False)
    x = preprocess_batch(tiny_images(trt.MAX_BATCH + 2, seed=1), bundle.manifest.preprocess)
    expected = create_backend("onnxruntime", bundle, warmup=False).run(x)
    first = create_backend("tensorrt", bundle, device="cuda", cache_dir=tmp_path)
    assert first.session.get_providers()[0] == trt.PROVIDER
    assert np.allclose(first.run(x), expected, atol=2e-2, rtol=2e-2)  # fp16 engine
    engines = {p: p.stat().st_mtime_ns for p in first.engine_dir.glob("*.engine")}
    assert engines and first.engine_dir.is_relative_to(tmp_path / "tensorrt")
    second = create_backend("tensorrt", bundle, device="cuda", cache_dir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in second.engine_dir.glob("*.engine")} == engines  # loaded, not rebuilt
    assert np.allclose(second.run(x), first.run(x), atol=1e-3)
