"""One checkpoint dict, written atomically (kiosk.bundle_format.atomic), read with weights_only=True."""

from __future__ import annotations

import random
import warnings
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
                                               np._core.multiarray._reconstruct]), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path}: not a checkpoint of this trainer ({torch_load_reason(exc)})") from None
    if not isinstance(state, dict) or not {"model", "optimizer", "scheduler", "args", "labels"} <= set(state):
        raise UserError(f"{path}: not a checkpoint of this trainer (not the dict it writes)")
    return state


def torch_load_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a few words (torch's own text advises re-running with
    ``weights_only=False``: never, for a file from outside)."""
    import pickle

    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        first = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line),
                     "")
        return "holds objects other than tensors; refused unread" + (f": {first[:120]}" if first else "")
    if isinstance(exc, (RuntimeError, KeyError, EOFError, ValueError)) and ("zip" in str(exc).lower()
                                                                             or isinstance(exc, (KeyError, EOFError))):
        return "not a torch.save file (cut short, or another kind of file)"
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text[:120]}"
