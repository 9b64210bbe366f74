"""Stochastic weight averaging (Izmailov et al. 2018): the last ``--swa-epochs`` epochs train at a held learning rate
and the weights at the end of each are averaged with equal weights; the average is what is validated and kept.

torch's :class:`~torch.optim.swa_utils.AveragedModel` does the averaging (and the ``--ema`` variant's per step), with
``use_buffers=True``: BatchNorm's running statistics are averaged with the weights instead of recomputed in an extra
pass over the training photos (whose low stages stay frozen, with their ImageNet statistics, in this recipe).
"""

from __future__ import annotations

import torch

from kiosk.errors import UserError


def swa_epochs(args) -> int:
    """``--swa-epochs`` (0 in runs saved before it existed)."""
    return getattr(args, "swa_epochs", 0) or 0


def check_args(args) -> None:
    k = swa_epochs(args)
    if not k:
        return
    if not 0 < k < args.epochs:
        raise UserError(f"--swa-epochs {k}: must be between 1 and --epochs - 1 ({args.epochs - 1})")
    if args.ema:
        raise UserError("--swa-epochs and --ema both average the weights: choose one")
    if not 0 < args.swa_lr_factor <= 1:
        raise UserError(f"--swa-lr-factor {args.swa_lr_factor}: a share of the peak learning rate, in (0, 1]")


def main_epochs(args) -> int:
    """Epochs of the ordinary schedule (one-cycle or cosine); the rest hold the SWA learning rate."""
    return args.epochs - swa_epochs(args)


class HoldAfter:
    """Steps ``main`` for its ``steps`` optimizer steps, then holds each group's peak learning rate × ``factor``.

    Idempotent from its state alone (the held rate comes from the groups' ``max_lr``/``initial_lr``), so a resumed
    run continues exactly."""

    def __init__(self, main, optimizer: torch.optim.Optimizer, steps: int, factor: float):
        self.main, self.optimizer, self.steps, self.factor, self.done = main, optimizer, steps, factor, 0

    def step(self) -> None:
        self.done += 1
        if self.done < self.steps:  # the lr of the main schedule's steps; its own step past the end extrapolates
            self.main.step()
            return
        for group in self.optimizer.param_groups:
            group["lr"] = group.get("max_lr", group["initial_lr"]) * self.factor

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"main": self.main.state_dict(), "done": self.done}

    def load_state_dict(self, state: dict) -> None:
        self.main.load_state_dict(state["main"])
        self.done = state["done"]


def averaged(model: torch.nn.Module) -> torch.optim.swa_utils.AveragedModel:
    return torch.optim.swa_utils.AveragedModel(model, use_buffers=True)  # equal weights: SWA's running mean


def at_epoch_end(t, epoch: int, finished: bool) -> None:
    """Add the weights to the average at the end of each full SWA epoch."""
    if swa_epochs(t.args) and finished and epoch >= main_epochs(t.args):
        t.ema.update_parameters(t.bare)


def eval_model(t) -> torch.nn.Module:
    """The averaged weights once there are any (SWA from its first epoch's end; EMA always), else the weights."""
    if t.ema is None or (swa_epochs(t.args) and int(t.ema.n_averaged) == 0):
        return t.bare
    return t.ema.module
