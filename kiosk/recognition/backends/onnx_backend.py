"""ONNX Runtime backend: the default on CPU tills."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.recognition.backends.base import InferenceBackend
from kiosk.recognition.backends.ort_session import MODEL_FILE, create_session


class Backend(InferenceBackend):
    key = "onnxruntime"
    precisions = ("fp32", "int8")

    def __init__(self, bundle, device: str = "cpu", threads: int | None = None, cache_dir: Path | None = None,
                 model_file: str = MODEL_FILE):
        super().__init__(bundle, device, threads, cache_dir)
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers.insert(0, "CUDAExecutionProvider")
        self.session = create_session(bundle, self.key, providers, threads, model_file=model_file)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        wanted = self.embedding_output()
        self.embedding_name = wanted if wanted in [o.name for o in self.session.get_outputs()] else None

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]

    def run_with_embedding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.embedding_name is None:
            return self.run(batch), None
        logits, embedding = self.session.run([self.output_name, self.embedding_name],
                                             {self.input_name: np.ascontiguousarray(batch, np.float32)})
        return logits, embedding

    def describe(self) -> str:
        return f"onnxruntime ({', '.join(self.session.get_providers())}){self.precision_note()}"
