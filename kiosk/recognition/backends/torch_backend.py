"""PyTorch backend: safetensors weights + the architecture name, built from :mod:`kiosk.bundle_format.architectures`.

For GPU tills (ResNet152 on CUDA, fp16) and as the reference the ONNX export is checked against.
Nothing is unpickled: weights come from ``model.safetensors``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.errors import BundleError
from kiosk.recognition.backends.base import BackendUnavailable, InferenceBackend

WEIGHTS_FILE = "model.safetensors"


class Backend(InferenceBackend):
    key = "torch"

    def __init__(self, bundle, device: str = "cpu", threads: int | None = None, cache_dir: Path | None = None):
        super().__init__(bundle, device, threads, cache_dir)
        try:
            import torch
            from safetensors.torch import load_file

            from kiosk.bundle_format.architectures import WithEmbedding, build_network, head_of
        except ImportError as exc:
            raise BackendUnavailable(f"backend 'torch' needs torch, torchvision and safetensors ({exc}); "
                                     "pip install 'edge-checkout-kiosk[torch-backend]'") from None
        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        m = bundle.manifest
        path = bundle.path(WEIGHTS_FILE)
        try:
            state = load_file(str(path))
            model = build_network(m.architecture, m.num_classes, head=head_of(state))
            model.load_state_dict(state, strict=True)
        except Exception as exc:
            raise BundleError(f"{path}: weights do not fit architecture {m.architecture!r} ({exc})") from None
        self.dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self.model = model.eval().to(device=device, dtype=self.dtype, memory_format=torch.channels_last)
        self.with_embedding = WithEmbedding(self.model).eval() if self.embedding_output() is not None else None

    def _input(self, batch: np.ndarray):
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device, self.dtype)
        return x.contiguous(memory_format=torch.channels_last)

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self._input(batch)).float().cpu().numpy()

    def run_with_embedding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.with_embedding is None:
            return self.run(batch), None
        with self.torch.inference_mode():
            logits, embedding = self.with_embedding(self._input(batch))
        return logits.float().cpu().numpy(), embedding.float().cpu().numpy()
