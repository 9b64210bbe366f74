"""The networks a bundle may name (``manifest.architecture``): name → torchvision constructor, the classifier head
that replaces ImageNet's, and TinyCNN for smoke tests and CI.

Both the kiosk's torch backend (to load ``model.safetensors``) and the trainer (to train and export) build the
network here, so the weights a bundle carries always fit. This module imports torch and torchvision: only
``kiosk.recognition.backends.torch_backend`` and ``trainer.models`` import it, nothing else in the package does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision import models as tvm

from kiosk.errors import UserError


class TinyCNN(nn.Module):
    """A three-block CNN for smoke tests and CI (trains in seconds on a CPU); not for stores."""

    def __init__(self, num_classes: int = 1000, weights=None):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(o),
                                 nn.ReLU(inplace=True))

        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


#: architecture name → torchvision-style constructor (``weights=None``)
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet152": tvm.resnet152,
    "resnet101": tvm.resnet101,
    "resnet50": tvm.resnet50,
    "resnet18": tvm.resnet18,
    "mobilenet_v2": tvm.mobilenet_v2,
    "mobilenet_v3_large": tvm.mobilenet_v3_large,
    "efficientnet_b0": tvm.efficientnet_b0,
    "tiny_cnn": TinyCNN,
}


def backbone(arch: str) -> nn.Module:
    """``arch`` with its ImageNet head and no weights; UserError naming the choices for an unknown name."""
    if arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](weights=None)


def replace_head(model: nn.Module, arch: str, num_classes: int, dropout: float = 0.2) -> None:
    """Swap the ImageNet classifier for a fresh ``num_classes`` one (dropout, then linear)."""
    if arch.startswith("resnet"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    else:
        last = model.classifier[-1]
        model.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last.in_features, num_classes))


def build_network(arch: str, num_classes: int, dropout: float = 0.2) -> nn.Module:
    """The untrained network of a bundle: ``arch`` with a ``num_classes`` head (what its safetensors fit)."""
    model = backbone(arch)
    replace_head(model, arch, num_classes, dropout)
    return model
