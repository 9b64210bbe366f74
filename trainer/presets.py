"""Named augmentation presets (torchvision-references style).

``TrainPreset`` works on uint8 CHW tensors taken from the decoded-image cache; normalisation
happens once per batch on the device (:func:`normalize_batch`). ``EvalPreset`` *is* the kiosk's
preprocessing (:mod:`kiosk.bundle_format.preprocess`): the same function produces the crop the
network is measured on and the crop it sees in the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import v2 as T

from kiosk.bundle_format.preprocess import PreprocessSpec, eval_crop


@dataclass(frozen=True)
class TrainPreset:
    """Random resized crop, rotation, flips and colour jitter for photos of items on a tray."""

    crop_size: int = 224
    scale: tuple[float, float] = (0.25, 1.0)
    rotation: float = 20.0  # degrees, uniform ±
    hflip: float = 0.5
    vflip: float = 0.0
    color_jitter: float = 0.2  # brightness, contrast and saturation, each ± this fraction
    # Hue is what tells a Granny Smith from a Pink Lady and a lime from a lemon: jittering it blurs labels, and it is
    # the costliest op here (RGB → HSV per image, ~5 ms of ~11 ms at 256 px), so it is off unless asked for.
    hue: float = 0.0

    def build(self) -> T.Compose:
        ops: list = [T.RandomResizedCrop(self.crop_size, scale=self.scale, antialias=True)]
        if self.rotation:
            ops.append(T.RandomRotation(self.rotation))
        if self.hflip:
            ops.append(T.RandomHorizontalFlip(self.hflip))
        if self.vflip:
            ops.append(T.RandomVerticalFlip(self.vflip))
        if self.color_jitter:
            j = self.color_jitter
            ops.append(T.ColorJitter(brightness=j, contrast=j, saturation=j, hue=self.hue or None))
        elif self.hue:
            ops.append(T.ColorJitter(hue=self.hue))
        return T.Compose(ops)


@dataclass(frozen=True)
class EvalPreset:
    """The kiosk's preprocessing, as used by the trainer for validation, test and export."""

    spec: PreprocessSpec

    def crop(self, image_bgr: np.ndarray) -> np.ndarray:
        """uint8 HWC RGB crop, exactly what the kiosk feeds the network (before normalisation)."""
        return eval_crop(image_bgr, self.spec)


def normalize_batch(batch_uint8: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """uint8 NCHW RGB → float32 normalised, the torch twin of preprocess.to_model_input."""
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=batch_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=batch_uint8.device).view(1, 3, 1, 1)
    x = batch_uint8.float() * (1.0 / 255.0)
    return (x - mean) / std
