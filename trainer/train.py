"""Fine-tune a backbone on store photos: ``checkout train`` (and ``python -m trainer``, torchrun-ready).

Shape follows torchvision's references: :func:`main` resolves the options and joins the process group, then
:func:`run_training` calls, in this order, :func:`load_data` → :func:`build_training` (model → optimizer/scheduler
→ DDP wrapper keeping the bare model → EMA) → :func:`resume` → :func:`train_epochs`. :func:`train_one_epoch` and
:func:`evaluate` are plain functions anyone can call. Both data pipelines (decoded cache, streamed shards) are a
:class:`trainer.training_data.TrainingData`, so there is one code path.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from kiosk.bundle_format.atomic import AtomicFile, atomic_write
from kiosk.bundle_format.preprocess import PreprocessSpec
from kiosk.errors import UserError
from trainer import allocator, blend_outliers, mixing, run_files, swa
from trainer import checkpoint as ckpt
from trainer.data.overlap import find_overlap
from trainer.distill import FeatureDistillation, with_distillation
from trainer.distributed import (
    DistInfo,
    agree_across_ranks,
    all_reduce_sum,
    cleanup,
    init_distributed,
    rank_zero_first,
)
from trainer.imagecache import CachedImages, build_cache
from trainer.logit_norm import with_logit_norm
from trainer.margin import with_margin
from trainer.metrics import topk_accuracy
from trainer.models import (
    DEFAULT_FREEZE,
    build_model,
    freeze_stages,
    hold_rows,
    keep_depthwise_fp32,
    normalisation,
    set_frozen_bn_eval,
)
from trainer.options import get_args_parser
from trainer.presets import TrainPreset, normalize_batch
from trainer.sample_log import SampleLog
from trainer.training_data import TrainingData, TrainingSource, read_manifest_items

log = logging.getLogger(__name__)

#: the target of a placeholder sample (trainer.shards.stream.IGNORE, nn.CrossEntropyLoss's ignore_index)
IGNORE_TARGET = -100


# ----------------------------------------------------------------------------- data

def specs_from_args(args) -> tuple[PreprocessSpec, PreprocessSpec]:
    # the cache keeps room for the largest training crop (--final-size), random-resized crops are taken from it
    train_resize = args.train_resize or round(max(args.img_size, getattr(args, "final_size", None) or 0) / 0.875)
    eval_size = args.eval_size or args.img_size
    eval_resize = args.eval_resize or round(eval_size / 0.875)
    interpolation = getattr(args, "interpolation", "area")  # checkpoints written before the option existed
    mean, std = normalisation(args.arch)  # what the architecture's ImageNet weights expect
    return (PreprocessSpec(resize_size=train_resize, crop_size=args.img_size, mean=mean, std=std,
                           interpolation=interpolation),
            PreprocessSpec(resize_size=eval_resize, crop_size=eval_size, mean=mean, std=std,
                           interpolation=interpolation))


def train_preset(args, final: bool = False) -> TrainPreset:
    """The training crops' augmentation; ``final``: at ``--final-size``, for the last ``--final-epochs``."""
    return TrainPreset(crop_size=args.final_size if final else args.img_size, scale=(args.scale_min, 1.0),
                       rotation=args.rotation, vflip=args.vflip, color_jitter=args.color_jitter, hue=args.hue)


def load_data(args, dist_info: DistInfo, run: Path, device: str) -> tuple[TrainingData, CachedImages | None]:
    """This rank's training data and the validation crops; the main process writes quarantine.json and labels.json.

    Every rank reads the classes and checks the validation SKUs against them first (cheap); then rank 0 decodes
    what needs decoding while the others wait, and they read the caches it wrote.
    """
    train_spec, eval_spec = specs_from_args(args)
    try:
        source = TrainingSource.from_args(args)
        val_rows = read_manifest_items(args.val) if args.val else []
        if args.val and not val_rows:
            raise UserError(f"--val {args.val}: no photos (only a header?); give a manifest with photos, or no --val")
        source.check_known(val_rows, args.val)
        facts = rank_facts(args, source) if dist_info.distributed else {}
    except UserError as exc:  # the other ranks fail at once too, instead of waiting in the next collective
        if not dist_info.distributed:
            raise
        facts = {"error": str(exc)}
    agree_across_ranks(dist_info, facts, "what they train")
    if getattr(args, "resume", None) is not None:
        check_resumed_labels(run, source.labels)
    preset = train_preset(args)
    cache_dir = args.cache_dir or run.parent / ".cache"
    index = {s: i for i, s in enumerate(source.labels)}
    with rank_zero_first(dist_info):  # two processes writing one cache file would race
        data = source.open(args, dist_info.rank, dist_info.world_size, train_spec, preset.build(), cache_dir,
                           pin_memory=device.startswith("cuda"), errors_path=shard_errors_path(run, dist_info.rank))
        val = (build_cache([(r["path"], index[r["sku"]]) for r in val_rows], cache_dir, "eval", eval_spec,
                           lines=[r["line"] for r in val_rows], desc="decode val") if val_rows else None)
    if dist_info.is_main:
        val_bad = [{"line": line, "path": path, "reason": why} for line, path, why in (val.bad if val else [])]
        write_json(run / "quarantine.json", data.skipped + val_bad)
        write_json(run / "labels.json", {"labels": data.labels, "groups": data.groups})
    return data, val


def shard_errors_path(run: Path, rank: int) -> Path:
    """Where rank ``rank`` reports its unreadable shard members: ``shard-errors.jsonl`` for rank 0, and a file of
    its own for every other rank (each reads other shards; several writers appending to one file would interleave)."""
    return run / ("shard-errors.jsonl" if rank == 0 else f"shard-errors.rank{rank}.jsonl")


def rank_facts(args, source: TrainingSource) -> dict:
    """What every rank of a job must share, exchanged right after joining (:func:`agree_across_ranks`): the classes
    in order, the manifests' contents (sha256, not their paths) or the shard index, and the checkpoint resumed from
    (``--auto-resume`` decides it per node from its own ``--out``)."""
    from kiosk.bundle_format.bundle import sha256_file

    digests = manifest_digests(args)
    facts = {"SKUs": list(source.labels), "SKU groups": sorted(source.groups.items()),
             "train manifests (sha256)": [d[1] for d in digests["train"]],
             "val manifest (sha256)": [d[1] for d in digests["val"]],
             "_where": ", ".join([p for p, _ in digests["train"]] or [str(args.shards)])}
    if source.index is not None:
        facts["shard index (sha256)"] = sha256_file(Path(args.shards) / "index.json") if (
            Path(args.shards) / "index.json").is_file() else str(len(source.index.labels))
    resumed = getattr(args, "resume", None)
    facts["resumes from"] = "nothing (starts at epoch 0)"
    if resumed is not None and (Path(resumed) / ckpt.CHECKPOINT).is_file():
        state = ckpt.load_checkpoint(Path(resumed))
        pos = state.get("data") or {"epoch": state["epoch"] + 1, "batch": 0}
        facts["resumes from"] = (f"a checkpoint at epoch {pos['epoch']} batch {pos['batch']} step {state['step']} "
                                 f"(sha256 {sha256_file(Path(resumed) / ckpt.CHECKPOINT)[:12]})")
    return facts


# ----------------------------------------------------------------------------- loops

def autocast_ctx(device: str, amp: str):
    if amp in ("bf16", "fp16"):
        return torch.autocast(device.split(":")[0], dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
    return torch.autocast(device.split(":")[0], enabled=False)



def train_one_epoch(model, criterion, optimizer, scheduler, loader, spec: PreprocessSpec, device: str, epoch: int,
                    args, ema=None, scaler=None, on_step=None, frozen_stages: int = 0, arch: str = "",
                    progress: bool = True, max_steps: int | None = None, start_step: int = 0,
                    before_step=None) -> dict:
    """One pass over ``loader``; loss, accuracy and image count are summed over all ranks, on the device the
    process group's backend reduces on (the model's ``device`` under NCCL). Placeholder samples (target
    ``IGNORE_TARGET``: unreadable shard members) count in none of them; an epoch of batches without one real photo on
    any rank raises :class:`UserError` on every rank (nothing was trained)."""
    model.train()
    bare = model.module if hasattr(model, "module") else model
    if frozen_stages:
        set_frozen_bn_eval(bare, arch, frozen_stages)
    totals = [0.0, 0.0, 0.0, 0.0]  # loss sum, correct, photos (placeholders left out), batches
    mix = mixing.from_args(args, epoch)
    t0 = time.perf_counter()
    step = start_step
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", disable=None if progress else True, leave=False,
               dynamic_ncols=True)  # None: quiet when stderr is not a terminal (logs)
    for images, targets in bar:
        if max_steps is not None and step >= max_steps:
            break
        if before_step is not None:  # e.g. the sample log: written before the step, so a kill can't lose a done one
            before_step(step + 1)
        loss, logits, targets = train_step(model, criterion, optimizer, scheduler, scaler, images, targets, spec,
                                           device, args, mix)
        if ema is not None:
            ema.update_parameters(bare)
        step += 1
        valid = targets != IGNORE_TARGET  # a placeholder for unreadable shard members trains nothing: not counted
        n = int(valid.sum().item())
        totals[0] += loss.item() * n
        totals[1] += ((logits.argmax(1) == targets) & valid).sum().item()
        totals[2] += n
        totals[3] += 1
        rate = totals[2] / (time.perf_counter() - t0)
        seen = max(totals[2], 1)
        bar.set_postfix(loss=f"{totals[0] / seen:.3f}", acc=f"{totals[1] / seen:.3f}", img_s=f"{rate:.1f}")
        if on_step is not None:
            on_step(step, loss.item())
    loss_sum, correct, count, batches = all_reduce_sum(totals, device)
    if batches and not count:
        raise UserError(f"epoch {epoch}: {int(batches)} batches but not one readable photo in them on any rank (every "
                        "sample unreadable: see the run's shard-errors.jsonl); nothing was trained, so no weights "
                        "are kept — fix or re-shard the data")
    elapsed = time.perf_counter() - t0
    return {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1), "images": count,
            "seconds": elapsed, "img_per_s": count / max(elapsed, 1e-9), "step": step}


def train_step(model, criterion, optimizer, scheduler, scaler, images, targets, spec: PreprocessSpec, device: str,
               args, mix: mixing.BatchMix | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimizer and schedule step on a uint8 batch, MixUp/CutMix'ed by ``mix``: (loss, logits, targets on the
    device)."""
    images = normalize_batch(images.to(device, non_blocking=True), spec)
    targets = targets.to(device, non_blocking=True)
    mixed = mix(images, targets) if mix is not None else mixing.Mixed(images, targets, 1.0)
    images = mixed.images
    n, weight = len(images), getattr(args, "blend_outliers", 0.0)
    if weight:  # rows n… are the blends (none for a batch of one SKU)
        images = torch.cat([images, blend_outliers.blended(images, targets, getattr(args, "blend_share", 0.5))])
    if args.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    with autocast_ctx(device, args.amp):
        logits = model(images)
        loss = mixed.loss(criterion, logits[:n], targets)
        if weight:
            loss = loss + weight * blend_outliers.uniform_loss(logits[n:])
        logits = logits[:n]
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    scheduler.step()
    return loss, logits, targets if mixed.lam >= 0.5 else mixed.other  # accuracy: the image covering most

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
            "n": len(labels)}


def evaluate(model, cache: CachedImages, spec: PreprocessSpec, device: str, tta: bool = False,
             channels_last: bool = True) -> dict:
    return scores(predict(model, cache.images, spec, device, tta=tta, channels_last=channels_last), cache.labels)


def evaluate_with_tta(model, cache: CachedImages, spec: PreprocessSpec, device: str,
                      channels_last: bool = True) -> tuple[dict, dict]:
    """Scores without and with flip TTA from one pass over the images (the plain forward is shared)."""
    plain, flipped = _predict(model, cache.images, spec, device, 64, True, channels_last)
    return scores(plain, cache.labels), scores(flipped, cache.labels)


# ----------------------------------------------------------------------------- options and main

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


def write_json(path: Path, data) -> None:
    atomic_write(path, json.dumps(data, indent=2, default=str))


def args_to_json(args) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}


#: options a resumed run may take from the command line (where and how it runs, not what it trains)
RESUME_MAY_CHANGE = ("resume", "out", "max_steps", "no_progress", "reshard", "device", "threads", "dist_backend",
                     "dist_timeout", "rdzv_timeout", "auto_resume", "nproc_per_node", "func", "cache_dir",
                     "sample_log")
_PATHS = ("train", "val", "out", "weights", "cache_dir", "resume")


def resolve_resume(args, automatic: bool = False) -> argparse.Namespace:
    """``--resume RUN``: the run's saved arguments, with RUN as the output. Refused, before anything is written: a
    run with no checkpoint, a training or validation manifest changed since, an option that differs from the run's
    (a resumed run keeps its recipe; only :data:`RESUME_MAY_CHANGE` may differ), a ``--max-steps`` already reached.
    ``automatic``: ``--auto-resume`` or a torchrun restart of the same command."""
    run = Path(args.resume)
    saved = run / "args.json"
    if not saved.is_file():
        raise UserError(f"{saved}: not a training run (args.json missing)")
    data = run_files.read_json(saved)
    if not (run / ckpt.CHECKPOINT).is_file():
        raise UserError(f"{run / ckpt.CHECKPOINT}: no checkpoint to resume from (the run stopped before its first "
                        "checkpoint); train it again into a new --out")
    state = ckpt.load_checkpoint(run)
    if state["args"].get("arch") != data.get("arch"):
        raise UserError(f"{saved}: arch {data.get('arch')!r}, but the checkpoint is a {state['args'].get('arch')} "
                        "(damaged, or two runs mixed?)")
    defaults = get_args_parser().parse_args([])
    if not automatic:
        _refuse_changed_options(run, args, data, defaults)
    new = get_args_parser().parse_args([])
    for k, v in data.items():
        if k in _PATHS and v is not None:
            v = Path(v)
        setattr(new, k, v)
    new.resume, new.out = run, run
    new.no_progress = args.no_progress
    new.reshard = getattr(args, "reshard", False)
    for k in ("device", "threads", "dist_backend", "dist_timeout", "rdzv_timeout", "cache_dir", "sample_log"):
        if getattr(args, k, None) != getattr(defaults, k, None):
            setattr(new, k, getattr(args, k))
    _check_manifests(run, state.get("manifests"), new)
    _resume_max_steps(run, new, args.max_steps, int(state.get("step", 0)), automatic)
    return new


def _refuse_changed_options(run: Path, args, saved: dict, defaults) -> None:
    """One line naming every option given with ``--resume`` that differs from the run's own."""
    def norm(v):
        return [norm(x) for x in v] if isinstance(v, (list, tuple)) else str(v) if isinstance(v, Path) else v

    changed = [k for k, v in vars(args).items()
               if k not in RESUME_MAY_CHANGE and hasattr(defaults, k) and norm(v) != norm(getattr(defaults, k))
               and norm(v) != norm(saved.get(k, getattr(defaults, k)))]
    if changed:
        given = ", ".join(f"--{k.replace('_', '-')} {norm(getattr(args, k))} (run: {saved.get(k)})" for k in changed)
        raise UserError(f"--resume {run}: {given}: a resumed run keeps its own options (only --max-steps, --device, "
                        "--threads and the like may change); to train with others, start a new run with --out")


def _check_manifests(run: Path, recorded: dict | None, args) -> None:
    """The manifests the checkpoint was trained on (their sha256) are still what the options name."""
    if not recorded:
        return  # a checkpoint from before they were recorded
    now = manifest_digests(args)
    for role in ("train", "val"):
        before, after = dict(recorded.get(role) or []), dict(now.get(role) or [])
        for path, digest in before.items():
            if after.get(path) != digest:
                why = "is gone" if not Path(path).is_file() else "has changed since"
                raise UserError(f"{path}: the {role} manifest of {run} {why} its checkpoint was written; resuming "
                                "would mix two trainings — restore it, or train a new run with --out")


def manifest_digests(args) -> dict:
    """``{"train": [[path, sha256], …], "val": [[path, sha256]]}`` of the manifests the run reads (none for
    shards), recorded in every checkpoint."""
    from kiosk.bundle_format.bundle import sha256_file

    def digest(path) -> list:
        return [str(path), sha256_file(Path(path)) if Path(path).is_file() else None]

    sources = getattr(args, "train_sources", None) or ([[str(args.train), 1.0]] if args.train else [])
    return {"train": [digest(p) for p, _w in sources], "val": [digest(args.val)] if args.val else []}


def _resume_max_steps(run: Path, new, given: int | None, step: int, automatic: bool) -> None:
    """A new ``--max-steps`` replaces the saved one (and must lie ahead); a saved one already reached is dropped, so a
    run cut short by ``--max-steps`` resumes to its ``--epochs``."""
    if given is not None:
        if given <= step and not automatic:
            raise UserError(f"--max-steps {given}: {run} is already at step {step}; give a larger one")
        new.max_steps = given
    elif new.max_steps is not None and new.max_steps <= step:
        new.max_steps = None


def check_resumed_labels(run: Path, labels: list[str]) -> None:
    """Before a resumed run writes anything: its data has the SKUs it was trained on (labels.json)."""
    path = run / "labels.json"
    if path.is_file():
        check_resumed_labels_against(run, run_files.read_json(path).get("labels") or [], labels)


def check_resumed_labels_against(run: Path, before: list[str], labels: list[str]) -> None:
    """One line naming the SKUs in which ``labels`` (this data's) differ from ``before`` (the run's)."""
    if before == labels:
        return
    gone, new = [s for s in before if s not in labels], [s for s in labels if s not in before]
    what = "; ".join(f"{name}: {', '.join(skus[:5])}{' …' if len(skus) > 5 else ''}"
                     for name, skus in (("no longer in the data", gone), ("new in the data", new)) if skus)
    what = what or "the same SKUs in another order"
    raise UserError(f"--resume {run}: the training data's SKUs differ from the run's ({what}); resume with the "
                    "run's own data, or train a new run with --out")


def refuse_reused_out(args) -> None:
    """A new training may not write into a folder that already holds a run (its files would mix with this one's):
    ``--resume`` continues it; ``--auto-resume`` and a torchrun restart may start it afresh."""
    if args.resume is not None or args.out is None or args.auto_resume or elastic_restart():
        return
    found = run_files.holds_run(Path(args.out))
    if found:
        raise UserError(f"--out {args.out}: already holds a training run ({found}); pass --resume {args.out} to "
                        "continue it, or choose a new --out (or remove the old run)")


def elastic_restart() -> int:
    """How many times torchrun has restarted this job's workers (0 outside torchrun)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)


def resolve_args(args) -> argparse.Namespace:
    """The options to train with: SageMaker's variables applied, a restarted or ``--resume`` run's saved options
    taken up, the data and run folder checked, the device chosen."""
    from trainer.sagemaker.env import apply_sagemaker_env

    apply_sagemaker_env(args)  # SM_* variables fill unset options; a no-op outside SageMaker
    if (args.resume is None and args.out is not None and (args.auto_resume or elastic_restart())
            and (Path(args.out) / ckpt.CHECKPOINT).is_file()):
        args.resume = Path(args.out)  # a restarted worker continues from the last checkpoint
    automatic = args.resume is not None and args.resume == Path(args.out or "") and (
        args.auto_resume or elastic_restart())
    if args.resume is not None:
        args = resolve_resume(args, automatic=automatic)
    refuse_reused_out(args)
    if (args.train is None and not args.shards) or args.out is None:
        raise UserError("train needs --train CSV (or --shards DIR) and --out RUN (or --resume RUN)")
    sources = getattr(args, "train_sources", None) or ([[str(args.train), 1.0]] if args.train else [])
    overlap = find_overlap(args.val, [p for p, _w in sources]) if args.val else None
    if overlap is not None:
        raise UserError(f"{overlap.text('--val', '--train')}; validation on the training photos measures nothing — "
                        "give photos held back from training (or no --val)")
    if getattr(args, "final_size", None) and args.shards:
        raise UserError("--final-size: trains from --train's decoded cache, not from --shards")
    if getattr(args, "class_balance", None) and args.shards:
        raise UserError("--class-balance: weighs --train manifests' rows; --shards stream without per-SKU counts")
    if getattr(args, "hold_old_rows", None) and not getattr(args, "init_weights", None):
        raise UserError("--hold-old-rows: only with --incremental (a training from ImageNet weights has no old SKUs' "
                        "rows to hold)")
    if getattr(args, "margin", 0.0) and getattr(args, "head", "linear") != "cosine":
        raise UserError(f"--margin {args.margin:g}: only with --head cosine (the margin is on the cosine between an "
                        "embedding and its SKU's row)")
    if getattr(args, "head_only", False):
        raise UserError("--head-only: only with --incremental (it refits a base run's classifier)")
    if getattr(args, "distill", None) and not getattr(args, "init_weights", None):
        raise UserError(f"--distill {args.distill:g}: only with --incremental (the term keeps the base network's "
                        "embeddings; a training from ImageNet weights has no base)")
    swa.check_args(args)
    try:
        mixing.from_args(args, 0)
    except ValueError as exc:
        raise UserError(f"--mixup/--cutmix/--mix-prob: {exc}") from None
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def main(args) -> dict:
    args = resolve_args(args)
    dist_info: DistInfo = init_distributed(args.device, args.dist_backend, timeout_s=args.dist_timeout,
                                           rdzv_timeout_s=args.rdzv_timeout)
    device = args.device
    if device.startswith("cuda"):
        device = f"cuda:{dist_info.local_rank}"
    if args.amp == "auto":
        args.amp = "bf16" if device.startswith("cuda") else "none"
    if args.threads:
        torch.set_num_threads(args.threads)
    allocator.keep_freed_memory()  # a step reuses the last step's pages (trainer/allocator.py)
    try:
        result = {**run_training(args, dist_info, device), "main": dist_info.is_main}  # who prints the summary
        if dist_info.is_main and getattr(args, "sagemaker_model_dir", None):
            from trainer.sagemaker.env import publish_outputs

            publish_outputs(args, Path(result["run"]))
        return result
    finally:
        cleanup()


def run_training(args, dist_info: DistInfo, device: str) -> dict:
    """data → model, optimizer, schedule, DDP, EMA → resume → epochs."""
    run = Path(args.out)
    if not dist_info.is_main:
        return _run_training(args, dist_info, device, run)
    with run_files.run_lock(run):  # one writer: a second training into this folder is refused
        refuse_reused_out(args)  # again, now that it is held
        return _run_training(args, dist_info, device, run)


def _run_training(args, dist_info: DistInfo, device: str, run: Path) -> dict:
    _set_seed(args.seed)
    data, val = load_data(args, dist_info, run, device)
    t = build_training(args, dist_info, device, run, data, val)
    resume(t)
    if dist_info.is_main:
        note_machine(t)
    result = train_epochs(t)
    if dist_info.is_main:
        keep_exemplars(t)
    return result


def note_machine(t: Training) -> None:
    """Record the machine in ``RUN/machine.json`` (:mod:`trainer.machine`); a resume on another one says so."""
    from trainer import machine

    changed = machine.record(t.run, t.device, t.start_epoch, write_json)
    if changed:
        print(f"note: {t.run} resumes on another machine than it ran on ({'; '.join(changed)}); from epoch "
              f"{t.start_epoch} its numbers will not match a run on one machine bit for bit", flush=True)


def keep_exemplars(t: Training) -> None:
    """Choose and store the run's replay exemplars (``--exemplars`` per SKU, :mod:`trainer.exemplars`) with the
    weights the run keeps; a run streamed from shards has no manifest rows to choose from."""
    from trainer.exemplars import store_exemplars

    per_sku = getattr(t.args, "exemplars", 0) or 0
    if per_sku <= 0 or not t.args.train or not (t.run / "best.safetensors").is_file():
        return
    from safetensors.torch import load_file

    model = build_model(t.args.arch, len(t.data.labels), head=getattr(t.args, "head", "linear"))
    model.load_state_dict(load_file(str(t.run / "best.safetensors")))
    sources = getattr(t.args, "train_sources", None) or [[str(t.args.train), 1.0]]  # every --train manifest
    rows = [r for path, _weight in sources for r in read_manifest_items(Path(path))]
    store_exemplars(model.to(t.device).eval(), rows, t.eval_spec, t.run, t.args.cache_dir or t.run.parent / ".cache",
                    device=t.device, per_sku=per_sku)


# ----------------------------------------------------------------------------- model, optimizer, DDP

@dataclass
class Training:
    """What :func:`build_training` makes and the epoch loop advances; :meth:`checkpoint` is what a checkpoint holds."""

    args: argparse.Namespace
    run: Path
    dist: DistInfo
    device: str
    data: TrainingData
    val: CachedImages | None  # the validation crops
    train_spec: PreprocessSpec
    eval_spec: PreprocessSpec
    model: nn.Module  # what the forward pass runs: the DDP wrapper when there are several processes
    bare: nn.Module  # the model itself: what is saved, evaluated and averaged
    criterion: object
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    ema: torch.optim.swa_utils.AveragedModel | None
    freeze: int  # low stages still frozen (0 once --unfreeze-at is reached)
    steps_per_epoch: int
    step: int = 0  # optimizer steps taken
    best: dict = field(default_factory=lambda: {"top1": -1.0})
    start_epoch: int = 0
    start_batch: int = 0  # first batch of start_epoch (resumed mid-epoch)

    @property
    def progress(self) -> bool:
        return self.dist.is_main and not self.args.no_progress

    def checkpoint(self, epoch_done: int, next_epoch: int, next_batch: int) -> dict:
        return {"model": self.bare.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict() if self.scaler else None,
                "ema": self.ema.state_dict() if self.ema is not None else None, "epoch": epoch_done,
                "step": self.step, "args": args_to_json(self.args), "labels": self.data.labels, "best": self.best,
                "rng": ckpt.rng_state(), "world_size": self.dist.world_size, "manifests": manifest_digests(self.args),
                "data": {"epoch": next_epoch, "batch": next_batch, **self.data.layout}}


def build_training(args, dist_info: DistInfo, device: str, run: Path, data: TrainingData,
                   val: CachedImages | None) -> Training:
    model = build_model_for(args, len(data.labels), device)
    if dist_info.is_main:
        write_json(run / "args.json", args_to_json(args))  # with --freeze resolved
    steps_per_epoch = len(data)
    optimizer = torch.optim.AdamW(_param_groups(model, args.arch, args.lr, args.backbone_lr_mult, args.weight_decay))
    scheduler = make_scheduler(args, optimizer, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if args.amp == "fp16" and device.startswith("cuda") else None
    wrapped = wrap_ddp(model, args, dist_info, device)
    ema = swa.averaged(model) if swa.swa_epochs(args) else None
    if args.ema:
        ema = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True)
    criterion = data.criterion(nn.CrossEntropyLoss(label_smoothing=args.label_smoothing))
    criterion = with_logit_norm(with_margin(criterion, getattr(args, "margin", 0.0), model),
                                getattr(args, "logit_norm", 0.0))
    criterion = with_distillation(criterion, distillation_for(args, model))
    train_spec, eval_spec = specs_from_args(args)
    return Training(args=args, run=run, dist=dist_info, device=device, data=data, val=val, train_spec=train_spec,
                    eval_spec=eval_spec, model=wrapped, bare=model, criterion=criterion, optimizer=optimizer,
                    scheduler=scheduler, scaler=scaler, ema=ema, freeze=args.freeze, steps_per_epoch=steps_per_epoch)


def distillation_for(args, model: nn.Module) -> FeatureDistillation | None:
    """An incremental run's less-forget term (``--distill``, :mod:`trainer.distill`): the teacher is ``model`` as
    built, i.e. the base network (``--init-weights``) before any step or resume."""
    weight = float(getattr(args, "distill", None) or 0.0)
    if not weight:
        return None
    return FeatureDistillation(model, args.arch, weight)


def build_model_for(args, num_classes: int, device: str) -> nn.Module:
    """The network on ``device`` with its low stages frozen (``args.freeze`` resolved to the architecture's default)."""
    model = build_model(args.arch, num_classes, pretrained=args.weights, head=getattr(args, "head", "linear"))
    if getattr(args, "init_weights", None):  # an incremental retrain: the base network, its head grown
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(args.init_weights)))
    if getattr(args, "hold_rows", None):  # an incremental retrain's old SKUs (--hold-old-rows)
        hold_rows(model, args.hold_rows)
    args.freeze = DEFAULT_FREEZE.get(args.arch, 0) if args.freeze is None else args.freeze
    freeze_stages(model, args.arch, args.freeze)
    if args.amp == "bf16" and device == "cpu":
        keep_depthwise_fp32(model)
    model.to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def make_scheduler(args, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """Stepped once per batch: one-cycle (the recipe) or linear warm-up then cosine."""
    total_steps = swa.main_epochs(args) * steps_per_epoch
    if args.schedule == "onecycle":
        main = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=max(total_steps, 1),
            pct_start=0.15, div_factor=20, final_div_factor=200)
    else:
        warm = max(1, int(args.warmup_epochs * steps_per_epoch))
        main = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (
            1 + math.cos(math.pi * min(1.0, max(0, s - warm) / max(1, total_steps - warm)))))
    if swa.swa_epochs(args):
        return swa.HoldAfter(main, optimizer, total_steps, args.swa_lr_factor)
    return main


def wrap_ddp(model: nn.Module, args, dist_info: DistInfo, device: str) -> nn.Module:
    """The model as the forward pass runs it: wrapped in DDP when there are several processes."""
    if not dist_info.distributed:
        return model
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[dist_info.local_rank] if device.startswith("cuda") else None,
        bucket_cap_mb=args.bucket_cap_mb, gradient_as_bucket_view=True, static_graph=args.static_graph)


# ----------------------------------------------------------------------------- resume

def resume(t: Training) -> None:
    """Continue RUN from its checkpoint (``--resume``): weights, optimizer, schedule, RNG, position in the data."""
    if t.args.resume is None:
        return
    state = ckpt.load_checkpoint(t.run)
    if state["args"]["arch"] != t.args.arch:
        raise UserError(f"{t.run / ckpt.CHECKPOINT}: the checkpoint is a {state['args']['arch']}; this run is a "
                        f"{t.args.arch}")
    if state["labels"] != t.data.labels:
        check_resumed_labels_against(t.run, state["labels"], t.data.labels)
    pos, reshard = data_position(t, state)
    t.bare.load_state_dict(state["model"])
    t.optimizer.load_state_dict(state["optimizer"])
    if t.scaler is not None and state.get("scaler"):
        t.scaler.load_state_dict(state["scaler"])
    if t.ema is not None and state.get("ema"):
        t.ema.load_state_dict(state["ema"])
    t.start_epoch, t.step, t.best = pos["epoch"], state["step"], state["best"]
    if reshard:  # the schedule of this layout, positioned at the first batch of the epoch
        t.start_batch, t.step = 0, pos["epoch"] * t.steps_per_epoch
        t.scheduler.last_epoch = t.step - 1
        with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": intended here
            warnings.simplefilter("ignore", UserWarning)
            t.scheduler.step()
    else:
        t.start_batch = pos["batch"]
        t.scheduler.load_state_dict(state["scheduler"])
    ckpt.set_rng_state(state["rng"])
    if t.dist.is_main:
        print(f"resumed {t.run} at epoch {t.start_epoch} batch {t.start_batch} (step {t.step})", flush=True)


def data_position(t: Training, state: dict) -> tuple[dict, bool]:
    """Where in the data the checkpoint stopped, and whether this run splits the data differently (reshard)."""
    layout = t.data.layout
    # mid-epoch checkpoints (--checkpoint-every) carry a batch index
    pos = state.get("data") or {"epoch": state["epoch"] + 1, "batch": 0, "world_size": state.get("world_size", 1)}
    saved = {k: pos.get(k, layout[k]) for k in layout}
    if saved == layout:
        return pos, False
    # another world size / batch / worker count splits the data differently
    what = ", ".join(f"{k} {saved[k]} → {layout[k]}" for k in layout if saved[k] != layout[k])
    if pos["batch"] and not t.args.reshard:
        raise UserError(f"{t.run}: the checkpoint stopped inside epoch {pos['epoch']} (batch {pos['batch']}) "
                        f"with another data layout ({what}); relaunch with the same layout to continue "
                        f"exactly, or pass --reshard to restart epoch {pos['epoch']} from its first batch")
    log.warning("%s: resharding (%s): epoch %d starts at its first batch; the LR schedule is re-based on "
                "%d steps per epoch", t.run, what, pos["epoch"], t.steps_per_epoch)
    return pos, True


# ----------------------------------------------------------------------------- epochs

def train_epochs(t: Training) -> dict:
    """The epoch loop: train, validate, checkpoint and log each epoch; stops early at ``--max-steps``."""
    writer = _summary_writer(t.run) if t.dist.is_main else None
    sample_log = SampleLog(t.run, t.dist.rank, keep_until_step=t.step) if t.args.sample_log else None
    bar = tqdm(range(t.start_epoch, t.args.epochs), desc="train", unit="epoch", disable=not t.progress,
               initial=t.start_epoch, total=t.args.epochs, dynamic_ncols=True)
    last = {}
    for epoch in bar:
        if t.args.unfreeze_at is not None and epoch >= t.args.unfreeze_at and t.freeze:
            for p in t.bare.parameters():
                p.requires_grad_(True)
            t.freeze = 0
        use_final_size(t, epoch)
        stats, epoch_base = run_epoch(t, epoch, sample_log)
        swa.at_epoch_end(t, epoch, finished=t.step - epoch_base >= t.steps_per_epoch)
        record = {"epoch": epoch, "step": t.step, "lr": t.scheduler.get_last_lr()[0],
                  **{f"train_{k}": v for k, v in stats.items() if k != "step"}}
        if t.dist.is_main:
            record.update(validate(t, epoch))
            finish_epoch(t, epoch, epoch_base, record, writer)
            bar.set_postfix(loss=f"{stats['loss']:.3f}", val=f"{record.get('val_top1', float('nan')):.3f}",
                            img_s=f"{stats['img_per_s']:.1f}")
        last = record
        if t.args.max_steps is not None and t.step >= t.args.max_steps:
            break
    if writer is not None:
        writer.close()
    if sample_log is not None:
        sample_log.close()
    return {"last": last, "best": t.best, "run": str(t.run)}


def use_final_size(t: Training, epoch: int) -> None:
    """From the last ``--final-epochs`` on, train on ``--final-size`` crops (FixRes: the network, its BatchNorm
    statistics above all, meets the apparent object size of the larger eval crops before it is measured on them)."""
    if getattr(t.args, "final_size", None) and epoch >= t.args.epochs - t.args.final_epochs:
        t.data.dataset.transform = train_preset(t.args, final=True).build()  # loader workers fork anew each epoch


def run_epoch(t: Training, epoch: int, sample_log: SampleLog | None) -> tuple[dict, int]:
    """Train ``epoch`` (from its resume position), logging samples and checkpointing every ``--checkpoint-every``
    steps on the way: (the epoch's statistics, the global step before its batch 0)."""
    first_batch = t.start_batch if epoch == t.start_epoch else 0
    t.data.set_epoch(epoch, first_batch)
    epoch_base = t.step - first_batch

    def log_samples(step: int) -> None:  # before the step: a line past the checkpoint is dropped at resume
        sample_log.record(epoch, step, step - epoch_base - 1, t.data.last_ids)

    def on_step(step: int, loss: float) -> None:
        t.step = step  # what a checkpoint saves
        done = step - epoch_base
        if (t.dist.is_main and t.args.checkpoint_every and step % t.args.checkpoint_every == 0
                and done < t.steps_per_epoch):
            ckpt.save_checkpoint(t.checkpoint(epoch - 1, epoch, done), t.run)

    stats = train_one_epoch(t.model, t.criterion, t.optimizer, t.scheduler, t.data, t.train_spec,
                            t.device, epoch, t.args, ema=t.ema if t.args.ema else None, scaler=t.scaler,
                            frozen_stages=t.freeze,
                            arch=t.args.arch, progress=t.progress, max_steps=t.args.max_steps, start_step=t.step,
                            on_step=on_step, before_step=log_samples if sample_log is not None else None)
    t.step = stats["step"]
    return stats, epoch_base


def validate(t: Training, epoch: int) -> dict:
    """Score the weights (their EMA with ``--ema``) on the validation crops and keep them as best.safetensors when
    they are the best so far; without a validation set or with ``--keep last``, every epoch's weights are kept (the
    validation set then picks nothing and may calibrate the scores afterwards). Main process only."""
    eval_model = swa.eval_model(t)
    if t.val is None:
        save_weights(eval_model, t.run / "best.safetensors")
        t.best = {"top1": None, "epoch": epoch}  # nothing measured (JSON has no NaN)
        _write_best(t)
        return {}
    if t.args.tta:
        val, val_tta = evaluate_with_tta(eval_model, t.val, t.eval_spec, t.device, channels_last=t.args.channels_last)
    else:
        val, val_tta = evaluate(eval_model, t.val, t.eval_spec, t.device, channels_last=t.args.channels_last), None
    record = {f"val_{k}": v for k, v in val.items()}
    if val_tta is not None:
        record["val_top1_tta"] = val_tta["top1"]
    so_far = t.best.get("top1") if t.best.get("top1") is not None else -1.0  # None: a run without val
    if val["top1"] > so_far or getattr(t.args, "keep", "best") == "last":
        t.best = {"top1": val["top1"], "top3": val["top3"], "epoch": epoch}
        save_weights(eval_model, t.run / "best.safetensors")
        _write_best(t)
    return record


def _write_best(t: Training) -> None:
    """best.json: the kept weights' scores, preprocessing, network and the labels they were trained on (so a
    labels.json of another training beside them is refused at export)."""
    write_json(t.run / "best.json", {**t.best, "preprocess": t.eval_spec.to_json(), "arch": t.args.arch,
                                      "num_classes": len(t.data.labels),
                                      "labels_sha256": run_files.labels_sha256(t.data.labels)})


def finish_epoch(t: Training, epoch: int, epoch_base: int, record: dict, writer) -> None:
    """Checkpoint (at the next epoch, or mid-epoch when ``--max-steps`` cut it short) and log ``record``."""
    done = t.step - epoch_base
    ckpt.save_checkpoint(t.checkpoint(epoch, epoch + 1, 0) if done >= t.steps_per_epoch
                         else t.checkpoint(epoch - 1, epoch, done), t.run)
    run_files.append_record(t.run / run_files.METRICS, record)
    if writer is not None:
        for k, v in record.items():
            if isinstance(v, (int, float)) and k != "epoch":
                writer.add_scalar(k, v, epoch)
        writer.flush()
    if not t.progress:
        print(json.dumps(record), flush=True)


def _summary_writer(run: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(run / "tb"))
    except ImportError:  # tensorboard is optional at run time
        return None


def save_weights(model: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k != "n_averaged"}
    with AtomicFile(path) as out:
        save_file(state, str(out.tmp))
