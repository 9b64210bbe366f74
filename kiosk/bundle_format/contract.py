"""The model contract: what every network a bundle ships must look like for the manifest beside it.

A bundle's ONNX models (``model.onnx``, and any other ``*.onnx`` the manifest lists, e.g. an int8 variant) take
ONE input named ``input``: float32, NCHW, ``(batch, 3, crop_size, crop_size)`` from the manifest's preprocessing
(the batch dimension may be dynamic), and give ONE output named ``logits``: float32, ``(batch, number of
labels)``. A bundle whose manifest declares an embedding (:mod:`kiosk.bundle_format.openset`) has a second output,
named as the manifest says (``embedding``): float32, ``(batch, dim)``. A model that breaks this would crash the till
at the first frame (an ``IndexError`` in the top-k) or silently mislabel items; :func:`check_model_contract` refuses
it before it is installed.

The format does not load models itself: the caller passes a :data:`ModelInspector` (on the kiosk
``kiosk.recognition.contract.inspect_onnx``, which asks ONNX Runtime for the declared inputs and outputs and runs
one all-zero image through the model, so symbolic dimensions are checked too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.bundle_format.bundle import Bundle, BundleManifest
from kiosk.bundle_format.openset import embedding_info
from kiosk.errors import BundleError

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "ModelInspector", "ModelSignature", "TensorInfo", "check_model_contract",
           "contract_problems", "model_files", "probe_shape"]

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
DTYPE = "float32"

Dim = int | str | None  # an int: fixed; a str (symbolic name) or None: dynamic


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # numpy's name for the element type: float32, float16, int8 …
    shape: tuple[Dim, ...]


@dataclass(frozen=True)
class ModelSignature:
    """What a model declares, and what it gave for one all-zero image of :func:`probe_shape` (``None``: not run)."""

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    probe_shape: tuple[int, ...] | None = None
    probe_dtype: str | None = None
    probe_finite: bool = True
    #: the shapes of every output for that image, in order (``None``: not recorded)
    probe_outputs: tuple[tuple[int, ...], ...] | None = None


#: ``(path of one model file, probe input shape) -> ModelSignature``; raises BundleError when it cannot load it
ModelInspector = Callable[[Path, tuple[int, ...]], ModelSignature]


def model_files(manifest: BundleManifest) -> list[str]:
    """Every ONNX model the manifest lists (``model.onnx`` and any variant, e.g. an int8 one), sorted."""
    return sorted(name for name in manifest.files if name.lower().endswith(".onnx"))


def probe_shape(manifest: BundleManifest) -> tuple[int, ...]:
    size = manifest.preprocess.crop_size
    return (1, 3, size, size)


def _fixed(dim: Dim) -> bool:
    return isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0


def _shape_text(shape: tuple[Dim, ...]) -> str:
    return "(" + ", ".join(str(d) if d is not None else "?" for d in shape) + ")"


def _input_problems(sig: ModelSignature, manifest: BundleManifest) -> list[str]:
    if len(sig.inputs) != 1:
        return [f"has {len(sig.inputs)} inputs ({', '.join(t.name for t in sig.inputs)}); the format has one, "
                f"{INPUT_NAME!r}"]
    (x,) = sig.inputs
    want = probe_shape(manifest)[1:]
    problems = []
    if x.name != INPUT_NAME:
        problems.append(f"input is named {x.name!r}, not {INPUT_NAME!r}")
    if x.dtype != DTYPE:
        problems.append(f"input {x.name!r} is {x.dtype}, not {DTYPE}")
    if len(x.shape) != 4 or any(_fixed(d) and d != w for d, w in zip(x.shape[1:], want)) or (
            _fixed(x.shape[0]) and x.shape[0] != 1):
        problems.append(f"input {x.name!r} has shape {_shape_text(x.shape)}; the manifest's preprocessing gives "
                        f"(batch, {', '.join(map(str, want))})")
    return problems


def _embedding_problems(sig: ModelSignature, manifest: BundleManifest) -> list[str]:
    """The second output a manifest with an ``embedding`` section declares: its name, float32, (batch, dim)."""
    info = embedding_info(manifest)
    if info is None:
        return []
    e = sig.outputs[1]
    problems = []
    if e.name != info.output:
        problems.append(f"second output is named {e.name!r}, not {info.output!r} as the manifest's embedding says")
    if e.dtype != DTYPE:
        problems.append(f"output {e.name!r} is {e.dtype}, not {DTYPE}")
    if len(e.shape) != 2 or (_fixed(e.shape[1]) and e.shape[1] != info.dim):
        problems.append(f"output {e.name!r} has shape {_shape_text(e.shape)}; the manifest's embedding has "
                        f"(batch, {info.dim})")
    if not problems and sig.probe_outputs is not None and len(sig.probe_outputs) > 1 and \
            tuple(sig.probe_outputs[1]) != (1, info.dim):
        problems.append(f"one image gave an embedding of shape {tuple(sig.probe_outputs[1])}, not (1, {info.dim})")
    return problems


def _output_problems(sig: ModelSignature, manifest: BundleManifest) -> list[str]:
    n = len(manifest.labels)
    info = embedding_info(manifest)
    want = 1 if info is None else 2
    if len(sig.outputs) != want:
        names = f"{OUTPUT_NAME!r}" + (f" and {info.output!r}" if info is not None else "")
        return [f"has {len(sig.outputs)} outputs ({', '.join(t.name for t in sig.outputs)}); the manifest says "
                f"{want}, {names}"]
    y = sig.outputs[0]
    problems = []
    if y.name != OUTPUT_NAME:
        problems.append(f"output is named {y.name!r}, not {OUTPUT_NAME!r}")
    if y.dtype != DTYPE:
        problems.append(f"output {y.name!r} is {y.dtype}, not {DTYPE}")
    if len(y.shape) != 2 or (_fixed(y.shape[1]) and y.shape[1] != n):
        problems.append(f"output {y.name!r} has shape {_shape_text(y.shape)}; the manifest has {n} labels, so "
                        f"(batch, {n})")
    return problems + _embedding_problems(sig, manifest)


def contract_problems(sig: ModelSignature, manifest: BundleManifest) -> list[str]:
    """Every way ``sig`` breaks the contract for ``manifest`` (empty: it keeps it)."""
    problems = _input_problems(sig, manifest) + _output_problems(sig, manifest)
    n = len(manifest.labels)
    if not problems and sig.probe_shape is not None:
        if tuple(sig.probe_shape) != (1, n):
            problems.append(f"one image gave outputs of shape {tuple(sig.probe_shape)}; the manifest has {n} labels, "
                            f"so (1, {n})")
        elif sig.probe_dtype not in (None, DTYPE):
            problems.append(f"one image gave {sig.probe_dtype} outputs, not {DTYPE}")
        elif not sig.probe_finite:
            problems.append("one all-zero image gave outputs that are not finite numbers (NaN or infinity)")
    return problems


def check_model_contract(bundle: Bundle, inspect: ModelInspector) -> list[str]:
    """Check every ONNX model of ``bundle`` against its manifest; returns the names checked.

    Raises :class:`BundleError` naming the model file and every problem (one line)."""
    names = model_files(bundle.manifest)
    if not names:
        raise BundleError(f"{bundle.root / 'manifest.json'}: lists no ONNX model (*.onnx)")
    for name in names:
        sig = inspect(bundle.root / name, probe_shape(bundle.manifest))
        problems = contract_problems(sig, bundle.manifest)
        if problems:
            raise BundleError(f"{bundle.root / name}: the model does not match the manifest: {'; '.join(problems)}")
    return names
