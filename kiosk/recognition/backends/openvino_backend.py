"""OpenVINO backend: Intel's CPU runtime on the bundle's ONNX model, so a CPU-only till can run a large network.

It reads the same ``model.onnx`` as the onnxruntime backend (a bundle that provides "onnxruntime" runs here too),
or the bundle's int8 model (``precision``, :mod:`kiosk.recognition.precision`), which OpenVINO runs as it is: its
QuantizeLinear/DequantizeLinear pairs become int8 kernels. Compiled with the LATENCY performance hint for batch 1
(the kiosk recognises one frame at a time; a larger batch runs image by image). The fp32 model runs in fp32
arithmetic (an explicit f32 hint: OpenVINO would pick bf16 by itself on such CPUs) or, with ``bf16=True`` (precision
``bf16``, which ``auto`` picks on a CPU that computes it: ``BF16`` among OpenVINO's CPU capabilities, AVX-512 BF16 or
AMX), the bf16 inference-precision hint: measured here ResNet152 ≈ 2× faster than fp32, top-1 unchanged on the
validation photos (README, Benchmarks). Compiled models are cached in ``cache_dir`` when one is given (the kiosk's
model state). :func:`~kiosk.recognition.backends.base.create_backend` warms it up at load.

``openvino`` is an optional extra (``pip install 'edge-checkout-kiosk[openvino]'``): without it, selecting this
backend raises one BackendUnavailable line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.errors import BundleError
from kiosk.recognition.backends.base import BackendUnavailable, InferenceBackend

MODEL_FILE = "model.onnx"


def import_openvino():
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailable(f"backend 'openvino' needs the openvino package ({exc}); "
                                 "pip install 'edge-checkout-kiosk[openvino]'") from None
    return openvino


class Backend(InferenceBackend):
    key = "openvino"
    precisions = ("fp32", "bf16", "int8")
    same_model_as = "onnxruntime"

    def __init__(self, bundle, device: str = "cpu", threads: int | None = None, cache_dir: Path | None = None,
                 model_file: str = MODEL_FILE, bf16: bool = False):
        super().__init__(bundle, device, threads, cache_dir)
        ov = import_openvino()
        self.version = ov.get_version().split("-")[0]
        self.ov_device = device.split(":")[0].upper()
        core = ov.Core()
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            core.set_property({"CACHE_DIR": str(self.cache_dir / "openvino")})
        path = bundle.path(model_file)
        size = bundle.manifest.preprocess.crop_size
        self.hints = self._hints(ov, core, bf16, model_file == MODEL_FILE, threads)
        try:
            model = core.read_model(str(path))
            model.reshape({model.inputs[0].any_name: [1, 3, size, size]})
            self.compiled = core.compile_model(model, self.ov_device, self.hints)
        except Exception as exc:  # openvino raises RuntimeError for everything
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BundleError(f"{path}: OpenVINO cannot load the model on {self.ov_device} ({reason})") from None
        self.request = self.compiled.create_infer_request()

    def _hints(self, ov, core, bf16: bool, fp32_model: bool, threads: int | None) -> dict:
        """LATENCY; for an fp32 model bf16 when asked for and the CPU computes it, else an explicit f32 (OpenVINO may
        pick bf16 by itself on such CPUs); an int8 model gets no precision hint: it runs as it is."""
        import openvino.properties as props
        import openvino.properties.hint as hint

        config = {hint.performance_mode: hint.PerformanceMode.LATENCY}
        if self.ov_device == "CPU":
            capable = "BF16" in core.get_property("CPU", props.device.capabilities)
            if fp32_model:
                config[hint.inference_precision] = ov.Type.bf16 if bf16 and capable else ov.Type.f32
            if threads:
                config[props.inference_num_threads] = threads
        return config

    @property
    def inference_precision(self) -> str:
        import openvino.properties.hint as hint

        if self.ov_device != "CPU":
            return "default"
        return self.compiled.get_property(hint.inference_precision).get_type_name()

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        if batch.shape[0] != 1:  # compiled for batch 1 (the till's latency); a larger batch goes image by image
            return np.concatenate([self.run(batch[i : i + 1]) for i in range(batch.shape[0])])
        self.request.infer({0: batch})
        return self.request.get_output_tensor(0).data.copy()

    def run_with_embedding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.embedding_output() is None or len(self.compiled.outputs) < 2:
            return self.run(batch), None
        batch = np.ascontiguousarray(batch, np.float32)
        if batch.shape[0] != 1:
            parts = [self.run_with_embedding(batch[i : i + 1]) for i in range(batch.shape[0])]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        self.request.infer({0: batch})
        return self.request.get_output_tensor(0).data.copy(), self.request.get_output_tensor(1).data.copy()

    def describe(self) -> str:
        return (f"openvino {self.version} ({self.ov_device}, LATENCY, inference precision "
                f"{self.inference_precision}){self.precision_note()}")

    def close(self) -> None:
        self.request = self.compiled = None
