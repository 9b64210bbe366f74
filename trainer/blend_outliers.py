"""Outlier exposure without outlier photos: blends of two different SKUs' photos trained towards "none of these".

Outlier exposure (Hendrycks et al., ICLR 2019) adds a loss that pulls the network's softmax on photos of no known
class towards uniform (the cross-entropy to the uniform target, ``-mean(log_softmax)``), so that unknown items get
low max-softmax and energy. It needs outlier photos; the store's unknown items are siblings of known SKUs (another
melon, another brand's yoghurt), photos that look partly like two known SKUs. ``--blend-outliers W`` makes such
photos from the batch itself: each of the first half of the batch blended with the batch rolled by one, at a weight
drawn from [0.35, 0.65], where the two SKUs differ, and adds ``W`` × their outlier-exposure loss. One forward pass
sees both (the batch grows by half; ``--blend-share S`` blends the first S of it instead); the network, its export and
the kiosk are unchanged.

On this 2-core CPU a step's cost grew faster than its batch beyond 32 photos at 288 px (MobileNetV2, three stages
frozen: 1.4-1.6 s a step for 32 photos, 2.1 s for 40, 3.0 s for 48, timed train steps) while glibc unmapped every
freed activation; with the trainer keeping freed memory (:mod:`trainer.allocator`) 1.2-1.4, 1.6 and 1.8 s.
"""

from __future__ import annotations

import torch

__all__ = ["LOW", "HIGH", "blended", "uniform_loss"]

LOW, HIGH = 0.35, 0.65  # the first photo's share in a blend: never mostly one SKU


def blended(images: torch.Tensor, targets: torch.Tensor, share: float = 0.5) -> torch.Tensor:
    """Blends of the first ``share`` of ``images`` (N, C, H, W, normalised) with the batch rolled by one, only where
    the two targets differ: (M, C, H, W), M ≤ int(N × share) (0 rows for a batch of one SKU)."""
    half = int(len(images) * share)
    other = images.roll(1, dims=0)[:half]
    keep = targets[:half] != targets.roll(1, dims=0)[:half]
    lam = torch.empty(half, 1, 1, 1, device=images.device).uniform_(LOW, HIGH)
    return (images[:half] * lam + other * (1 - lam))[keep]


def uniform_loss(logits: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of ``logits`` (M, K) to the uniform distribution, averaged (0 for no rows)."""
    if not len(logits):
        return logits.sum() * 0.0
    return -torch.log_softmax(logits.float(), dim=1).mean()
