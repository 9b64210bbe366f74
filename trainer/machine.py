"""The machine a training ran on: recorded in ``RUN/machine.json`` and carried into the bundle's provenance.

Training on a CPU here is deterministic on one machine: the same recipe, seed and photos give the same weights bit
for bit (the 14-epoch recipe's rerun gave the same per-epoch figures). It is not deterministic across machines:
oneDNN chooses its convolution kernels and blockings by the CPU's instruction set and cache sizes, so float sums
add up in another order, and over thousands of steps a last-bit difference grows into other weights — another
sample of the recipe's run-to-run spread, not a fault. So a run records what it ran on (CPU model, its
instruction-set extensions and L2 size, cores and threads, the torch/oneDNN build and the packages that decode and
resize photos), a resume appends where it continued, and a resume on another machine says so in one line.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
from pathlib import Path

#: instruction-set extensions that change which kernels oneDNN and ONNX Runtime run
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
             "amx_int8", "avx_vnni", "asimd", "sve")
#: fields whose change makes a run's numbers differ (the others only describe)
NUMERIC = ("cpu", "isa", "l2_cache", "threads", "cpu_capability", "torch", "onednn", "device")
MACHINE_FILE = "machine.json"


def _cpuinfo() -> tuple[str, list[str]]:
    """The CPU's model name and its ISA flags of :data:`ISA_FLAGS` from ``/proc/cpuinfo`` (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), []
    model = re.search(r"^(?:model name|Model|Hardware)\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.MULTILINE)
    have = set(flags.group(1).split()) if flags else set()
    return (model.group(1).strip() if model else platform.machine()), [f for f in ISA_FLAGS if f in have]


def _l2_cache() -> str | None:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip() or None
    except OSError:
        return None


def _versions() -> dict:
    """The packages whose versions change the pixels or the arithmetic (absent ones are left out)."""
    import numpy as np
    import torch

    found = re.search(r"(?:oneDNN|MKL-DNN) v([\d.]+)", torch.__config__.show())
    out = {"python": platform.python_version(), "torch": torch.__version__, "onednn": found.group(1) if found else None,
           "numpy": np.__version__}
    for name, module in (("opencv", "cv2"), ("pillow", "PIL")):
        try:
            out[name] = importlib.import_module(module).__version__
        except ImportError:
            pass
    return out


def describe(device: str = "cpu") -> dict:
    """What this process trains on now."""
    import torch

    cpu, isa = _cpuinfo()
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    return {"cpu": cpu, "isa": isa, "l2_cache": _l2_cache(), "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "device": gpu or device, **_versions()}


def differences(before: dict, now: dict) -> list[str]:
    """The :data:`NUMERIC` fields that differ, as ``field: before → now``."""
    return [f"{k}: {before.get(k)} → {now.get(k)}" for k in NUMERIC if before.get(k) != now.get(k)]


def record(run: Path, device: str, from_epoch: int, write_json) -> list[str]:
    """Append this machine to ``RUN/machine.json`` (one entry per start or resume, with the epoch it began at) and
    return how it differs from the entry before it (empty on a fresh run or the same machine)."""
    from trainer.run_files import read_json

    path = Path(run) / MACHINE_FILE
    history = read_json(path, list) if path.is_file() else []
    now = {"from_epoch": int(from_epoch), **describe(device)}
    changed = differences(history[-1], now) if history and isinstance(history[-1], dict) else []
    write_json(path, [*history, now])
    return changed


def provenance(run: Path) -> list | None:
    """``RUN/machine.json`` for a bundle's ``trainer`` block, or None for a run that predates it."""
    from trainer.run_files import read_json

    path = Path(run) / MACHINE_FILE
    return read_json(path, list) if path.is_file() else None
