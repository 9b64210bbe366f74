"""Feature distillation for incremental retrains: LUCIR's "less-forget" constraint (Hou et al., *Learning a Unified
Classifier Incrementally via Rebalancing*, CVPR 2019).

An incremental retrain fine-tunes the base network on the new SKUs' photos and a few replayed exemplars per old SKU.
With a cosine head only an embedding's direction counts, and a fine-tune that turns the old SKUs' embeddings away from
their rows forgets them (issue 13's protocol: old SKUs 90.5 % → 84.8 % with the cosine head). The constraint keeps the
network's embedding of every training photo pointing where the base network pointed it::

    loss = cross-entropy + weight · mean(1 − cos(f(x), f_base(x)))

``f`` is the embedding the head reads (the pooled features, before the head's dropout), ``f_base`` the same of the
frozen base network (the incremental run's initial weights, taken before any step or resume). It also keeps what the
till stores in that space usable: the trained SKUs' prototypes, the replay exemplars and the gallery of taught
products. The teacher runs once per batch (no gradient): a forward pass more per step, no more images processed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FeatureDistillation", "with_distillation"]


class FeatureDistillation:
    """Hooks on the student (``model``, the bare network) that keep its input images and its embedding during a
    training forward pass, and a frozen copy of it as it is now (the teacher). :meth:`term` is the weighted
    less-forget term of the last training batch (computed once, whatever the criterion's calls)."""

    def __init__(self, model: nn.Module, arch: str, weight: float) -> None:
        from trainer.models import head

        if not weight > 0:
            raise ValueError(f"distillation weight must be > 0, not {weight}")
        self.weight = float(weight)
        self.teacher = copy.deepcopy(model).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self._teacher_seen: list[torch.Tensor] = []
        head(self.teacher, arch).register_forward_pre_hook(lambda _m, a: self._teacher_seen.append(a[0]))
        self._images: torch.Tensor | None = None
        self._student: torch.Tensor | None = None
        self._term: torch.Tensor | None = None
        model.register_forward_pre_hook(self._keep_images)
        head(model, arch).register_forward_pre_hook(self._keep_embedding)

    def _keep_images(self, module: nn.Module, args: tuple) -> None:
        if module.training:  # evaluation passes keep nothing
            self._images, self._student, self._term = args[0], None, None

    def _keep_embedding(self, module: nn.Module, args: tuple) -> None:
        if module.training:
            self._student = torch.flatten(args[0], 1)

    def _teacher_embedding(self, images: torch.Tensor) -> torch.Tensor:
        self._teacher_seen.clear()
        with torch.no_grad():
            self.teacher(images)
        return torch.flatten(self._teacher_seen[-1], 1)

    def term(self) -> torch.Tensor:
        """``weight · mean(1 − cos(student, teacher))`` over the last training batch."""
        if self._student is None or self._images is None:
            raise RuntimeError("feature distillation: no training forward pass to distil")
        if self._term is None:
            teacher = self._teacher_embedding(self._images)
            cos = F.cosine_similarity(self._student.float(), teacher.float(), dim=1)
            self._term = self.weight * (1.0 - cos).mean()
        return self._term

    def to(self, device) -> FeatureDistillation:
        self.teacher.to(device)
        return self


def with_distillation(loss: Callable, distillation: FeatureDistillation | None) -> Callable:
    """``loss`` as it is without ``distillation``, else ``loss + distillation.term()``. The term is the same for each
    call on one batch (MixUp's two targets weigh it ``lam + (1 − lam)`` = once)."""
    if distillation is None:
        return loss

    def distilled(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return loss(logits, targets) + distillation.term()

    return distilled
