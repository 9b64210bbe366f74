"""An additive cosine margin (CosFace, Wang et al. 2018; AM-Softmax) for the cosine head.

A cosine head's logit is ``scale · cos(embedding, w_c) + b_c``. In training the loss sees the true SKU's logit
lowered by ``scale · margin``: a photo pays until its cosine with its own SKU's row beats every other row's by the
margin, which pulls each SKU's embeddings tighter around its row and leaves wider gaps between SKUs, the gaps an
unknown item's embedding would fall into. Only the loss changes (``--margin M`` with ``--head cosine``); the network,
its export and the kiosk are as they were.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["CosineMargin", "head_scale", "with_margin"]


class CosineMargin:
    """``loss(logits − scale · margin · onehot(targets), targets)`` for hard targets (class indices)."""

    def __init__(self, loss: Callable, margin: float, scale: float) -> None:
        if not 0 < margin < 1:
            raise ValueError(f"cosine margin must be in (0, 1), not {margin}")
        self.loss, self.shift = loss, float(margin) * float(scale)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if targets.dtype in (torch.int64, torch.int32) and targets.dim() == 1:
            logits = logits.scatter_add(1, targets.long()[:, None],
                                        torch.full((len(targets), 1), -self.shift, device=logits.device))
        return self.loss(logits, targets)


def head_scale(model: torch.nn.Module) -> float:
    """The scale of ``model``'s cosine head (16 when fresh; a calibrated bundle's folds its temperature in)."""
    from trainer.models import CosineLinear

    heads = [m for m in model.modules() if isinstance(m, CosineLinear)]
    if not heads:
        raise ValueError("a cosine margin needs a cosine head (--head cosine)")
    return float(heads[-1].scale)


def with_margin(loss: Callable, margin: float, model: torch.nn.Module) -> Callable:
    """``loss`` as it is for ``margin`` 0 (off), else wrapped in :class:`CosineMargin` at ``model``'s head scale."""
    return CosineMargin(loss, margin, head_scale(model)) if margin else loss
