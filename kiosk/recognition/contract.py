"""How the kiosk reads a model's contract (:mod:`kiosk.bundle_format.contract`): ONNX Runtime's view of its inputs
and outputs, plus one all-zero image run through it on the CPU, so a symbolic output size is checked too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.bundle_format.contract import ModelSignature, TensorInfo
from kiosk.errors import BundleError
from kiosk.recognition.backends.ort_session import import_onnxruntime, session_options

__all__ = ["inspect_onnx", "ort_dtype"]

_ORT_TYPES = {"float": "float32", "float16": "float16", "double": "float64", "bfloat16": "bfloat16"}


def ort_dtype(type_text: str) -> str:
    """``tensor(float)`` → ``float32``, ``tensor(int8)`` → ``int8`` (ONNX Runtime's type names)."""
    inner = type_text.removeprefix("tensor(").removesuffix(")")
    return _ORT_TYPES.get(inner, inner)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split())[:300] if text else type(exc).__name__


def _infos(args) -> tuple[TensorInfo, ...]:
    return tuple(TensorInfo(str(a.name), ort_dtype(str(a.type)),
                            tuple(d if isinstance(d, int) else (str(d) if d else None) for d in (a.shape or ())))
                 for a in args)


def _probe_fits(inputs: tuple[TensorInfo, ...], probe: tuple[int, ...]) -> bool:
    if len(inputs) != 1 or inputs[0].dtype != "float32" or len(inputs[0].shape) != len(probe):
        return False
    return all(not isinstance(d, int) or d == want for d, want in zip(inputs[0].shape, probe))


def inspect_onnx(path: Path, probe: tuple[int, ...]) -> ModelSignature:
    """The declared inputs/outputs of the ONNX model at ``path`` and what it gives for zeros of shape ``probe``
    (only run when the model has one float32 input). Raises BundleError when ONNX Runtime cannot load or run it."""
    ort = import_onnxruntime("onnxruntime")
    opts = session_options(ort, 1)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BundleError(f"{path}: ONNX Runtime cannot load the model ({_reason(exc)})") from None
    inputs, outputs = _infos(session.get_inputs()), _infos(session.get_outputs())
    if not _probe_fits(inputs, probe) or not outputs:  # the declared contract is broken already: say that
        return ModelSignature(inputs, outputs)
    try:
        results = [np.asarray(r) for r in session.run(None, {inputs[0].name: np.zeros(probe, np.float32)})]
    except Exception as exc:
        raise BundleError(f"{path}: the model fails on one image of shape {probe} ({_reason(exc)})") from None
    result = results[0]
    finite = all(bool(np.isfinite(r).all()) for r in results if np.issubdtype(r.dtype, np.floating))
    return ModelSignature(inputs, outputs, tuple(int(d) for d in result.shape), str(result.dtype), finite,
                          tuple(tuple(int(d) for d in r.shape) for r in results))
