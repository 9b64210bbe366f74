"""``checkout bench train``: images/s of the trainer's input + step pipeline next to a naive
``torchvision.datasets.ImageFolder`` + ``DataLoader`` loop, same architecture, batch and threads, in one run.

The naive loop is what a first script looks like: PIL decodes and resizes every JPEG every epoch,
torchvision v1 transforms, NCHW fp32, every layer trained. The trainer reads decoded crops from its cache,
augments uint8 tensors, runs channels-last and (its recipe) keeps the low stages frozen. A second
baseline line gives the naive loop the same frozen stages, so the data pipeline's share is visible too.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from kiosk.errors import UserError

SHARED_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "grocery-store"


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


def _time_steps(step, batches, steps: int, warmup: int = 2) -> float:
    it = iter(batches)
    for _ in range(warmup):
        step(*next(it))
    t0 = time.perf_counter()
    n = 0
    for _ in range(steps):
        x, y = next(it)
        step(x, y)
        n += x.shape[0]
    return n / (time.perf_counter() - t0)


def _cycle(loader):
    while True:
        yield from loader


def bench_train(args) -> int:
    from torchvision import datasets
    from torchvision import transforms as T1

    from kiosk.bundle_format.preprocess import PreprocessSpec
    from trainer.cached_data import CachedDataset
    from trainer.data.manifest import read_manifest
    from trainer.imagecache import build_cache
    from trainer.models import DEFAULT_FREEZE, build_model, freeze_stages, set_frozen_bn_eval
    from trainer.presets import TrainPreset, normalize_batch

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    workers = args.workers if args.workers is not None else 1
    manifest = args.data or _default_manifest()
    rows = read_manifest(manifest)
    labels = sorted({r.sku for r in rows})
    index = {s: i for i, s in enumerate(labels)}
    size, bs, steps = args.img_size, args.batch_size, args.steps
    freeze = DEFAULT_FREEZE.get(args.arch, 0)
    results = {}

    def make_step(model, channels_last: bool, frozen: int, spec: PreprocessSpec | None = None):
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        crit = nn.CrossEntropyLoss()
        model.train()
        if frozen:
            set_frozen_bn_eval(model, args.arch, frozen)

        def step(x, y):
            if spec is not None:  # uint8 batches from the decoded cache: normalized on the fly
                x = normalize_batch(x, spec)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = crit(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step

    # naive: ImageFolder + PIL + v1 transforms, every epoch decodes every JPEG
    with tempfile.TemporaryDirectory() as tmp:
        folder = _image_folder(rows, Path(tmp))
        naive_tf = T1.Compose([T1.RandomResizedCrop(size), T1.RandomRotation(20), T1.RandomHorizontalFlip(),
                               T1.ColorJitter(0.2, 0.2, 0.2), T1.ToTensor(),
                               T1.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
        ds = datasets.ImageFolder(str(folder), transform=naive_tf)
        for label, frozen in (("naive ImageFolder, all layers trained", 0),
                              (f"naive ImageFolder, same {freeze} frozen stages", freeze)):
            if label.startswith("naive ImageFolder, same") and not freeze:
                continue
            torch.manual_seed(0)
            model = build_model(args.arch, len(labels))
            if frozen:
                freeze_stages(model, args.arch, frozen)
            loader = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers,
                                                 drop_last=True, persistent_workers=workers > 0)
            results[label] = _time_steps(make_step(model, False, frozen), _cycle(loader), steps)
            print(f"{label:48s} {results[label]:7.1f} img/s", flush=True)

    # trainer: decoded cache + uint8 augmentation + channels-last + the recipe's frozen stages
    spec = PreprocessSpec(resize_size=round(size / 0.875), crop_size=size)
    t0 = time.perf_counter()
    cache = build_cache([(r.path, index[r.sku]) for r in rows], args.cache_dir, "train", spec, desc="decode once")
    decode_s = time.perf_counter() - t0
    torch.manual_seed(0)
    model = build_model(args.arch, len(labels)).to(memory_format=torch.channels_last)
    freeze_stages(model, args.arch, freeze)
    ds = CachedDataset(cache, TrainPreset(crop_size=size).build())
    loader = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=workers > 0)
    label = "trainer (cache, uint8 aug, channels-last, recipe)"
    results[label] = _time_steps(make_step(model, True, freeze, spec), _cycle(loader), steps)
    print(f"{label:48s} {results[label]:7.1f} img/s   (one-off decode of {len(rows)} photos: {decode_s:.1f} s)")
    base = results["naive ImageFolder, all layers trained"]
    print(f"\n{args.arch}, batch {bs}, {size} px, {threads} threads, {workers} loader workers, {steps} timed steps")
    for k, v in results.items():
        print(f"  {k:48s} {v / base:5.2f}x")
    return 0
