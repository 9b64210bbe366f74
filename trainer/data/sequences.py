"""Shooting sequences: photos of one item taken one after another are near-copies of each other (same item, same
light, same background, a second apart) even where pHash does not join them (the angle changes). A split that puts
``Apple_015`` in test and ``Apple_014``/``Apple_016`` in train measures memory, not recognition.

Photos named ``<stem><number>.<ext>`` in one folder (``Golden-Delicious_001.jpg``, ``IMG_0042.JPG``) form a
sequence, ordered by number; gaps (photos removed by ``checkout data check``) do not break it. Used by
``checkout data split``:

* :func:`sequence_blocks`: runs of consecutive photos of a sequence (:func:`block_size`: as many as one held-out
  split takes of the SKU), joined into one group so that a held-out split takes whole runs;
* :func:`neighbours_across`: how many held-out photos still have a training photo right next to them (the leak that
  is left at the edges of the runs), printed with the split;
* :func:`guard_band`: the training photos within ``guard`` places of a held-out run, which ``--guard`` leaves out of
  training (a purged split, as for time series).

Pure functions of paths and numbers; no image is read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<number>[0-9]+)\Z")


def sequence_key(path: Path) -> tuple[str, str, int] | None:
    """``(folder, stem, number)`` of a numbered photo name, None for a name without a trailing number."""
    m = _NUMBERED.match(path.stem)
    if m is None:
        return None
    return str(path.parent), m["stem"], int(m["number"])


def sequences(paths: Sequence[Path], skus: Sequence[str]) -> list[list[int]]:
    """Indices of ``paths`` per sequence (same folder, stem and SKU), in shooting order; photos without a number
    are left out (each is its own group)."""
    by_seq: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for i, (path, sku) in enumerate(zip(paths, skus)):
        key = sequence_key(Path(path))
        if key is not None:
            folder, stem, number = key
            by_seq[(folder, stem, sku)].append((number, i))
    return [[i for _, i in sorted(members)] for _, members in sorted(by_seq.items())]


def sequence_blocks(seqs: list[list[int]], sizes: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` that join each run of ``sizes[k]`` consecutive photos of sequence ``k`` (≤ 1: none)."""
    pairs = []
    for seq, block in zip(seqs, sizes):
        for start in range(0, len(seq), max(block, 1)):
            run = seq[start:start + block]
            pairs += [(a, b) for a, b in zip(run, run[1:])]
    return pairs


def block_size(length: int, share: float) -> int:
    """The run length for a sequence of ``length`` photos when a split takes ``share`` of each SKU: one run fills
    that split's share (at least 2, so that every held-out photo has one neighbour inside its own run)."""
    return max(2, round(length * share)) if share > 0 else 1


def neighbours_across(seqs: list[list[int]], split_of: Sequence[str], held_out: str,
                      distance: int = 1) -> tuple[int, int]:
    """``(with_neighbour, total)``: photos in ``held_out`` and how many of them have a training photo within
    ``distance`` places in their sequence."""
    touching, total = 0, 0
    for seq in seqs:
        for pos, i in enumerate(seq):
            if split_of[i] != held_out:
                continue
            total += 1
            touching += any(split_of[j] == "train" for j in _near(seq, pos, distance))
    return touching, total


def guard_band(seqs: list[list[int]], split_of: Sequence[str], guard: int) -> set[int]:
    """Training photos within ``guard`` places of a held-out photo of their sequence."""
    out: set[int] = set()
    if guard <= 0:
        return out
    for seq in seqs:
        for pos, i in enumerate(seq):
            if split_of[i] == "train":
                continue
            out.update(j for j in _near(seq, pos, guard) if split_of[j] == "train")
    return out


def _near(seq: list[int], pos: int, distance: int) -> list[int]:
    """The photos within ``distance`` places of ``seq[pos]``, itself excluded."""
    return seq[max(0, pos - distance):pos] + seq[pos + 1:pos + 1 + distance]
