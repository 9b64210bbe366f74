"""The decoded-cache pipeline (``checkout train --train MANIFEST``): epochs read uint8 crops from the memory-mapped
cache of :mod:`trainer.imagecache`, in a seeded order split across ranks, augmented with seeds that make a resumed
run repeat exactly what an uninterrupted one would have done.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from trainer.imagecache import CachedImages


class CachedDataset(torch.utils.data.Dataset):
    """Items from the decoded cache, augmented with a seed fixed by (seed, epoch, index): resume-exact."""

    def __init__(self, cache: CachedImages, transform=None, seed: int = 0):
        self.cache, self.transform, self.seed, self.epoch = cache, transform, seed, 0

    def __len__(self) -> int:
        return len(self.cache.labels)

    def __getitem__(self, i: int):
        x = torch.from_numpy(np.array(self.cache.images[i])).permute(2, 0, 1)
        if self.transform is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed((self.seed * 1_000_003 + self.epoch * 10_007 + i) % (2**63))
                x = self.transform(x)
        return x, int(self.cache.labels[i])


class RankSampler(torch.utils.data.Sampler):
    """Shuffle with (seed, epoch), pad to a multiple of world × batch, give each rank its strided share.

    Every rank gets the same number of batches; with one process it is a seeded shuffle.
    """

    def __init__(self, n: int, rank: int, world: int, batch: int, seed: int, shuffle: bool = True):
        self.n, self.rank, self.world, self.batch = n, rank, world, batch
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0
        self.per_rank = math.ceil(n / (world * batch)) * batch if shuffle else math.ceil(n / world)
        self.start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """``start_batch``: resume mid-epoch, leaving out the batches a checkpoint already contains."""
        self.epoch, self.start_batch = epoch, start_batch

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.per_rank * self.world
        order = (order * math.ceil(total / max(1, len(order))))[:total]
        return iter(order[self.rank :: self.world][self.start_batch * self.batch :])

    def __len__(self) -> int:
        return max(0, self.per_rank - self.start_batch * self.batch)


class TrackedLoader:
    """A DataLoader over a :class:`RankSampler` that remembers the dataset indices of the batch it last gave out."""

    def __init__(self, loader: torch.utils.data.DataLoader, sampler: RankSampler):
        self.loader, self.sampler, self.last_ids = loader, sampler, []

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.sampler.set_epoch(epoch, start_batch)
        # the loader draws its workers' base seed when an epoch starts; from the global RNG that draw would shift
        # the dropout stream of a run resumed mid-epoch, so it comes from a generator of its own
        self.loader.generator = torch.Generator().manual_seed(self.sampler.seed * 1_000_003 + epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        order, b = list(self.sampler), self.loader.batch_size
        for i, batch in enumerate(self.loader):
            self.last_ids = order[i * b : (i + 1) * b]
            yield batch


def make_loader(dataset: CachedDataset, sampler: RankSampler, batch_size: int, workers: int,
                pin_memory: bool = False) -> TrackedLoader:
    # Workers are not persistent: they are forked anew each epoch so they see ``dataset.epoch`` (the augmentation
    # seed); persistent workers would keep epoch 0's copy and repeat its augmentations every epoch.
    return TrackedLoader(torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, drop_last=True, num_workers=workers,
        persistent_workers=False, pin_memory=pin_memory), sampler)



class CachedTrainingData:
    """The decoded cache as a :class:`trainer.training_data.TrainingData`: a :class:`CachedDataset` read through a
    :class:`RankSampler` (an epoch is padded to the same number of batches on every rank)."""

    def __init__(self, cache: CachedImages, labels: list[str], groups: dict[str, str], rank: int, world: int,
                 batch_size: int, workers: int, seed: int, transform=None, pin_memory: bool = False,
                 weights: np.ndarray | None = None):
        self.labels, self.groups = labels, groups
        self.weights = None if weights is None else torch.as_tensor(np.asarray(weights, np.float32))
        self.skipped = [{"line": line, "path": path, "reason": reason} for line, path, reason in cache.bad]
        self.dataset = CachedDataset(cache, transform, seed=seed)
        sampler = RankSampler(len(self.dataset), rank, world, batch_size, seed)
        self.loader = make_loader(self.dataset, sampler, batch_size, workers, pin_memory=pin_memory)
        self.layout = {"world_size": world, "workers": 0, "batch_size": batch_size, "source": "manifest"}

    @property
    def last_ids(self) -> list[int]:
        return self.loader.last_ids

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.loader.set_epoch(epoch, start_batch)
        self.dataset.epoch = epoch  # the augmentation seed (loader workers are forked anew each epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return iter(self.loader)

    def criterion(self, loss):
        """The plain loss (every sample of the cache decoded: nothing to ignore), or with sample weights
        (``--train CSV:WEIGHT``, ``--shopper-weight`` …) the weighted mean over the batch handed out last."""
        if self.weights is None:
            return loss
        return WeightedLoss(loss, self)


class WeightedLoss:
    """A cross-entropy's per-sample losses weighted by the samples' weights (looked up by the ids of the batch
    the loader handed out last, i.e. the one being trained on), as a weighted mean."""

    def __init__(self, loss, data: CachedTrainingData) -> None:
        self.per_sample = torch.nn.CrossEntropyLoss(reduction="none",
                                                    label_smoothing=getattr(loss, "label_smoothing", 0.0))
        self.data = data

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        w = self.data.weights[self.data.last_ids].to(logits.device)
        losses = self.per_sample(logits.float(), targets)
        return (losses * w).sum() / w.sum().clamp_min(1e-12)
