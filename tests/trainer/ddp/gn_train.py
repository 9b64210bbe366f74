"""``checkout train`` with ``--arch tiny_gn``: the tiny CNN with GroupNorm instead of BatchNorm and no dropout.

Used by the DDP equivalence tests. Two ranks × batch b equal one rank × batch 2b only for a model whose
training step is a function of the whole batch's mean gradient: BatchNorm normalises with each rank's own
batch statistics (b samples, not 2b), and dropout draws its masks from each process's RNG. GroupNorm works per
sample and the head's dropout is set to 0, so the two layouts compute the same step up to float rounding.
Everything else is the real trainer (``kiosk.cli.main(["train", …])``), launched directly or by torchrun.
"""

import sys

from torch import nn

import trainer.models as models
from kiosk.bundle_format import architectures


class TinyGN(architectures.TinyCNN):
    def __init__(self, num_classes: int = 1000, weights=None):
        super().__init__(num_classes)
        for block in self.features:
            block[1] = nn.GroupNorm(4, block[1].num_features)


architectures.ARCHITECTURES["tiny_gn"] = TinyGN
models.DEFAULT_FREEZE["tiny_gn"] = 0
_replace_head = models.replace_head
models.replace_head = lambda model, arch, num_classes, dropout=0.2, head="linear": _replace_head(
    model, arch, num_classes, 0.0, head)

if __name__ == "__main__":
    from kiosk.cli import main

    raise SystemExit(main(["train", *sys.argv[1:]]))
