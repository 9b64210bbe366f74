"""ONNX Runtime backend: the default on CPU tills."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.recognition.backends.base import InferenceBackend
from kiosk.recognition.backends.ort_session import create_session


class Backend(InferenceBackend):
    key = "onnxruntime"

    def __init__(self, bundle, device: str = "cpu", threads: int | None = None, cache_dir: Path | None = None):
        super().__init__(bundle, device, threads, cache_dir)
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers.insert(0, "CUDAExecutionProvider")
        self.session = create_session(bundle, self.key, providers, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]

    def describe(self) -> str:
        return f"onnxruntime ({', '.join(self.session.get_providers())})"
