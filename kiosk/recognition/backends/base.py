"""One interface for every inference backend, and the registry that picks one by name.

A backend only runs the network: NCHW float32 batch in, logits out. Preprocessing,
softmax, top-k and label mapping live once in :mod:`kiosk.recognition.recognizer`.
Adding a backend = adding one file that defines a subclass with a unique ``key``
and listing its module in ``BACKEND_MODULES``. Optional libraries (torch, TensorRT) are
imported when the backend is *selected*; a missing one raises one clear BackendUnavailable.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np

from kiosk.errors import BundleError, UserError

BACKEND_MODULES = {
    "onnxruntime": "kiosk.recognition.backends.onnx_backend",
    "torch": "kiosk.recognition.backends.torch_backend",
    "tensorrt": "kiosk.recognition.backends.tensorrt_backend",
}


class BackendUnavailable(UserError):
    """The selected backend's library is not installed or cannot run on this machine."""


class InferenceBackend(ABC):
    key: ClassVar[str]

    def __init__(self, bundle, device: str = "cpu", threads: int | None = None, cache_dir: Path | None = None):
        self.bundle = bundle
        self.device = device
        self.threads = threads
        #: where a backend may keep what it builds for a model (TensorRT engines); never inside the bundle,
        #: whose directory holds exactly the files its manifest lists. ``None``: the backend's default.
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None

    @abstractmethod
    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 3, H, W) → float32 logits (N, num_classes)."""

    def warmup(self, runs: int = 2) -> None:
        spec = self.bundle.manifest.preprocess
        x = np.zeros((1, 3, spec.crop_size, spec.crop_size), np.float32)
        for _ in range(runs):
            self.run(x)

    def close(self) -> None:  # pragma: no cover - trivial default
        """Free the runtime's session. An optional hook, not abstract: backends with nothing to free keep this."""
        return None

    def describe(self) -> str:
        return f"{self.key} ({self.device})"


def backend_class(name: str) -> type[InferenceBackend]:
    try:
        module_name = BACKEND_MODULES[name]
    except KeyError:
        raise UserError(f"unknown recognition backend {name!r}; choose one of {', '.join(BACKEND_MODULES)}") from None
    module = importlib.import_module(module_name)
    return module.Backend


def create_backend(name: str, bundle, device: str = "cpu", threads: int | None = None, warmup: bool = True,
                   **options) -> InferenceBackend:
    """Instantiate backend ``name`` for ``bundle``; raises BackendUnavailable / BundleError with a clear message.
    ``options`` go to the backend (``cache_dir`` for all; the tensorrt backend also takes ``fp16`` and ``fallback``)."""
    if name not in bundle.manifest.backends:
        have = bundle.manifest.backends
        raise BundleError(f"{bundle.root}: bundle does not provide backend {name!r} (it has {have})")
    backend = backend_class(name)(bundle, device=device, threads=threads, **options)
    if warmup:
        backend.warmup()
    return backend
