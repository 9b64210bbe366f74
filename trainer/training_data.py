"""One shape for both training pipelines, so the epoch loop has one code path.

:class:`TrainingData` is what the loop needs from its data; the decoded cache
(:class:`trainer.cached_data.CachedTrainingData`, ``--train MANIFEST``) and the streamed tar shards
(:class:`trainer.shards.stream.ShardLoader`, ``--shards DIR_OR_URL``) both provide it. Opening goes in two steps:
:meth:`TrainingSource.from_args` reads just enough to know the classes (every rank, cheap), then
:meth:`TrainingSource.open` builds the loader (decoding the cache, when there is one to build).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

from kiosk.errors import DataError
from trainer.shards.index import ShardIndex, load_index
from trainer.shards.layout import INDEX


@runtime_checkable
class TrainingData(Protocol):
    """This rank's training batches, epoch by epoch: iterating gives ``(uint8 NCHW images, int64 targets)``."""

    labels: list[str]  # class names: target i is labels[i]
    groups: dict[str, str]  # SKU → coarse group (written to labels.json)
    skipped: list[dict]  # samples left out before training: {"line", "path", "reason"} (quarantine.json)
    layout: dict  # what splits an epoch into batches; a mid-epoch position holds only under the same layout
    last_ids: list[int]  # sample ids of the batch handed out last (--sample-log)

    def __len__(self) -> int:
        """Batches this rank still has in the epoch set by :meth:`set_epoch`."""

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Shuffle and augment for ``epoch``; start at batch ``start_batch`` (resuming mid-epoch)."""

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def criterion(self, loss: Callable) -> Callable:
        """The loss to train with, given the plain one (a pipeline may send batches it must not count)."""


def cache_weights(cache, rows: list[dict]):
    """Each cached image's sample weight: the cache keeps the rows' images in order, less the unreadable ones (an
    unreadable path is unreadable in every row that names it, so matching paths in order is exact)."""
    import numpy as np

    weights, j = np.ones(len(cache.paths), np.float32), 0
    for r in rows:
        if j < len(cache.paths) and cache.paths[j] == str(r["path"]):
            weights[j] = r.get("weight", 1.0)
            j += 1
    return weights


def read_manifest_items(path: Path) -> list[dict]:
    """Rows of a training manifest as dicts with an absolute ``path`` and the CSV line number."""
    from trainer.data.manifest import read_manifest

    rows = read_manifest(path)
    return [{"path": r.path, "sku": r.sku, "group": r.group, "line": i + 2} for i, r in enumerate(rows)]


@dataclass(frozen=True)
class TrainingSource:
    """The training data read far enough to know its classes, nothing decoded: a manifest's rows or a shard index."""

    where: str  # what the labels come from, for messages
    labels: list[str]
    groups: dict[str, str]
    rows: list[dict] | None = None  # the manifest's rows (decoded-cache pipeline)
    index: ShardIndex | None = None  # the shards' index (streaming pipeline)

    @classmethod
    def from_args(cls, args) -> TrainingSource:
        if args.shards:
            index = load_index(args.shards)
            return cls(f"{args.shards}/{INDEX}", index.labels, index.groups, index=index)
        from trainer.train_sources import training_rows

        rows = training_rows(args)  # every --train manifest, each row with its sample weight
        return cls("the training manifest", sorted({r["sku"] for r in rows}),
                   {r["sku"]: r["group"] for r in rows if r.get("group")}, rows=rows)

    def check_known(self, rows: list[dict], what: Path) -> None:
        """Refuse ``rows`` (of the manifest ``what``) whose SKUs the training data has no class for."""
        unknown = sorted({r["sku"] for r in rows} - set(self.labels))
        if unknown:
            raise DataError(f"{what}: SKUs not in {self.where}: {', '.join(unknown[:10])}")

    def open(self, args, rank: int, world: int, spec, transform, cache_dir: Path, pin_memory: bool,
             errors_path: Path) -> TrainingData:
        """This rank's loader. ``spec``: the training PreprocessSpec; ``transform``: the augmentation."""
        if self.index is not None:
            from trainer.shards.stream import ShardLoader, ShardStream

            stream = ShardStream(self.index, rank, world, args.batch_size, args.workers, args.seed, spec.resize_size,
                                 transform, crop_size=args.img_size, shuffle_buffer=args.shuffle_buffer,
                                 interpolation=spec.interpolation)
            return ShardLoader(stream, args.workers, pin_memory=pin_memory, errors_path=errors_path)
        from trainer.cached_data import CachedTrainingData
        from trainer.imagecache import build_cache

        index = {s: i for i, s in enumerate(self.labels)}
        cache = build_cache([(r["path"], index[r["sku"]]) for r in self.rows], cache_dir, "train", spec,
                            lines=[r["line"] for r in self.rows], desc="decode train")
        weights = [r.get("weight", 1.0) for r in self.rows]
        return CachedTrainingData(cache, self.labels, self.groups, rank, world, args.batch_size, args.workers,
                                  args.seed, transform, pin_memory,
                                  weights=cache_weights(cache, self.rows) if set(weights) != {1.0} else None)
