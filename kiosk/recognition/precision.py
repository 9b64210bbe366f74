"""Which of a bundle's models the till runs: the fp32 ``model.onnx``, or the int8 model where it pays.

``precision`` (kiosk setting / ``--precision``):

* ``auto`` (default): the int8 model when the bundle carries one (:mod:`kiosk.bundle_format.int8`), the backend runs
  int8 models (onnxruntime, openvino) on the CPU, and the CPU has VNNI (``avx512_vnni`` or ``avx_vnni`` among the
  flags of ``/proc/cpuinfo``; ONNX Runtime has no public helper for this); fp32 otherwise. VNNI multiplies uint8
  activations by int8 weights in one instruction: measured here an int8 MobileNetV2 ran in 0.45× the fp32 time.
  Without it the int8 kernels fall back to 16-bit sums that can saturate, and gain less.
  Where the fp32 model runs and the backend computes it in bf16 (openvino) on a CPU with bf16 arithmetic
  (``avx512_bf16`` or ``amx_bf16``): ``bf16``.
* ``fp32``: always the fp32 model, in fp32 arithmetic.
* ``bf16``: the fp32 model with bf16 arithmetic (openvino's inference-precision hint; refused by backends without
  it). Measured here: the till's MobileNetV2 in 0.54× the fp32 time, ResNet152 0.49× (README, Benchmarks).
* ``int8``: the int8 model whatever the CPU (refused when the bundle has none or the backend runs fp32 only).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from kiosk.bundle_format.int8 import int8_model
from kiosk.errors import BundleError, UserError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")
VNNI_FLAGS = ("avx512_vnni", "avx_vnni")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
FP32_MODEL = "model.onnx"
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first ``flags`` line of ``/proc/cpuinfo`` (empty where there is none, e.g. not Linux/x86)."""
    try:
        text = Path(cpuinfo).read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def _cpu_has(names: tuple[str, ...], flags: frozenset[str] | None) -> bool:
    return any(f in (cpu_flags() if flags is None else flags) for f in names)


def has_vnni(flags: frozenset[str] | None = None) -> bool:
    return _cpu_has(VNNI_FLAGS, flags)


def has_bf16(flags: frozenset[str] | None = None) -> bool:
    return _cpu_has(BF16_FLAGS, flags)


@dataclass(frozen=True)
class ModelChoice:
    precision: str  # fp32 | bf16 | int8
    file: str  # the model file in the bundle
    why: str  # for the model description and the log

    def __str__(self) -> str:
        return f"{self.precision} ({self.why})"


def choose_model(bundle, requested: str, backend: str, backend_precisions: tuple[str, ...], device: str = "cpu",
                 flags: frozenset[str] | None = None) -> ModelChoice:
    """The model ``backend`` should run for ``bundle`` under the ``requested`` precision (see the module docstring)."""
    if requested not in PRECISIONS:
        raise UserError(f"precision {requested!r}: choose one of {', '.join(PRECISIONS)}")
    int8 = int8_model(bundle.manifest, str(bundle.root / "manifest.json"))
    if requested == "fp32":
        return ModelChoice("fp32", FP32_MODEL, "fp32 asked for")
    if requested == "bf16":
        if "bf16" not in backend_precisions:
            raise UserError(f"precision bf16: backend {backend!r} has no bf16 arithmetic (openvino has)")
        return ModelChoice("bf16", FP32_MODEL, "bf16 asked for")
    if requested == "int8":
        return _forced_int8(bundle, int8, backend, backend_precisions, flags)
    fp32 = _auto_fp32(backend, backend_precisions, device, flags)
    if int8 is None:
        return dataclasses.replace(fp32, why=f"bundle has no int8 model{fp32.why}")
    if "int8" not in backend_precisions or not device.startswith("cpu"):
        return ModelChoice(fp32.precision, FP32_MODEL, f"{backend} on {device} runs fp32")
    if not has_vnni(flags):
        return dataclasses.replace(fp32, why=f"CPU has no VNNI{fp32.why}")
    return ModelChoice("int8", int8.file, "CPU has VNNI")


def _forced_int8(bundle, int8, backend: str, backend_precisions: tuple[str, ...], flags) -> ModelChoice:
    if int8 is None:
        raise BundleError(f"{bundle.root}: precision int8 asked for, but the bundle carries no int8 model "
                          "(head office adds one with `checkout bundle quantize`)")
    if "int8" not in backend_precisions:
        raise UserError(f"precision int8: backend {backend!r} runs fp32 models only (onnxruntime and openvino "
                        "run int8)")
    if not has_vnni(flags):
        log.warning("int8 model forced on a CPU without VNNI (%s): expect less speed-up", "/".join(VNNI_FLAGS))
    return ModelChoice("int8", int8.file, "int8 asked for")


def _auto_fp32(backend: str, backend_precisions: tuple[str, ...], device: str, flags) -> ModelChoice:
    """The fp32 model, in bf16 where the backend can and the CPU computes it (``why`` then says so, to append)."""
    if "bf16" in backend_precisions and device.startswith("cpu") and has_bf16(flags):
        return ModelChoice("bf16", FP32_MODEL, "; bf16: the CPU computes it")
    return ModelChoice("fp32", FP32_MODEL, "")
