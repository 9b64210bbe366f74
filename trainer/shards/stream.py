"""Streaming shards into training: the per-rank IterableDataset that follows the epoch plan, the loader the
epoch loop iterates (a :class:`trainer.training_data.TrainingData`), and the loss wrapper for placeholder batches."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import torch

from trainer.shards.index import ShardIndex
from trainer.shards.layout import IMAGE_EXTS
from trainer.shards.plan import WorkerPlan, batches_per_rank, buffer_order, worker_plan
from trainer.shards.read import RawSample, decode_sample, iter_shard

log = logging.getLogger(__name__)

IGNORE = -100  # target of a placeholder sample (nn.CrossEntropyLoss's default ignore_index)


class ShardStream(torch.utils.data.IterableDataset):
    """An IterableDataset yielding whole batches ``(uint8 NCHW, targets, meta)`` of one rank, per the epoch plan.

    ``meta`` holds ``ids`` (sample ids, int64), ``batch`` (index in the epoch) and ``errors`` (reports of
    skipped members as ``{"shard", "member", "reason"}``).
    """

    def __init__(self, index: ShardIndex, rank: int, world: int, batch: int, workers: int, seed: int,
                 resize: int, transform=None, crop_size: int | None = None, shuffle_buffer: int = 1000,
                 interpolation: str = "area", shuffle: bool = True):
        self.index, self.rank, self.world, self.batch = index, rank, world, batch
        self.workers, self.seed, self.resize, self.transform = max(1, workers), seed, resize, transform
        self.shuffle_buffer, self.interpolation, self.shuffle = max(1, shuffle_buffer), interpolation, shuffle
        self.crop_size = crop_size or resize  # size of what the transform returns (for a placeholder sample)
        self.label_index = {s: i for i, s in enumerate(index.labels)}
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __len__(self) -> int:
        return max(0, batches_per_rank(self.index.total, self.world, self.batch) - self.start_batch)

    def plan(self, residue: int) -> WorkerPlan:
        return worker_plan(self.index.counts, self.world, self.rank, self.workers, self.batch, self.seed,
                           self.epoch, residue, self.shuffle)

    def _prepare(self, image, sample_id: int):
        import cv2
        import numpy as np

        from kiosk.bundle_format.preprocess import center_crop, resize_shorter

        square = center_crop(resize_shorter(image, self.resize, self.interpolation), self.resize)
        x = torch.from_numpy(np.ascontiguousarray(cv2.cvtColor(square, cv2.COLOR_BGR2RGB))).permute(2, 0, 1)
        if self.transform is not None:  # seeded by (seed, epoch, id), as CachedDataset: resume-exact
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed((self.seed * 1_000_003 + self.epoch * 10_007 + sample_id) % (2**63))
                x = self.transform(x)
        return x

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is None:  # no DataLoader workers: run the planned workers here, taking batches in their order
            gens = [self._worker_batches(r) for r in range(self.workers)]
            for j in range(self.start_batch, self.start_batch + len(self)):
                yield next(gens[j % self.workers])
            return
        if info.num_workers != self.workers:
            raise RuntimeError(f"ShardStream planned for {self.workers} workers, the DataLoader has {info.num_workers}")
        # the loader asks worker 0 first, and wants batch start_batch first
        yield from self._worker_batches((info.id + self.start_batch) % self.workers)

    def _worker_batches(self, residue: int):
        plan = self.plan(residue)
        rng = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{residue}")
        out = buffer_order(plan.n, self.shuffle_buffer, rng)
        skip = sum(sz for j, sz in zip(plan.batch_ids, plan.sizes) if j < self.start_batch)
        outpos = [0] * plan.n
        for k, p in enumerate(out):
            outpos[p] = k
        errors: list[dict] = []

        def on_error(shard, member, reason):
            errors.append({"shard": shard, "member": member, "reason": reason})
            log.warning("shard %s member %s: %s; skipped", shard, member, reason)

        # the batches before start_batch are the first ``skip`` of the buffer's output: what is left comes in order
        samples = _in_order(self._read(plan, outpos, skip, on_error), out[skip:])
        for j, size in zip(plan.batch_ids, plan.sizes):
            if j < self.start_batch:
                continue
            decoded = [self._decode(next(samples), on_error) for _ in range(size)]
            batch = self._collate([d for d in decoded if d is not None], j, list(errors))
            errors.clear()
            yield batch

    def _decode(self, raw: RawSample | None, on_error) -> tuple[torch.Tensor, int, int] | None:
        """(augmented uint8 CHW crop, label, sample id), or None for a sample that never arrived or does not decode."""
        if raw is None:
            return None  # its shard is truncated or missing (already reported)
        try:
            image, label, sid = decode_sample(raw, self.label_index)
            return self._prepare(image, sid), label, sid  # ImageTooSmall (a ValueError): a thumbnail is left out
        except (ValueError, UnicodeDecodeError) as exc:
            member = next((f"{raw.key}.{e}" for e in raw.members if e in IMAGE_EXTS), f"{raw.key}.json")
            on_error(raw.shard, member, str(exc))
            return None

    def _collate(self, decoded: list, batch: int, errors: list[dict]):
        if not decoded:  # every sample of the batch was unreadable: one ignored placeholder keeps DDP in step
            decoded = [(torch.zeros(3, self.crop_size, self.crop_size, dtype=torch.uint8), IGNORE, -1)]
        xs, ys, ids = zip(*decoded)
        meta = {"ids": torch.tensor(ids, dtype=torch.int64), "batch": batch, "errors": errors}
        return torch.stack(xs), torch.tensor(ys, dtype=torch.int64), meta

    def _read(self, plan: WorkerPlan, outpos: list[int], skip: int, on_error):
        """(worker position, raw sample) in read order for the samples still to be emitted."""
        base = 0
        for piece in plan.pieces:
            offset = base - piece.start

            def want(pos, offset=offset):
                return outpos[pos + offset] >= skip

            name = self.index.names[piece.shard]
            if all(outpos[p] < skip for p in range(base, base + piece.stop - piece.start)):
                base += piece.stop - piece.start
                continue  # nothing of this piece is left to emit: do not even open it
            for pos, raw in iter_shard(self.index.root, name, piece.start, piece.stop, want, on_error):
                if raw is not None:
                    yield pos + offset, raw
            base += piece.stop - piece.start


def _in_order(reader, positions: list[int]):
    """The raw samples at ``positions`` in that order (None for one that never arrives), reading ahead as needed.

    ``reader`` yields ``(position, raw sample)`` in read order; a shuffle buffer emits in another order, so samples
    read before their turn wait in ``pending``.
    """
    pending: dict[int, RawSample] = {}
    exhausted = False
    for p in positions:
        while p not in pending and not exhausted:
            try:
                rp, raw = next(reader)
                pending[rp] = raw
            except StopIteration:
                exhausted = True
        yield pending.pop(p, None)


class ShardLoader:
    """The main-process side: a DataLoader over :class:`ShardStream`, yielding ``(images, targets)``; the sharded
    pipeline's :class:`trainer.training_data.TrainingData`.

    Remembers the ids of the batch last handed out (``last_ids``) for the sample log, and writes skipped-member
    reports to ``errors_path`` (one JSON line each) besides logging them.
    """

    def __init__(self, dataset: ShardStream, workers: int, pin_memory: bool = False, errors_path: Path | None = None):
        self.dataset, self.workers, self.pin_memory, self.errors_path = dataset, workers, pin_memory, errors_path
        self.last_ids: list[int] = []
        self.errors: list[dict] = []
        index = dataset.index
        self.labels, self.groups, self.skipped = index.labels, index.groups, index.skipped
        self.layout = {"world_size": dataset.world, "workers": dataset.workers, "batch_size": dataset.batch,
                       "source": "shards"}

    def criterion(self, loss):
        """A batch whose every sample was corrupt arrives as one ignored placeholder: it must give a zero loss."""
        return IgnoreEmptyLoss(loss)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.dataset.set_epoch(epoch, start_batch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        # a generator of its own: the loader's seed draw must not move the global RNG (dropout) mid-epoch
        seed = torch.Generator().manual_seed(self.dataset.seed * 1_000_003 + self.dataset.epoch)
        loader = torch.utils.data.DataLoader(self.dataset, batch_size=None, num_workers=self.workers,
                                             pin_memory=self.pin_memory, persistent_workers=False, generator=seed)
        for images, targets, meta in loader:
            self.last_ids = [int(i) for i in meta["ids"].tolist() if i >= 0]
            for e in meta["errors"]:
                e = {**e, "epoch": self.dataset.epoch, "batch": int(meta["batch"]), "rank": self.dataset.rank}
                self.errors.append(e)
                if self.errors_path is not None:
                    with open(self.errors_path, "a") as fh:
                        fh.write(json.dumps(e) + "\n")
            yield images, targets


class IgnoreEmptyLoss:
    """Wrap a criterion so a batch whose targets are all ``IGNORE`` gives a zero loss (and zero gradients)."""

    def __init__(self, criterion):
        self.criterion = criterion

    def __call__(self, logits, targets):
        valid = targets != IGNORE
        if bool(valid.all()):
            return self.criterion(logits, targets)
        if not bool(valid.any()):
            return logits.sum() * 0.0
        return self.criterion(logits[valid], targets[valid])
