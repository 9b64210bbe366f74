"""Fine-tune a backbone on store photos: ``checkout train`` (and ``python -m trainer``, torchrun-ready).

Shape follows torchvision's references: ``get_args_parser()`` → ``main(args)`` builds distributed
init → data → model → optimizer/scheduler → DDP (keeping the bare model) → EMA → resume → epochs;
``train_one_epoch()`` and ``evaluate()`` are plain functions anyone can call.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from kiosk.errors import DataError, UserError
from kiosk.recognition.preprocess import PreprocessSpec
from trainer import checkpoint as ckpt
from trainer.distributed import DistInfo, all_reduce_sum, barrier, cleanup, init_distributed
from trainer.imagecache import CachedImages, build_cache
from trainer.metrics import topk_accuracy
from trainer.models import DEFAULT_FREEZE, build_model, freeze_stages, set_frozen_bn_eval
from trainer.options import get_args_parser
from trainer.presets import TrainPreset, normalize_batch

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- data

def read_manifest_items(path: Path) -> list[dict]:
    """Rows of a training manifest as dicts with an absolute ``path`` and the CSV line number."""
    from trainer.data.manifest import read_manifest

    rows = read_manifest(path)
    return [{"path": r.path, "sku": r.sku, "group": r.group, "line": i + 2} for i, r in enumerate(rows)]


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
        self.n, self.rank, self.world, self.batch, self.seed, self.shuffle, self.epoch = n, rank, world, batch, seed, shuffle, 0
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


def specs_from_args(args) -> tuple[PreprocessSpec, PreprocessSpec]:
    train_resize = args.train_resize or round(args.img_size / 0.875)
    eval_size = args.eval_size or args.img_size
    eval_resize = args.eval_resize or round(eval_size / 0.875)
    interpolation = getattr(args, "interpolation", "area")  # checkpoints written before the option existed
    return (PreprocessSpec(resize_size=train_resize, crop_size=args.img_size, interpolation=interpolation),
            PreprocessSpec(resize_size=eval_resize, crop_size=eval_size, interpolation=interpolation))


# ----------------------------------------------------------------------------- loops

def autocast_ctx(device: str, amp: str):
    if amp in ("bf16", "fp16"):
        return torch.autocast(device.split(":")[0], dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
    return torch.autocast(device.split(":")[0], enabled=False)


def train_one_epoch(model, criterion, optimizer, scheduler, loader, spec: PreprocessSpec, device: str, epoch: int,
                    args, ema=None, scaler=None, on_step=None, frozen_stages: int = 0, arch: str = "",
                    progress: bool = True, max_steps: int | None = None, start_step: int = 0) -> dict:
    model.train()
    bare = model.module if hasattr(model, "module") else model
    if frozen_stages:
        set_frozen_bn_eval(bare, arch, frozen_stages)
    totals = [0.0, 0.0, 0.0]  # loss sum, correct, count
    t0 = time.perf_counter()
    step = start_step
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", disable=not progress, leave=False, dynamic_ncols=True)
    for images, targets in bar:
        if max_steps is not None and step >= max_steps:
            break
        images = normalize_batch(images.to(device, non_blocking=True), spec)
        if args.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        with autocast_ctx(device, args.amp):
            logits = model(images)
            loss = criterion(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(bare)
        step += 1
        n = images.shape[0]
        totals[0] += loss.item() * n
        totals[1] += (logits.argmax(1) == targets).sum().item()
        totals[2] += n
        rate = totals[2] / (time.perf_counter() - t0)
        bar.set_postfix(loss=f"{totals[0] / totals[2]:.3f}", acc=f"{totals[1] / totals[2]:.3f}", img_s=f"{rate:.1f}")
        if on_step is not None:
            on_step(step, loss.item())
    loss_sum, correct, count = all_reduce_sum(totals)
    elapsed = time.perf_counter() - t0
    return {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1), "images": count,
            "seconds": elapsed, "img_per_s": count / max(elapsed, 1e-9), "step": step}


@torch.inference_mode()
def _predict(model, images_uint8: np.ndarray, spec: PreprocessSpec, device: str, batch_size: int, flips: bool,
             channels_last: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Softmax probabilities of the crops as they are and (``flips``) averaged with their mirror images."""
    model.eval()
    plain, tta = [], []
    for start in range(0, len(images_uint8), batch_size):
        x = torch.from_numpy(np.array(images_uint8[start : start + batch_size])).permute(0, 3, 1, 2)
        x = normalize_batch(x.to(device), spec)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        p = model(x).float().softmax(1)
        plain.append(p.cpu().numpy())
        if flips:
            tta.append(((p + model(torch.flip(x, dims=[3])).float().softmax(1)) / 2).cpu().numpy())
    empty = np.zeros((0, 0), np.float32)
    return (np.concatenate(plain) if plain else empty), ((np.concatenate(tta) if tta else empty) if flips else None)


def predict(model, images_uint8: np.ndarray, spec: PreprocessSpec, device: str, batch_size: int = 64,
            tta: bool = False, channels_last: bool = True) -> np.ndarray:
    """Softmax probabilities for eval crops (N, H, W, 3) uint8 RGB, in order (``tta``: averaged with the mirror)."""
    plain, flipped = _predict(model, images_uint8, spec, device, batch_size, tta, channels_last)
    return flipped if tta else plain


def scores(probs: np.ndarray, labels: np.ndarray) -> dict:
    nll = float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1)).mean())
    return {"top1": topk_accuracy(probs, labels, 1), "top3": topk_accuracy(probs, labels, 3), "nll": nll,
            "n": int(len(labels))}


def evaluate(model, cache: CachedImages, spec: PreprocessSpec, device: str, tta: bool = False,
             channels_last: bool = True) -> dict:
    return scores(predict(model, cache.images, spec, device, tta=tta, channels_last=channels_last), cache.labels)


def evaluate_with_tta(model, cache: CachedImages, spec: PreprocessSpec, device: str,
                      channels_last: bool = True) -> tuple[dict, dict]:
    """Scores without and with flip TTA from one pass over the images (the plain forward is shared)."""
    plain, flipped = _predict(model, cache.images, spec, device, 64, True, channels_last)
    return scores(plain, cache.labels), scores(flipped, cache.labels)


# ----------------------------------------------------------------------------- main

def _param_groups(model: nn.Module, arch: str, lr: float, backbone_mult: float, wd: float) -> list[dict]:
    from trainer.models import head

    head_ids = {id(p) for p in head(model, arch).parameters()}
    groups = {"head_decay": [], "head_no": [], "bb_decay": [], "bb_no": []}
    for p in model.parameters():
        part = "head" if id(p) in head_ids else "bb"
        groups[f"{part}_{'no' if p.ndim <= 1 else 'decay'}"].append(p)
    return [
        {"params": groups["head_decay"], "lr": lr, "weight_decay": wd},
        {"params": groups["head_no"], "lr": lr, "weight_decay": 0.0},
        {"params": groups["bb_decay"], "lr": lr * backbone_mult, "weight_decay": wd},
        {"params": groups["bb_no"], "lr": lr * backbone_mult, "weight_decay": 0.0},
    ]


def _set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _args_to_json(args) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}


def resolve_resume(args) -> argparse.Namespace:
    """``--resume RUN``: the run's saved arguments, with RUN as the output."""
    run = args.resume
    saved = run / "args.json"
    if not saved.is_file():
        raise UserError(f"{saved}: not a training run (args.json missing)")
    data = json.loads(saved.read_text())
    new = get_args_parser().parse_args([])
    for k, v in data.items():
        if k in ("train", "val", "out", "weights", "cache_dir", "resume") and v is not None:
            v = Path(v)
        setattr(new, k, v)
    new.resume, new.out = run, run
    new.no_progress = args.no_progress
    new.reshard = getattr(args, "reshard", False)
    if args.max_steps is not None:
        new.max_steps = args.max_steps
    return new


def elastic_restart() -> int:
    """How many times torchrun has restarted this job's workers (0 outside torchrun)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)


def main(args) -> dict:
    from trainer.sagemaker.env import apply_sagemaker_env

    apply_sagemaker_env(args)  # SM_* variables fill unset options; a no-op outside SageMaker
    if (args.resume is None and args.out is not None and (args.auto_resume or elastic_restart())
            and (Path(args.out) / ckpt.CHECKPOINT).is_file()):
        args.resume = Path(args.out)  # a restarted worker continues from the last checkpoint
    if args.resume is not None:
        args = resolve_resume(args)
    if (args.train is None and not args.shards) or args.out is None:
        raise UserError("train needs --train CSV (or --shards DIR) and --out RUN (or --resume RUN)")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    dist_info: DistInfo = init_distributed(args.device, args.dist_backend, timeout_s=args.dist_timeout,
                                           rdzv_timeout_s=args.rdzv_timeout)
    device = args.device
    if device.startswith("cuda"):
        device = f"cuda:{dist_info.local_rank}"
    if args.amp == "auto":
        args.amp = "bf16" if device.startswith("cuda") else "none"
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = _main(args, dist_info, device)
        if dist_info.is_main and getattr(args, "sagemaker_model_dir", None):
            from trainer.sagemaker.env import publish_outputs

            publish_outputs(args, Path(result["run"]))
        return result
    finally:
        cleanup()


def _main(args, dist_info: DistInfo, device: str) -> dict:
    run = Path(args.out)
    main_proc = dist_info.is_main
    if main_proc:
        run.mkdir(parents=True, exist_ok=True)
    _set_seed(args.seed)

    # data --------------------------------------------------------------
    shard_index = None
    if args.shards:  # streamed tar shards (trainer/shards.py): labels come from their index
        from trainer import shards as shard_data

        shard_index = shard_data.load_index(args.shards)
        train_rows, labels, groups = None, shard_index.labels, shard_index.groups
        train_source = f"{args.shards}/{shard_data.INDEX}"
    else:
        train_rows = read_manifest_items(args.train)
        labels = sorted({r["sku"] for r in train_rows})
        groups = {r["sku"]: r["group"] for r in train_rows if r.get("group")}
        train_source = "the training manifest"
    index = {s: i for i, s in enumerate(labels)}
    val_rows = read_manifest_items(args.val) if args.val else []
    unknown = sorted({r["sku"] for r in val_rows} - set(index))
    if unknown:
        raise DataError(f"{args.val}: SKUs not in {train_source}: {', '.join(unknown[:10])}")
    train_spec, eval_spec = specs_from_args(args)
    cache_dir = args.cache_dir or run.parent / ".cache"
    progress = main_proc and not args.no_progress
    if not main_proc:
        barrier()  # rank 0 decodes first: two processes writing one cache file would race
    train_cache = (build_cache([(r["path"], index[r["sku"]]) for r in train_rows], cache_dir, "train", train_spec,
                               lines=[r["line"] for r in train_rows], desc="decode train") if train_rows else None)
    val_cache = (build_cache([(r["path"], index[r["sku"]]) for r in val_rows], cache_dir, "eval", eval_spec,
                             lines=[r["line"] for r in val_rows], desc="decode val") if val_rows else None)
    if main_proc:
        barrier()
    if main_proc:
        bad = (train_cache.bad if train_cache else []) + (val_cache.bad if val_cache else [])
        quarantine = [{"line": b[0], "path": b[1], "reason": b[2]} for b in bad]
        if shard_index is not None:
            quarantine = shard_index.skipped + quarantine
        _write_json(run / "quarantine.json", quarantine)
        _write_json(run / "labels.json", {"labels": labels, "groups": groups})
    preset = TrainPreset(crop_size=args.img_size, scale=(args.scale_min, 1.0), rotation=args.rotation,
                         vflip=args.vflip, color_jitter=args.color_jitter, hue=args.hue)
    if shard_index is not None:
        dataset = shard_data.ShardStream(
            shard_index, dist_info.rank, dist_info.world_size, args.batch_size, args.workers, args.seed,
            train_spec.resize_size, preset.build(), crop_size=args.img_size, shuffle_buffer=args.shuffle_buffer,
            interpolation=train_spec.interpolation)
        loader = shard_data.ShardLoader(dataset, args.workers, pin_memory=device.startswith("cuda"),
                                        errors_path=run / "shard-errors.jsonl")
    else:
        dataset = CachedDataset(train_cache, preset.build(), seed=args.seed)
        sampler = RankSampler(len(dataset), dist_info.rank, dist_info.world_size, args.batch_size, args.seed)
        loader = make_loader(dataset, sampler, args.batch_size, args.workers, pin_memory=device.startswith("cuda"))

    # model -------------------------------------------------------------
    model = build_model(args.arch, len(labels), pretrained=args.weights)
    freeze = DEFAULT_FREEZE.get(args.arch, 0) if args.freeze is None else args.freeze
    args.freeze = freeze
    freeze_stages(model, args.arch, freeze)
    if main_proc:
        _write_json(run / "args.json", _args_to_json(args))
    model.to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(_param_groups(model, args.arch, args.lr, args.backbone_lr_mult, args.weight_decay))
    steps_per_epoch = len(loader)
    total_steps = args.epochs * steps_per_epoch
    if args.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=max(total_steps, 1),
            pct_start=0.15, div_factor=20, final_div_factor=200)
    else:
        warm = max(1, int(args.warmup_epochs * steps_per_epoch))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (
            1 + math.cos(math.pi * min(1.0, max(0, s - warm) / max(1, total_steps - warm)))))
    scaler = torch.amp.GradScaler("cuda") if args.amp == "fp16" and device.startswith("cuda") else None
    bare = model
    if dist_info.distributed:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dist_info.local_rank] if device.startswith("cuda") else None,
            bucket_cap_mb=args.bucket_cap_mb, gradient_as_bucket_view=True, static_graph=args.static_graph)
    ema = None
    if args.ema:
        ema = torch.optim.swa_utils.AveragedModel(
            bare, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    if shard_index is not None:  # a batch whose every sample was corrupt arrives as one ignored placeholder
        criterion = shard_data.IgnoreEmptyLoss(criterion)
    data_layout = {"world_size": dist_info.world_size, "workers": max(1, args.workers) if args.shards else 0,
                   "batch_size": args.batch_size, "source": "shards" if args.shards else "manifest"}

    # resume ------------------------------------------------------------
    start_epoch, step, best, start_batch = 0, 0, {"top1": -1.0}, 0
    if args.resume is not None and (run / ckpt.CHECKPOINT).is_file():
        state = ckpt.load_checkpoint(run)
        if state["args"]["arch"] != args.arch or state["labels"] != labels:
            raise UserError(f"{run}: checkpoint is for {state['args']['arch']} with {len(state['labels'])} classes; "
                            f"this run is {args.arch} with {len(labels)}")
        # where in the data it stopped: mid-epoch checkpoints (--checkpoint-every) carry a batch index
        pos = state.get("data") or {"epoch": state["epoch"] + 1, "batch": 0, "world_size": state.get("world_size", 1)}
        saved = {k: pos.get(k, data_layout[k]) for k in data_layout}
        reshard = saved != data_layout
        if reshard:  # another world size / batch / worker count splits the data differently
            what = ", ".join(f"{k} {saved[k]} → {data_layout[k]}" for k in data_layout if saved[k] != data_layout[k])
            if pos["batch"] and not args.reshard:
                raise UserError(f"{run}: the checkpoint stopped inside epoch {pos['epoch']} (batch {pos['batch']}) "
                                f"with another data layout ({what}); relaunch with the same layout to continue "
                                f"exactly, or pass --reshard to restart epoch {pos['epoch']} from its first batch")
            log.warning("%s: resharding (%s): epoch %d starts at its first batch; the LR schedule is re-based on "
                        "%d steps per epoch", run, what, pos["epoch"], steps_per_epoch)
        bare.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if ema is not None and state.get("ema"):
            ema.load_state_dict(state["ema"])
        start_epoch, step, best = pos["epoch"], state["step"], state["best"]
        if reshard:
            start_batch, step = 0, pos["epoch"] * steps_per_epoch
            scheduler.last_epoch = step - 1
            with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": intended here
                warnings.simplefilter("ignore", UserWarning)
                scheduler.step()  # the fresh schedule, positioned at this layout's step
        else:
            start_batch = pos["batch"]
            scheduler.load_state_dict(state["scheduler"])
        ckpt.set_rng_state(state["rng"])
        if main_proc:
            print(f"resumed {run} at epoch {start_epoch} batch {start_batch} (step {step})", flush=True)
    sample_log = None
    if args.sample_log:
        from trainer.shards import SampleLog

        sample_log = SampleLog(run, dist_info.rank, keep_until_step=step)

    def checkpoint_state(epoch_done: int, next_epoch: int, next_batch: int) -> dict:
        return {"model": bare.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                "ema": ema.state_dict() if ema is not None else None, "epoch": epoch_done, "step": step,
                "args": _args_to_json(args), "labels": labels, "best": best, "rng": ckpt.rng_state(),
                "world_size": dist_info.world_size,
                "data": {"epoch": next_epoch, "batch": next_batch, **data_layout}}

    # epochs ------------------------------------------------------------
    writer = None
    if main_proc:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(run / "tb"))
        except ImportError:  # tensorboard is optional at run time
            writer = None
    metrics_path = run / "metrics.jsonl"
    ep_bar = tqdm(range(start_epoch, args.epochs), desc="train", unit="epoch", disable=not progress,
                  initial=start_epoch, total=args.epochs, dynamic_ncols=True)
    last = {}
    for epoch in ep_bar:
        if args.unfreeze_at is not None and epoch >= args.unfreeze_at and freeze:
            for p in bare.parameters():
                p.requires_grad_(True)
            freeze = 0
        first_batch = start_batch if epoch == start_epoch else 0
        loader.set_epoch(epoch, first_batch)
        dataset.epoch = epoch
        epoch_base = step - first_batch  # global step before this epoch's batch 0

        def on_step(step_now: int, loss: float, epoch=epoch, epoch_base=epoch_base) -> None:
            nonlocal step
            step = step_now  # what checkpoint_state saves
            if sample_log is not None:
                sample_log.record(epoch, step_now, step_now - epoch_base - 1, loader.last_ids)
            done = step_now - epoch_base
            if (main_proc and args.checkpoint_every and step_now % args.checkpoint_every == 0
                    and done < steps_per_epoch):
                ckpt.save_checkpoint(checkpoint_state(epoch - 1, epoch, done), run)

        stats = train_one_epoch(model, criterion, optimizer, scheduler, loader, train_spec, device, epoch, args,
                                ema=ema, scaler=scaler, frozen_stages=freeze, arch=args.arch, progress=progress,
                                max_steps=args.max_steps, start_step=step, on_step=on_step)
        step = stats["step"]
        eval_model = ema.module if ema is not None else bare
        record = {"epoch": epoch, "step": step, "lr": scheduler.get_last_lr()[0],
                  **{f"train_{k}": v for k, v in stats.items() if k != "step"}}
        if val_cache is not None and main_proc:
            if args.tta:
                val, val_tta = evaluate_with_tta(eval_model, val_cache, eval_spec, device, channels_last=args.channels_last)
            else:
                val = evaluate(eval_model, val_cache, eval_spec, device, channels_last=args.channels_last)
            record.update({f"val_{k}": v for k, v in val.items()})
            if args.tta:
                record["val_top1_tta"] = val_tta["top1"]
            if val["top1"] > best["top1"]:
                best = {"top1": val["top1"], "top3": val["top3"], "epoch": epoch}
                save_weights(eval_model, run / "best.safetensors")
                _write_json(run / "best.json", {**best, "preprocess": eval_spec.to_json(), "arch": args.arch})
        elif main_proc and val_cache is None:
            save_weights(eval_model, run / "best.safetensors")
            best = {"top1": float("nan"), "epoch": epoch}
            _write_json(run / "best.json", {**best, "preprocess": eval_spec.to_json(), "arch": args.arch})
        if main_proc:
            done = step - epoch_base  # fewer than steps_per_epoch when --max-steps cut the epoch short
            ckpt.save_checkpoint(checkpoint_state(epoch, epoch + 1, 0) if done >= steps_per_epoch
                                 else checkpoint_state(epoch - 1, epoch, done), run)
            with open(metrics_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            if writer is not None:
                for k, v in record.items():
                    if isinstance(v, (int, float)) and k != "epoch":
                        writer.add_scalar(k, v, epoch)
                writer.flush()
            ep_bar.set_postfix(loss=f"{stats['loss']:.3f}", val=f"{record.get('val_top1', float('nan')):.3f}",
                               img_s=f"{stats['img_per_s']:.1f}")
            if not progress:
                print(json.dumps(record), flush=True)
        last = record
        if args.max_steps is not None and step >= args.max_steps:
            break
    if writer is not None:
        writer.close()
    if sample_log is not None:
        sample_log.close()
    return {"last": last, "best": best, "run": str(run)}


def save_weights(model: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k != "n_averaged"}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path)
