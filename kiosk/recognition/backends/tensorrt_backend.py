"""TensorRT backend (optional, NVIDIA GPUs): the bundle's ONNX model through ONNX Runtime's TensorRT execution
provider, which builds an engine on the kiosk itself the first time and keeps it in its engine cache.

Engine cache: ``ROOT/ort<ONNX Runtime version>-trt<TensorRT version>/<first 16 hex of model.onnx's sha256>/``, where
ROOT is ``$CHECKOUT_TRT_CACHE`` if set, else ``tensorrt/`` in the ``cache_dir`` the kiosk passes (its model state
directory), else ``~/.cache/checkout/tensorrt``. ONNX Runtime names each engine after the graph and the GPU's compute
capability, and the directory names the runtimes and the model, so a new GPU, an upgrade or a new model each get
their own engine: one built elsewhere is never loaded. Never inside the bundle (it holds only its listed files).

Only TensorRT runs the model unless the user asks for fallbacks (``fallback=True`` or ``CHECKOUT_TRT_FALLBACK=1``):
then CUDA, then the CPU, take what TensorRT cannot. Engines are fp16 (``fp16=False`` or ``CHECKOUT_TRT_FP16=0``: fp32).
Batches of up to :data:`MAX_BATCH` images share one optimisation profile; larger ones run in chunks.

Where ONNX Runtime has no TensorrtExecutionProvider (the CPU ``onnxruntime`` package, no NVIDIA driver or TensorRT
libraries), selecting the backend raises one BackendUnavailable line that says what is missing.
"""

from __future__ import annotations

import logging
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from kiosk.errors import BundleError
from kiosk.recognition.backends.base import BackendUnavailable, InferenceBackend
from kiosk.recognition.backends.ort_session import MODEL_FILE, create_session, import_onnxruntime

log = logging.getLogger(__name__)
PROVIDER = "TensorrtExecutionProvider"
MAX_BATCH = 8
INPUT = "input"  # the bundle format's input tensor (N, 3, crop, crop)
INSTALL_HINT = ("pip install 'edge-checkout-kiosk[tensorrt]' (onnxruntime-gpu with TensorRT 10) on a machine with an "
                "NVIDIA GPU and driver")
FALLBACK_HINT = "or set CHECKOUT_TRT_FALLBACK=1 so that CUDA, then the CPU, run what TensorRT cannot"


def _flag(value: bool | None, env: str, default: bool) -> bool:
    if value is not None:
        return bool(value)
    return os.environ.get(env, "1" if default else "0").strip().lower() not in ("0", "false", "no", "off", "")


def tensorrt_version() -> str:
    """The TensorRT Python distribution's version (what ONNX Runtime's provider loads), or ``system``."""
    for dist in ("tensorrt", "tensorrt-cu12", "tensorrt-cu12-libs", "tensorrt-libs"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "system"


def engine_cache_dir(cache_dir: Path | None, ort_version: str, trt_version: str, onnx_sha256: str) -> Path:
    root = os.environ.get("CHECKOUT_TRT_CACHE")
    if root:
        base = Path(root)
    elif cache_dir is not None:
        base = Path(cache_dir) / "tensorrt"
    else:
        base = Path.home() / ".cache" / "checkout" / "tensorrt"
    return base / f"ort{ort_version}-trt{trt_version}" / onnx_sha256[:16]


def providers(engine_dir: Path, crop: int, fp16: bool, fallback: bool, device_id: int = 0) -> list:
    """The provider list: TensorRT with its engine cache and one batch profile, then CUDA and CPU if ``fallback``."""
    def shape(n: int) -> str:
        return f"{INPUT}:{n}x3x{crop}x{crop}"

    trt = {"device_id": device_id, "trt_fp16_enable": fp16, "trt_engine_cache_enable": True,
           "trt_engine_cache_path": str(engine_dir), "trt_timing_cache_enable": True,
           "trt_timing_cache_path": str(engine_dir), "trt_profile_min_shapes": shape(1),
           "trt_profile_opt_shapes": shape(1), "trt_profile_max_shapes": shape(MAX_BATCH)}
    out: list = [(PROVIDER, trt)]
    if fallback:
        out += [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    return out


class Backend(InferenceBackend):
    key = "tensorrt"

    def __init__(self, bundle, device: str = "cuda", threads: int | None = None, cache_dir: Path | None = None,
                 fp16: bool | None = None, fallback: bool | None = None):
        super().__init__(bundle, device, threads, cache_dir)
        ort = import_onnxruntime(self.key)
        available = ort.get_available_providers()
        if PROVIDER not in available:
            raise BackendUnavailable(f"backend 'tensorrt' needs ONNX Runtime's {PROVIDER}, which onnxruntime "
                                     f"{ort.__version__} here lacks (it has {', '.join(available)}); {INSTALL_HINT}")
        self.fp16 = _flag(fp16, "CHECKOUT_TRT_FP16", True)
        self.fallback = _flag(fallback, "CHECKOUT_TRT_FALLBACK", False)
        self.ort_version = ort.__version__
        self.engine_dir = engine_cache_dir(self.cache_dir, ort.__version__, tensorrt_version(),
                                           bundle.manifest.files[MODEL_FILE]["sha256"])
        self.engine_dir.mkdir(parents=True, exist_ok=True)
        device_id = int(device.split(":")[1]) if device.startswith("cuda:") else 0
        chosen = providers(self.engine_dir, bundle.manifest.preprocess.crop_size, self.fp16, self.fallback, device_id)
        try:
            self.session = create_session(bundle, self.key, chosen, threads, fallback=self.fallback)
        except BundleError as exc:  # the model loads on the CPU (its self-test ran there): TensorRT cannot run it
            raise BackendUnavailable(f"backend 'tensorrt' cannot run here: {exc}; {INSTALL_HINT}, "
                                     f"{FALLBACK_HINT}") from None
        active = self.session.get_providers()
        if active[0] != PROVIDER:
            if not self.fallback:
                raise BackendUnavailable(f"backend 'tensorrt': ONNX Runtime started {active[0]} instead of {PROVIDER}; "
                                         f"{INSTALL_HINT}, {FALLBACK_HINT}")
            log.warning("tensorrt backend: %s did not start; running on %s (fallback asked)", PROVIDER, active[0])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        wanted = self.embedding_output()
        self.embedding_name = wanted if wanted in [o.name for o in self.session.get_outputs()] else None

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        outputs = [self.session.run([self.output_name], {self.input_name: batch[i : i + MAX_BATCH]})[0]
                   for i in range(0, len(batch), MAX_BATCH)]
        return np.concatenate(outputs)

    def run_with_embedding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.embedding_name is None:
            return self.run(batch), None
        batch = np.ascontiguousarray(batch, np.float32)
        parts = [self.session.run([self.output_name, self.embedding_name], {self.input_name: batch[i : i + MAX_BATCH]})
                 for i in range(0, len(batch), MAX_BATCH)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def describe(self) -> str:
        return (f"tensorrt via onnxruntime {self.ort_version} ({'fp16' if self.fp16 else 'fp32'}, "
                f"{', '.join(self.session.get_providers())}; engines in {self.engine_dir})")
