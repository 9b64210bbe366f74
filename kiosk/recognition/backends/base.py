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
from kiosk.recognition.precision import FP32_MODEL, ModelChoice, choose_model

BACKEND_MODULES = {
    "onnxruntime": "kiosk.recognition.backends.onnx_backend",
    "torch": "kiosk.recognition.backends.torch_backend",
    "tensorrt": "kiosk.recognition.backends.tensorrt_backend",
    "openvino": "kiosk.recognition.backends.openvino_backend",
}


class BackendUnavailable(UserError):
    """The selected backend's library is not installed or cannot run on this machine."""


class InferenceBackend(ABC):
    key: ClassVar[str]
    #: model precisions the backend runs (kiosk.recognition.precision); an int8-capable one takes ``model_file``
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    #: runs the files another backend's name stands for in a manifest's ``backends`` (openvino: "onnxruntime")
    same_model_as: ClassVar[str | None] = None
    #: which of the bundle's models runs, and why (set by :func:`create_backend`)
    model_choice: ModelChoice | None = None

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

    def run_with_embedding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits and, from the same forward pass, the embedding ``(N, dim)`` of a bundle that exports one
        (:mod:`kiosk.bundle_format.openset`); ``None`` where the bundle or the backend has none."""
        return self.run(batch), None

    def embedding_output(self) -> str | None:
        """The name of the bundle's embedding output (``None``: the bundle has none)."""
        from kiosk.bundle_format.openset import embedding_info

        info = embedding_info(self.bundle.manifest)
        return info.output if info is not None else None

    def warmup(self, runs: int = 2) -> None:
        spec = self.bundle.manifest.preprocess
        x = np.zeros((1, 3, spec.crop_size, spec.crop_size), np.float32)
        for _ in range(runs):
            self.run(x)

    def close(self) -> None:  # pragma: no cover - trivial default
        """Free the runtime's session. An optional hook, not abstract: backends with nothing to free keep this."""
        return None

    def describe(self) -> str:
        return f"{self.key} ({self.device}){self.precision_note()}"

    def precision_note(self) -> str:
        """`` · int8 (CPU has VNNI)``: which model runs, for the model description (empty before create_backend)."""
        return f" · {self.model_choice}" if self.model_choice is not None else ""


def backend_class(name: str) -> type[InferenceBackend]:
    try:
        module_name = BACKEND_MODULES[name]
    except KeyError:
        raise UserError(f"unknown recognition backend {name!r}; choose one of {', '.join(BACKEND_MODULES)}") from None
    module = importlib.import_module(module_name)
    return module.Backend


def create_backend(name: str, bundle, device: str = "cpu", threads: int | None = None, warmup: bool = True,
                   precision: str = "auto", **options) -> InferenceBackend:
    """Instantiate backend ``name`` for ``bundle``; raises BackendUnavailable / BundleError with a clear message.
    ``precision``: auto | fp32 | bf16 | int8: which of the bundle's models runs, and how (kiosk.recognition.precision).
    ``options`` go to the backend (``cache_dir`` for all; the tensorrt backend also takes ``fp16`` and ``fallback``)."""
    cls = backend_class(name)
    have = bundle.manifest.backends
    if name not in have and (cls.same_model_as is None or cls.same_model_as not in have):
        raise BundleError(f"{bundle.root}: bundle does not provide backend {name!r} (it has {have})")
    choice = choose_model(bundle, precision, name, cls.precisions, device)
    if choice.file != FP32_MODEL:
        options["model_file"] = choice.file
    if choice.precision == "bf16":
        options["bf16"] = True
    backend = cls(bundle, device=device, threads=threads, **options)
    backend.model_choice = choice
    if warmup:
        backend.warmup()
    return backend
