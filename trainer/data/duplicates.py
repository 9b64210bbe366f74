"""Exact and near-duplicate groups over a list of images (union-find over sha256 and pHash matches).

Used by ``checkout data check`` (to report and quarantine copies) and ``checkout data split`` (to keep every
copy of a photo inside one split). Pure Python + numpy (through :func:`trainer.data.hashing.near_pairs`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trainer.data.hashing import degenerate, iter_near_pairs


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra

    def groups(self) -> list[list[int]]:
        """All sets (singletons included), each sorted, ordered by their smallest member."""
        by_root: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            by_root[self.find(i)].append(i)
        return sorted(by_root.values(), key=lambda g: g[0])


@dataclass(frozen=True)
class DuplicatePair:
    """Items ``i`` < ``j`` are the same bytes (``exact``) or within the pHash threshold (``near``)."""

    i: int
    j: int
    kind: str
    distance: int


def duplicate_pairs(
    sha256s: Sequence[str | None], phashes: Sequence[int | None], threshold: int,
    confirm: Callable[[int, int, int], bool] | None = None,
) -> list[DuplicatePair]:
    """Pairs enough to join every duplicate group, at most one fewer than the items (memory bounded by the photos,
    not by the pairs): exact pairs (same sha256, a chain per content) and near pairs (pHash Hamming distance <=
    ``threshold`` between items with different content) that join two groups not joined yet. ``None`` entries and
    degenerate pHashes (:func:`trainer.data.hashing.degenerate`: flat images) take no part in near matching.

    ``confirm(i, j, distance)``: a near pair joins only when it says so (a pHash alone does not tell one photo from
    two photos of one layout: :func:`trainer.data.hashing.same_photo`); asked only for pairs not joined yet."""
    pairs: list[DuplicatePair] = []
    uf = UnionFind(len(sha256s))
    by_sha: dict[str, list[int]] = defaultdict(list)
    for i, sha in enumerate(sha256s):
        if sha:
            by_sha[sha].append(i)
    for members in by_sha.values():
        pairs += [DuplicatePair(a, b, "exact", 0) for a, b in zip(members, members[1:])]
        for a, b in zip(members, members[1:]):
            uf.union(a, b)
    if threshold >= 0:
        index = [i for i, h in enumerate(phashes) if h is not None and not degenerate(h)]
        for a, b, dist in iter_near_pairs([phashes[i] for i in index], threshold):
            i, j = index[a], index[b]
            if uf.find(i) != uf.find(j) and (confirm is None or confirm(i, j, dist)):
                uf.union(i, j)
                pairs.append(DuplicatePair(i, j, "near", dist))
    return pairs


def duplicate_groups(n: int, pairs: Sequence[DuplicatePair]) -> list[list[int]]:
    """Connected components of ``pairs`` over ``n`` items (singletons included), each sorted."""
    uf = UnionFind(n)
    for p in pairs:
        uf.union(p.i, p.j)
    return uf.groups()
