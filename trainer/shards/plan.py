"""The epoch plan: from the shard counts alone, which samples each (rank, loader worker) reads, in which batches.

Every process computes the same plan, so ranks agree on the number of steps without reading any data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    shard: int  # index into ShardIndex.names
    start: int  # first sample position in the shard
    stop: int  # one past the last


def shard_order(n_shards: int, seed: int, epoch: int, shuffle: bool = True) -> list[int]:
    order = list(range(n_shards))
    if shuffle:
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def batches_per_rank(total: int, world: int, batch: int) -> int:
    return max(1, math.ceil(total / (world * batch))) if total else 0


def batch_sizes(total: int, world: int, batch: int, rank: int) -> list[int]:
    """Sizes of rank ``rank``'s batches: the same count on every rank, sizes ≤ batch differing by at most one."""
    n_batches = batches_per_rank(total, world, batch)
    n_rank = total // world + (rank < total % world)
    return [n_rank // n_batches + (j < n_rank % n_batches) for j in range(n_batches)]


def _rank_start(total: int, world: int, rank: int) -> int:
    return rank * (total // world) + min(rank, total % world)


def worker_span(counts: list[int], order: list[int], start: int, stop: int) -> list[Piece]:
    """Global positions [start, stop) of the shards taken in ``order`` as pieces of shards."""
    pieces, offset = [], 0
    for s in order:
        lo, hi = max(start, offset), min(stop, offset + counts[s])
        if lo < hi:
            pieces.append(Piece(s, lo - offset, hi - offset))
        offset += counts[s]
        if offset >= stop:
            break
    return pieces


@dataclass(frozen=True)
class WorkerPlan:
    pieces: list[Piece]  # what this worker reads, in order
    batch_ids: list[int]  # the rank's batch indices this worker emits, ascending
    sizes: list[int]  # their sizes

    @property
    def n(self) -> int:
        return sum(self.sizes)


def worker_plan(counts: list[int], world: int, rank: int, workers: int, batch: int, seed: int, epoch: int,
                residue: int, shuffle: bool = True) -> WorkerPlan:
    """What the worker emitting batches ``j ≡ residue (mod workers)`` of rank ``rank`` reads in ``epoch``."""
    total = sum(counts)
    sizes = batch_sizes(total, world, batch, rank)
    before = sum(sz for j, sz in enumerate(sizes) if j % workers < residue)
    mine = [j for j in range(len(sizes)) if j % workers == residue]
    start = _rank_start(total, world, rank) + before
    n = sum(sizes[j] for j in mine)
    order = shard_order(len(counts), seed, epoch, shuffle)
    return WorkerPlan(worker_span(counts, order, start, start + n), mine, [sizes[j] for j in mine])


def buffer_order(n: int, buffer: int, rng: random.Random) -> list[int]:
    """The output order of a shuffle buffer of ``buffer`` items fed positions 0..n-1 (read order)."""
    out, buf = [], []
    for i in range(n):
        buf.append(i)
        if len(buf) >= buffer:
            j = rng.randrange(len(buf))
            buf[j], buf[-1] = buf[-1], buf[j]
            out.append(buf.pop())
    while buf:
        j = rng.randrange(len(buf))
        buf[j], buf[-1] = buf[-1], buf[j]
        out.append(buf.pop())
    return out
