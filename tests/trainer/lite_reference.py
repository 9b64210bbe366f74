"""Seeded EfficientNet-Lite weights and inputs for the architecture test, and the script that recorded the reference
package's logits for them (``tests/trainer/fixtures/efficientnet_lite_reference.json``).

Re-record (not needed for the tests) with the reference implementation beside the repo::

    pip download --no-deps efficientnet_lite_pytorch==0.1.0 && unzip … -d /tmp/effw/src
    PYTHONPATH=/tmp/effw/src .venv/bin/python -m tests.trainer.lite_reference
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

FIXTURE = Path(__file__).parent / "fixtures" / "efficientnet_lite_reference.json"
#: (architecture, input size): even and odd sizes, since TensorFlow's 'SAME' padding differs between them
CASES = (("efficientnet_lite0", 64), ("efficientnet_lite0", 67), ("efficientnet_lite1", 64), ("efficientnet_lite2", 66))
KEPT_LOGITS = 16


def seeded_state(shapes: dict[str, torch.Size], seed: int = 0) -> dict[str, torch.Tensor]:
    """Deterministic weights for a state dict's keys (sorted), scaled so activations stay in range."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.long)
        elif key.endswith(("running_var", "weight")) and len(shape) == 1:  # BatchNorm scale and variance
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif len(shape) == 1:  # biases and running means
            state[key] = 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)  # He: keeps the scale
    return state


def seeded_input(size: int, seed: int = 1) -> torch.Tensor:
    """Two inputs the network tells apart: noise, and brighter noise over a diagonal ramp (pooled random features
    of two noise images alone come out nearly equal)."""
    noise = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
    ramp = torch.linspace(-2, 2, size)
    noise[1] = 0.5 * noise[1] + ramp[None, :, None] + ramp[None, None, :]
    return noise


def record() -> None:  # pragma: no cover - needs the reference package
    from efficientnet_lite_pytorch import EfficientNet

    out = []
    for arch, size in CASES:
        ref = EfficientNet.from_name(arch.replace("_", "-"), image_size=size).eval()
        ref.load_state_dict(seeded_state({k: v.shape for k, v in ref.state_dict().items()}))
        with torch.no_grad():
            logits = ref(seeded_input(size))
        out.append({"arch": arch, "size": size, "logits": logits[:, :KEPT_LOGITS].tolist()})
    FIXTURE.write_text(json.dumps({"reference": "efficientnet_lite_pytorch 0.1.0", "cases": out}, indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    record()
