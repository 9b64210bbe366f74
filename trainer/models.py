"""Backbones + new classifier heads, freezing, and loading torchvision-format weights from a local file.

The networks themselves (name → constructor, head replacement, TinyCNN) are the table in
:mod:`kiosk.bundle_format.architectures`, which the kiosk's torch backend builds bundles' networks from too.

Weights never come from a hub: ``--weights FILE`` is a torchvision state dict (``.pth``, loaded with
``weights_only=True``) or a ``.safetensors`` file. A file that does not fit the architecture is
refused with a message naming the file and the first mismatching keys.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch
from torch import nn

from kiosk.bundle_format.architectures import (
    HEADS,
    CosineLinear,
    EfficientNetLite,
    WithEmbedding,
    backbone,
    head_of,
    last_linear,
    normalisation,
    replace_head,
)
from kiosk.errors import UserError

#: default number of leading stages frozen by the recipe (the "low layers"). MobileNetV2: the stem and the
#: first two inverted-residual blocks (112/56 px feature maps, the costliest backward pass on a CPU).
DEFAULT_FREEZE = {"resnet152": 2, "resnet101": 2, "resnet50": 2, "resnet18": 1, "mobilenet_v2": 3,
                  "mobilenet_v3_large": 0, "efficientnet_b0": 0, "tiny_cnn": 0,
                  # EfficientNet-Lite: the stem and stages 1-2 (16 and 24 channels at 112/56 px), as for MobileNetV2
                  "efficientnet_lite0": 3, "efficientnet_lite1": 3, "efficientnet_lite2": 3}

__all__ = ["DEFAULT_FREEZE", "HEADS", "CosineLinear", "WithEmbedding", "build_model", "freeze_stages", "head",
           "head_in_file", "head_of", "hold_rows", "keep_depthwise_fp32", "last_linear", "normalisation",
           "scale_logits", "set_frozen_bn_eval", "stages"]


def stages(model: nn.Module, arch: str) -> list[nn.Module]:
    """The backbone split into ordered stages, low → high (what --freeze N counts)."""
    if arch.startswith("resnet"):
        return [nn.ModuleList([model.conv1, model.bn1]), model.layer1, model.layer2, model.layer3, model.layer4]
    if isinstance(model, EfficientNetLite):  # stem, the seven block stages, the 1x1 head convolution
        bounds = zip([0, *model.stage_ends[:-1]], model.stage_ends)
        return [nn.ModuleList([model._conv_stem, model._bn0]),
                *(nn.ModuleList(model._blocks[a:b]) for a, b in bounds),
                nn.ModuleList([model._conv_head, model._bn1])]
    if arch.startswith(("mobilenet", "efficientnet", "tiny")):
        return list(model.features)
    raise UserError(f"no stage split defined for architecture {arch!r}")


def head(model: nn.Module, arch: str) -> nn.Module:
    if isinstance(model, EfficientNetLite):
        return model._fc
    return model.fc if arch.startswith("resnet") else model.classifier


class _Float32Forward:
    """Mixin: the convolution runs in float32 even under autocast."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


@cache
def _float32_class(cls: type) -> type:
    return type(f"Float32{cls.__name__}", (_Float32Forward, cls), {})


def keep_depthwise_fp32(model: nn.Module) -> int:
    """Run the depthwise convolutions in float32 under bf16 autocast (a CPU training speed-up; the weights and the
    exported network are unchanged). oneDNN's bf16 depthwise backward is 2-6x slower than float32 channels-last on
    this CPU (5x5, 240 channels, 28 px: 189 vs 72 ms a batch of 32), while the 1x1 convolutions gain from bf16.
    Returns how many convolutions it changed."""
    changed = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.groups > 1 and not isinstance(m, _Float32Forward):
            m.__class__ = _float32_class(type(m))
            changed += 1
    return changed


def scale_logits(model: nn.Module, arch: str, factor: float) -> None:
    """Multiply the network's logits by ``factor`` by scaling its last linear layer (folds a temperature in)."""
    last = [m for m in head(model, arch).modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        (last.scale if isinstance(last, CosineLinear) else last.weight).mul_(factor)  # a cosine row's norm is moot
        last.bias.mul_(factor)


def head_in_file(path: Path | str) -> str:
    """Which head (:data:`HEADS`) the network in a ``.safetensors`` file ends in, from its keys alone."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return head_of(f.keys())


def load_weights_file(path: Path | str) -> dict[str, torch.Tensor]:
    """Read a local torchvision-format state dict without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: weights file not found (download it on a machine with access and pass --weights)")
    if path.suffix == ".safetensors":
        from trainer.run_files import load_state

        state = load_state(path)
    else:
        import warnings

        from trainer.checkpoint import torch_load_reason

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UserError(f"{path}: not a torch state dict ({torch_load_reason(exc)})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a torchvision-references checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path}: not a torch state dict (not a dict of tensors)")
    return state


def build_model(arch: str, num_classes: int, pretrained: Path | str | None = None, dropout: float = 0.2,
                head: str = "linear") -> nn.Module:
    """Backbone ``arch`` with a fresh ``num_classes`` head (:data:`HEADS`); ImageNet weights from a local file if
    given."""
    model = backbone(arch)
    if pretrained is not None:
        state = load_weights_file(pretrained)
        own = model.state_dict()
        missing = [k for k in own if k not in state]
        shape_bad = [k for k in own if k in state and state[k].shape != own[k].shape]
        unexpected = [k for k in state if k not in own]
        if missing or shape_bad or unexpected:
            detail = "; ".join(
                f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
                for label, keys in (("missing", missing), ("wrong shape", shape_bad), ("unexpected", unexpected))
                if keys
            )
            raise UserError(f"{pretrained}: weights do not fit architecture {arch!r} ({detail})")
        model.load_state_dict(state)
    replace_head(model, arch, num_classes, dropout, head)
    return model


def hold_rows(model: nn.Module, rows: list[int]) -> None:
    """Keep the classifier's ``rows`` (weight row and bias of each) where they are: their gradients are zeroed as
    they are computed, so no optimiser step moves them (AdamW's decoupled weight decay still shrinks them by
    ``lr × decay`` a step: well under 1 % over an incremental retrain, and a cosine head reads a row's direction
    only)."""
    fc = last_linear(model)
    mask = torch.zeros(fc.weight.shape[0], dtype=torch.bool)
    mask[list(rows)] = True
    fc.weight.register_hook(lambda g: g.masked_fill(mask.to(g.device)[:, None], 0))
    fc.bias.register_hook(lambda g: g.masked_fill(mask.to(g.device), 0))


def freeze_stages(model: nn.Module, arch: str, n: int) -> list[str]:
    """Freeze the first ``n`` stages (no grads, BatchNorm in eval mode). Returns the frozen parameter names."""
    all_stages = stages(model, arch)
    if not 0 <= n < len(all_stages):
        raise UserError(f"--freeze {n}: {arch} has {len(all_stages)} stages, freeze 0..{len(all_stages) - 1}")
    frozen = []
    ids = set()
    for stage in all_stages[:n]:
        for p in stage.parameters():
            p.requires_grad_(False)
            ids.add(id(p))
    for name, p in model.named_parameters():
        if id(p) in ids:
            frozen.append(name)
    return frozen


def set_frozen_bn_eval(model: nn.Module, arch: str, n: int) -> None:
    """Keep BatchNorm statistics of frozen stages fixed; call after every ``model.train()``."""
    for stage in stages(model, arch)[:n]:
        for m in stage.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
