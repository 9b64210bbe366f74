"""One checkpoint dict, written atomically (kiosk.bundle_format.atomic), read with weights_only=True."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from kiosk.bundle_format.atomic import atomic_open
from kiosk.errors import UserError

CHECKPOINT = "checkpoint.pt"


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(state: dict, run_dir: Path) -> Path:
    path = Path(run_dir) / CHECKPOINT
    with atomic_open(path, "wb") as fh:
        torch.save(state, fh)
    return path


def load_checkpoint(run_dir: Path) -> dict:
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise UserError(f"{path}: no checkpoint to resume from")
    try:
        # Our own checkpoints hold tensors, numbers, strings and numpy RNG state; allow just those.
        with torch.serialization.safe_globals([np.dtype, np.ndarray, np.dtypes.UInt32DType,
                                               np._core.multiarray._reconstruct]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path}: cannot read checkpoint ({exc.__class__.__name__}: {exc})") from None
