"""``checkout bench train``: images/s of the trainer's input + step pipeline next to a naive
``torchvision.datasets.ImageFolder`` + ``DataLoader`` loop, same architecture, batch and threads, in one run.

The naive loop is what a first script looks like: PIL decodes and resizes every JPEG every epoch,
torchvision v1 transforms, NCHW fp32, every layer trained. The trainer reads decoded crops from its cache,
augments uint8 tensors, runs channels-last and (its recipe) keeps the low stages frozen. A second
baseline line gives the naive loop the same frozen stages: trainer / that line is the like-for-like figure.

The pipelines run interleaved, ``--rounds`` times ``--steps`` timed steps each (after two untimed ones that use up
what a loader prefetched while another pipeline ran), in alternating order, so load from other processes falls on
every side alike. ``--breakdown-steps N`` then times the parts alone, one after the other: each model's training
step on a batch already in memory, and each input pipeline on one core — what bounds the ratio on a small CPU.

Every side runs with the freed memory kept for reuse, as the trainer does (:mod:`trainer.allocator`: the setting is
the process's), so the ratio is the input pipeline's and the step's alone; ``checkout bench allocator`` measures the
allocator's part.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from kiosk.errors import UserError
from trainer import allocator

SHARED_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "grocery-store"
NAIVE_ALL = "naive ImageFolder, all layers trained"
TRAINER = "trainer (cache, uint8 aug, channels-last, recipe)"


def _default_manifest() -> Path:
    out = Path(".cache/bench/grocery")
    if not (out / "train.csv").is_file():
        if not (SHARED_TRAIN / "train.txt").is_file():
            raise UserError(f"no --data given and {SHARED_TRAIN} not found")
        from trainer.data.importers import import_grocery_store

        import_grocery_store(SHARED_TRAIN, out, catalog=False)
    return out / "train.csv"


def _image_folder(rows, root: Path) -> Path:
    """A class-per-folder tree of symlinks, the layout ImageFolder wants."""
    for i, r in enumerate(rows):
        d = root / r.sku
        d.mkdir(parents=True, exist_ok=True)
        link = d / f"{i:06d}{r.path.suffix}"
        if not link.exists():
            os.symlink(r.path, link)
    return root


def _cycle(loader):
    while True:
        yield from loader


@dataclass
class Pipeline:
    """One side of the bench: batches from ``batches`` (an endless iterator) through ``step``."""

    label: str
    step: object
    batches: object
    images: int = 0
    seconds: float = 0.0

    def run(self, steps: int, warmup: int) -> None:
        """``warmup`` untimed steps (the batches its loader prefetched while another pipeline ran), then ``steps``."""
        for _ in range(warmup):
            self.step(*next(self.batches))
        t0 = time.perf_counter()
        for _ in range(steps):
            x, y = next(self.batches)
            self.step(x, y)
            self.images += x.shape[0]
        self.seconds += time.perf_counter() - t0

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds else float("nan")


def make_step(model, arch: str, frozen: int, channels_last: bool, spec=None):
    """An AdamW training step on ``model`` (``frozen`` low stages kept in eval mode); ``spec``: uint8 batches are
    normalised on the fly (the trainer's decoded cache)."""
    from trainer.models import set_frozen_bn_eval
    from trainer.presets import normalize_batch

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    crit = nn.CrossEntropyLoss()
    model.train()
    if frozen:
        set_frozen_bn_eval(model, arch, frozen)

    def step(x, y):
        if spec is not None:
            x = normalize_batch(x, spec)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = crit(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def bench_model(arch: str, classes: int, frozen: int, channels_last: bool):
    from trainer.models import build_model, freeze_stages

    torch.manual_seed(0)
    model = build_model(arch, classes)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if frozen:
        freeze_stages(model, arch, frozen)
    return model


def _loader(ds, bs: int, workers: int):
    return torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, drop_last=True,
                                       persistent_workers=workers > 0)


def _naive_dataset(folder: Path, size: int):
    """What a first script does: ImageFolder, PIL decode and resize of every JPEG every epoch, v1 transforms."""
    from torchvision import datasets
    from torchvision import transforms as T1

    tf = T1.Compose([T1.RandomResizedCrop(size), T1.RandomRotation(20), T1.RandomHorizontalFlip(),
                     T1.ColorJitter(0.2, 0.2, 0.2), T1.ToTensor(),
                     T1.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return datasets.ImageFolder(str(folder), transform=tf)


def _trainer_dataset(args, rows, index: dict, spec):
    """The trainer's: photos decoded once into the memory-mapped cache, uint8 augmentation (the recipe's preset)."""
    from trainer.cached_data import CachedDataset
    from trainer.imagecache import build_cache
    from trainer.presets import TrainPreset

    cache = build_cache([(r.path, index[r.sku]) for r in rows], args.cache_dir, "train", spec, desc="decode once")
    return CachedDataset(cache, TrainPreset(crop_size=args.img_size).build())


def _pipelines(args, rows, labels: list[str], folder: Path, workers: int) -> list[Pipeline]:
    from kiosk.bundle_format.preprocess import PreprocessSpec
    from trainer.models import DEFAULT_FREEZE

    arch, size, bs, classes = args.arch, args.img_size, args.batch_size, len(labels)
    freeze = DEFAULT_FREEZE.get(arch, 0) if args.freeze is None else args.freeze
    naive = _naive_dataset(folder, size)
    spec = PreprocessSpec(resize_size=round(size / 0.875), crop_size=size)
    cached = _trainer_dataset(args, rows, {s: i for i, s in enumerate(labels)}, spec)
    sides = [(NAIVE_ALL, naive, 0, False, None)]
    if freeze:
        sides.append((f"naive ImageFolder, same {freeze} frozen stages", naive, freeze, False, None))
    sides.append((TRAINER, cached, freeze, True, spec))
    return [Pipeline(label, make_step(bench_model(arch, classes, frozen, cl), arch, frozen, cl, sp),
                     _cycle(_loader(ds, bs, workers)))
            for label, ds, frozen, cl, sp in sides]


def _breakdown(pipelines: list[Pipeline], args, rows, labels, folder: Path) -> list[str]:
    """Where a batch's time goes, each part alone on one process: the step on a ready batch, and the data."""
    lines = []
    for p in pipelines:
        x, y = next(p.batches)
        t0 = time.perf_counter()
        for _ in range(args.breakdown_steps):
            p.step(x, y)
        step_ms = (time.perf_counter() - t0) * 1e3 / args.breakdown_steps
        rate = args.batch_size * 1e3 / step_ms
        lines.append(f"  {p.label:48s} step alone {step_ms:7.0f} ms/batch ({rate:5.1f} img/s)")
    from kiosk.bundle_format.preprocess import PreprocessSpec

    spec = PreprocessSpec(resize_size=round(args.img_size / 0.875), crop_size=args.img_size)
    for label, ds in (("naive data (decode + PIL augmentation)", _naive_dataset(folder, args.img_size)),
                      ("trainer data (cache + uint8 augmentation)",
                       _trainer_dataset(args, rows, {s: i for i, s in enumerate(labels)}, spec))):
        it = iter(_loader(ds, args.batch_size, 0))
        t0 = time.perf_counter()
        for _ in range(args.breakdown_steps):
            next(it)
        lines.append(f"  {label:48s} one core    {(time.perf_counter() - t0) * 1e3 / args.breakdown_steps:7.0f} "
                     "ms/batch")
    return lines


def bench_train(args) -> int:
    from trainer.data.manifest import read_manifest

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    allocator.keep_freed_memory()  # as the trainer does, for every pipeline alike
    workers = args.workers if args.workers is not None else 1
    rows = read_manifest(args.data or _default_manifest())
    labels = sorted({r.sku for r in rows})
    with tempfile.TemporaryDirectory() as tmp:
        folder = _image_folder(rows, Path(tmp))
        pipelines = _pipelines(args, rows, labels, folder, workers)
        bar = tqdm(total=args.rounds * len(pipelines), desc="bench train", unit="run", file=sys.stderr,
                   disable=None)
        for r in range(args.rounds):  # interleaved: load that comes and goes falls on every side alike
            for p in pipelines if r % 2 == 0 else pipelines[::-1]:
                p.run(args.steps, warmup=2)
                bar.update()
        bar.close()
        print(f"{args.arch}, batch {args.batch_size}, {args.img_size} px, {threads} threads, {workers} loader "
              f"workers, {args.rounds} interleaved rounds of {args.steps} timed steps each")
        base = pipelines[0].rate
        for p in pipelines:
            print(f"  {p.label:48s} {p.rate:7.1f} img/s  {p.rate / base:5.2f}x")
        if len(pipelines) == 3:
            print(f"  like for like (trainer / naive with the same frozen stages): "
                  f"{pipelines[2].rate / pipelines[1].rate:.2f}x")
        if args.breakdown_steps:
            print("where a batch's time goes (each part alone, one after the other):")
            print("\n".join(_breakdown(pipelines, args, rows, labels, folder)))
    return 0
