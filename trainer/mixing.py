"""MixUp and CutMix on a training batch, as a mix of two hard-target losses.

The arithmetic is torchvision's (``transforms.v2.MixUp`` / ``CutMix``, the references' ``--mixup-alpha`` and
``--cutmix-alpha``): λ ~ Beta(α, α); MixUp blends each image with the batch rolled by one, CutMix pastes a box of
area ``1 - λ`` from it and corrects λ for the box's clipping at the border. torchvision's transforms return one-hot
soft targets; here the loss is mixed instead, ``λ·loss(logits, y) + (1 - λ)·loss(logits, y_rolled)`` — the same value
for a cross-entropy (linear in its target) — so every loss wrapper of the pipelines (sample weights, the shard
stream's ignored placeholder batch) keeps taking hard class indexes, and the training accuracy still counts against
the image that covers most of the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["BatchMix", "Mixed", "from_args"]


@dataclass(frozen=True)
class Mixed:
    images: torch.Tensor
    other: torch.Tensor  # the second image's targets (the batch rolled by one)
    lam: float  # weight of the first image's targets

    def loss(self, criterion, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.lam >= 1.0:
            return criterion(logits, targets)
        return self.lam * criterion(logits, targets) + (1.0 - self.lam) * criterion(logits, self.other)


@dataclass(frozen=True)
class BatchMix:
    """``mixup``/``cutmix``: the Beta distribution's α (0 = off); with both on, each mixed batch picks one at random
    (as torchvision's references do); ``prob``: the share of batches mixed at all."""

    mixup: float = 0.0
    cutmix: float = 0.0
    prob: float = 1.0

    def __post_init__(self) -> None:
        if self.mixup < 0 or self.cutmix < 0 or not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"mixup α {self.mixup} and cutmix α {self.cutmix} must be ≥ 0, the share of mixed "
                             f"batches {self.prob} in [0, 1]")

    @property
    def active(self) -> bool:
        return self.prob > 0 and (self.mixup > 0 or self.cutmix > 0)

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> Mixed:
        """``images`` (N, C, H, W), already normalised; nothing mixed when the batch is not drawn or has one image."""
        if not self.active or len(images) < 2 or float(torch.rand(())) >= self.prob:
            return Mixed(images, targets, 1.0)
        use_cutmix = self.cutmix > 0 and (self.mixup == 0 or float(torch.rand(())) < 0.5)
        alpha = self.cutmix if use_cutmix else self.mixup
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        rolled = images.roll(1, dims=0)
        if use_cutmix:
            images, lam = _paste_box(images, rolled, lam)
        else:
            images = images.mul(lam).add_(rolled, alpha=1.0 - lam)
        return Mixed(images, targets.roll(1, dims=0), lam)


def _paste_box(images: torch.Tensor, rolled: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
    """CutMix: a box of about ``1 - lam`` of the area, centred anywhere, clipped to the image; λ from its real area."""
    h, w = images.shape[-2:]
    cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
    half = math.sqrt(1.0 - lam) / 2
    dy, dx = int(half * h), int(half * w)
    y0, y1, x0, x1 = max(cy - dy, 0), min(cy + dy, h), max(cx - dx, 0), min(cx + dx, w)
    out = images.clone()
    out[..., y0:y1, x0:x1] = rolled[..., y0:y1, x0:x1]
    return out, 1.0 - (y1 - y0) * (x1 - x0) / (h * w)


def from_args(args, epoch: int) -> BatchMix | None:
    """The run's mixing for ``epoch`` (0-based): none during the last ``--mix-off-epochs`` (the model ends on clean
    images, as timm's ``mixup_off_epoch``) or when neither α is set."""
    mix = BatchMix(getattr(args, "mixup", 0.0), getattr(args, "cutmix", 0.0), getattr(args, "mix_prob", 1.0))
    if not mix.active or epoch >= args.epochs - getattr(args, "mix_off_epochs", 0):
        return None
    return mix
