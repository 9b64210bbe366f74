"""TensorRT backend (optional, NVIDIA GPUs): an fp16 engine built from the bundle's ONNX on the kiosk itself.

The engine is built once, at activation (the first time this backend is created for a bundle) and cached in
``$CHECKOUT_TRT_CACHE`` (default ``~/.cache/checkout/tensorrt``) under a name made of the GPU model, the TensorRT
version and the ONNX file's sha256: a new GPU, a TensorRT upgrade or a new model each get their own engine, and
an engine file that does not deserialize is rebuilt. Device memory and streams use the CUDA driver API through
ctypes (``libcuda.so.1``), so no extra Python package besides ``tensorrt`` is needed.

``import tensorrt`` happens only when the backend is selected; without it (or without an NVIDIA driver)
selection raises one :class:`BackendUnavailable` line that says what to install.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from pathlib import Path

import numpy as np

from kiosk.bundle_format.atomic import atomic_write
from kiosk.errors import BundleError
from kiosk.recognition.backends.base import BackendUnavailable, InferenceBackend

MODEL_FILE = "model.onnx"
MAX_BATCH = 8
INSTALL_HINT = "pip install 'edge-checkout-kiosk[tensorrt]' on a machine with an NVIDIA GPU and driver"


def cache_dir() -> Path:
    return Path(os.environ.get("CHECKOUT_TRT_CACHE", Path.home() / ".cache" / "checkout" / "tensorrt"))


def engine_cache_name(gpu_name: str, trt_version: str, onnx_sha256: str, max_batch: int = MAX_BATCH) -> str:
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", gpu_name).strip("-").lower() or "gpu"
    return f"{gpu}-trt{trt_version}-{onnx_sha256[:16]}-fp16-b{max_batch}.engine"


class _CudaDriver:
    """The few CUDA driver calls the backend needs, via ctypes."""

    def __init__(self, ordinal: int = 0):
        try:
            self.lib = ctypes.CDLL("libcuda.so.1")
        except OSError as exc:
            raise BackendUnavailable(f"backend 'tensorrt' needs an NVIDIA GPU driver (libcuda.so.1: {exc})") from None
        self._check(self.lib.cuInit(0), "cuInit")
        self.device = ctypes.c_int()
        self._check(self.lib.cuDeviceGet(ctypes.byref(self.device), ordinal), f"cuDeviceGet({ordinal})")
        name = ctypes.create_string_buffer(256)
        self._check(self.lib.cuDeviceGetName(name, 256, self.device), "cuDeviceGetName")
        self.name = name.value.decode(errors="replace")
        self.ctx = ctypes.c_void_p()
        self._check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.ctx), self.device), "cuDevicePrimaryCtxRetain")
        self.make_current()
        self.stream = ctypes.c_void_p()
        self._check(self.lib.cuStreamCreate(ctypes.byref(self.stream), 0), "cuStreamCreate")

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise BackendUnavailable(f"backend 'tensorrt': CUDA driver call {what} failed (error {rc})")

    def make_current(self) -> None:
        self._check(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    def alloc(self, nbytes: int) -> int:
        ptr = ctypes.c_uint64()
        self._check(self.lib.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cuMemAlloc")
        return ptr.value

    def free(self, ptr: int) -> None:
        self.lib.cuMemFree_v2(ctypes.c_uint64(ptr))

    def to_device(self, ptr: int, array: np.ndarray) -> None:
        self._check(self.lib.cuMemcpyHtoD_v2(ctypes.c_uint64(ptr), array.ctypes.data_as(ctypes.c_void_p),
                                             ctypes.c_size_t(array.nbytes)), "cuMemcpyHtoD")

    def to_host(self, array: np.ndarray, ptr: int) -> None:
        self._check(self.lib.cuMemcpyDtoH_v2(array.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint64(ptr),
                                             ctypes.c_size_t(array.nbytes)), "cuMemcpyDtoH")

    def synchronize(self) -> None:
        self._check(self.lib.cuStreamSynchronize(self.stream), "cuStreamSynchronize")

    def close(self) -> None:
        self.lib.cuStreamDestroy_v2(self.stream)
        self.lib.cuDevicePrimaryCtxRelease_v2(self.device)


class Backend(InferenceBackend):
    key = "tensorrt"

    def __init__(self, bundle, device: str = "cuda", threads: int | None = None):
        super().__init__(bundle, device, threads)
        try:
            import tensorrt as trt
        except ImportError as exc:
            raise BackendUnavailable(f"backend 'tensorrt' needs the tensorrt package ({exc}); {INSTALL_HINT}") from None
        self.trt = trt
        ordinal = int(device.split(":")[1]) if device.startswith("cuda:") else 0
        self.cuda = _CudaDriver(ordinal)
        self.logger = trt.Logger(trt.Logger.WARNING)
        onnx_path = bundle.path(MODEL_FILE)
        onnx_sha = bundle.manifest.files[MODEL_FILE]["sha256"]
        self.engine_path = cache_dir() / engine_cache_name(self.cuda.name, trt.__version__, onnx_sha)
        self.engine = self._load_cached() or self._build(onnx_path)
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        spec = bundle.manifest.preprocess
        self.input_shape = (3, spec.crop_size, spec.crop_size)
        self.num_classes = bundle.manifest.num_classes
        self._in = self.cuda.alloc(MAX_BATCH * int(np.prod(self.input_shape)) * 4)
        self._out = self.cuda.alloc(MAX_BATCH * self.num_classes * 4)
        self._lock = threading.Lock()

    def _load_cached(self):
        if not self.engine_path.is_file():
            return None
        runtime = self.trt.Runtime(self.logger)
        engine = runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        return engine  # None when the file is stale or damaged: rebuilt below

    def _build(self, onnx_path: Path):
        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BundleError(f"{onnx_path}: TensorRT cannot parse the model ({errors})")
        config = builder.create_builder_config()
        if builder.platform_has_fast_fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        spec = self.bundle.manifest.preprocess
        shape = (3, spec.crop_size, spec.crop_size)
        profile = builder.create_optimization_profile()
        profile.set_shape(network.get_input(0).name, (1, *shape), (1, *shape), (MAX_BATCH, *shape))
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise BundleError(f"{onnx_path}: TensorRT could not build an engine (see the log above)")
        data = bytes(serialized)
        self.engine_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.engine_path, data)
        engine = trt.Runtime(self.logger).deserialize_cuda_engine(data)
        if engine is None:
            raise BundleError(f"{onnx_path}: freshly built TensorRT engine does not deserialize")
        return engine

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        outputs = []
        with self._lock:
            self.cuda.make_current()
            for start in range(0, len(batch), MAX_BATCH):
                chunk = batch[start : start + MAX_BATCH]
                out = np.empty((len(chunk), self.num_classes), np.float32)
                self.cuda.to_device(self._in, chunk)
                self.context.set_input_shape(self.input_name, chunk.shape)
                self.context.set_tensor_address(self.input_name, self._in)
                self.context.set_tensor_address(self.output_name, self._out)
                if not self.context.execute_async_v3(self.cuda.stream.value or 0):
                    raise RuntimeError("TensorRT execution failed")
                self.cuda.synchronize()
                self.cuda.to_host(out, self._out)
                outputs.append(out)
        return np.concatenate(outputs)

    def close(self) -> None:
        self.cuda.free(self._in)
        self.cuda.free(self._out)
        self.cuda.close()

    def describe(self) -> str:
        return f"tensorrt {self.trt.__version__} fp16 ({self.cuda.name}, engine {self.engine_path.name})"
