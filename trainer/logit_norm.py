"""LogitNorm (Wei et al., ICML 2022): the loss sees the logits divided by their L2 norm and a temperature τ.

Cross-entropy keeps paying a network to grow its logits' norm on photos it already classifies, which makes every
input, known or not, look sure: the max-softmax and energy scores an open-set threshold reads then separate unknown
items poorly. Normalising the logits inside the loss only (``--logit-norm TAU``; the network, its export and the
kiosk are unchanged) removes that incentive, so the norm stays free to say how familiar an input is. The export's
temperature calibration puts the plain logits' scale right again.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["LogitNorm", "with_logit_norm"]

#: the smallest norm divided by: an all-zero logit vector (a fresh head, a dead input) stays finite
EPS = 1e-7


class LogitNorm:
    """``loss(logits / (tau * ||logits||), targets)``: any criterion (plain, weighted, label-smoothed)."""

    def __init__(self, loss: Callable, tau: float) -> None:
        if not tau > 0:
            raise ValueError(f"LogitNorm temperature must be > 0, not {tau}")
        self.loss = loss
        self.tau = float(tau)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        norms = logits.norm(p=2, dim=-1, keepdim=True).clamp_min(EPS)
        return self.loss(logits / (norms * self.tau), targets)


def with_logit_norm(loss: Callable, tau: float) -> Callable:
    """``loss`` as it is for ``tau`` 0 (off), else wrapped in :class:`LogitNorm`."""
    return LogitNorm(loss, tau) if tau else loss
