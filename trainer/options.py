"""Command-line options of ``checkout train`` (torch-free, so ``checkout --help`` stays fast)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.subcommands import bounded
from trainer.train_sources import add_train_options

#: an image size in pixels: a crop, a resize (16 px is the least a network's strides leave a pixel of)
SIZE = bounded(int, 16, 4096)
#: a share, 0..1 (a probability, a jitter)
SHARE = bounded(float, 0, 1)
#: a number of epochs to train
EPOCHS = bounded(int, 1, 100_000)
#: a count that may be 0 (an epoch index, exemplars, steps between checkpoints)
COUNT = bounded(int, 0, 10**9)


def _add_weight_averaging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ema", type=bounded(float, 0, below=1), default=0.0, metavar="DECAY",
                   help="keep an EMA of the weights (e.g. 0.999); 0 = off")
    p.add_argument("--swa-epochs", type=COUNT, default=0, metavar="K",
                   help="SWA: the last K of --epochs hold the learning rate and the weights at each of their ends "
                        "are averaged; the average is validated and kept; 0 = off")
    p.add_argument("--swa-lr-factor", type=bounded(float, above=0, high=10), default=0.25, metavar="F",
                   help="SWA's held learning rate, a share of each group's peak (default 0.25)")


def _add_loss_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--head", choices=["linear", "cosine"], default="linear",
                   help="the new classifier head: linear (default) or cosine (16 · cos(embedding, row) + bias, the "
                        "measure the prototypes and the gallery use)")
    p.add_argument("--label-smoothing", type=bounded(float, 0, below=1), default=0.1)
    p.add_argument("--logit-norm", type=bounded(float, 0, 10), default=0.0, metavar="TAU",
                   help="LogitNorm: the loss sees the logits scaled to norm 1/TAU (e.g. 0.04; the network and its "
                        "export are unchanged); 0 = off")
    p.add_argument("--margin", type=bounded(float, 0, below=1), default=0.0, metavar="M",
                   help="with --head cosine: an additive cosine margin (CosFace) in the loss, the true SKU's cosine "
                        "lowered by M (e.g. 0.2; the network and its export are unchanged); 0 = off")
    p.add_argument("--blend-outliers", type=bounded(float, 0, 100), default=0.0, metavar="W",
                   help="outlier exposure on blends of two SKUs' photos, trained towards no SKU with weight W (e.g. "
                        "0.5; the batch grows by half; the network and its export are unchanged); 0 = off")
    p.add_argument("--blend-share", type=bounded(float, high=1, above=0), default=0.5, metavar="S",
                   help="with --blend-outliers: the share of each batch blended (the batch grows by S; default 0.5)")


def get_args_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(description="Fine-tune a product recogniser", add_help=True)
    add_train_options(p)  # --train CSV[:WEIGHT] (repeatable), --shopper-weight, --auto-weight
    p.add_argument("--val", type=Path, help="validation manifest CSV; settings are picked on it")
    p.add_argument("--out", type=Path, help="run directory (checkpoints, logs, best weights)")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in RUN from its last checkpoint")
    p.add_argument("--arch", default="resnet152",
                   help="resnet152 (recipe default), resnet50, mobilenet_v2 (CPU/edge) …")
    p.add_argument("--weights", type=Path,
                   help="local ImageNet weights in torchvision format (.pth or .safetensors); random init when omitted")
    p.add_argument("--freeze", type=bounded(int, 0, 1000), default=None,
                   help="number of low backbone stages to freeze (default per arch)")
    p.add_argument("--unfreeze-at", type=COUNT, default=None, metavar="EPOCH",
                   help="progressive unfreezing: train every stage from this epoch on")
    p.add_argument("--epochs", type=EPOCHS, default=12)
    p.add_argument("--batch-size", type=bounded(int, 1, 4096), default=32, help="per process")
    p.add_argument("--lr", type=bounded(float, above=0, high=10), default=2e-3,
                   help="peak learning rate of the new head")
    p.add_argument("--backbone-lr-mult", type=bounded(float, 0, 100), default=0.5, help="backbone lr = lr × this")
    p.add_argument("--weight-decay", type=bounded(float, 0, 10), default=0.05)
    _add_loss_options(p)
    p.add_argument("--schedule", choices=["onecycle", "cosine"], default="onecycle")
    p.add_argument("--warmup-epochs", type=bounded(float, 0, 100_000), default=1.0,
                   help="linear warm-up for the cosine schedule")
    _add_weight_averaging(p)
    p.add_argument("--mixup", type=bounded(float, 0, 100), default=0.0, metavar="ALPHA",
                   help="MixUp: blend image pairs with a Beta(ALPHA, ALPHA) weight; 0 = off")
    p.add_argument("--cutmix", type=bounded(float, 0, 100), default=0.0, metavar="ALPHA",
                   help="CutMix: paste a box of another image, area from Beta(ALPHA, ALPHA); 0 = off (with --mixup "
                        "too, each mixed batch picks one)")
    p.add_argument("--mix-prob", type=SHARE, default=1.0, metavar="P", help="share of batches mixed (default 1)")
    p.add_argument("--mix-off-epochs", type=COUNT, default=0, metavar="N",
                   help="train the last N epochs on unmixed images (default 0)")
    p.add_argument("--img-size", type=SIZE, default=224, help="training crop size")
    p.add_argument("--eval-size", type=SIZE, default=None,
                   help="eval crop size (default: img-size; larger helps, FixRes)")
    p.add_argument("--eval-resize", type=SIZE, default=None,
                   help="eval shorter-side resize (default: eval-size / 0.875)")
    p.add_argument("--train-resize", type=SIZE, default=None,
                   help="train cache shorter side (default: img-size / 0.875)")
    # the choices are kiosk.bundle_format.preprocess.INTERPOLATIONS (not imported: this module stays free of cv2)
    p.add_argument("--interpolation", choices=("area", "reduce", "linear", "cubic"), default="reduce",
                   help="how photos are shrunk, in training and (stored in the bundle) on the kiosk: area = exact box "
                        "filter (~1.4 ms a 348 px frame at a fractional factor); reduce = box filter over whole pixels "
                        "then bilinear, 5-8x faster per frame, what keeps the till's recognise step within 1.10x of "
                        "bare ONNX Runtime (default: %(default)s)")
    p.add_argument("--final-size", type=SIZE, default=None, metavar="PX",
                   help="train the last --final-epochs on crops of this size (e.g. the eval size: FixRes)")
    p.add_argument("--final-epochs", type=EPOCHS, default=1, help="epochs at --final-size (default 1)")
    p.add_argument("--scale-min", type=bounded(float, above=0, high=1), default=0.25,
                   help="random-resized-crop minimum area")
    p.add_argument("--rotation", type=bounded(float, 0, 180), default=20.0)
    p.add_argument("--vflip", type=SHARE, default=0.0)
    p.add_argument("--color-jitter", type=SHARE, default=0.2, help="brightness/contrast/saturation jitter (± fraction)")
    p.add_argument("--hue", type=bounded(float, 0, 0.5), default=0.0,
                   help="hue jitter (± fraction of the colour wheel, ≤ 0.5; default off: hue tells look-alike produce "
                   "apart)")
    p.add_argument("--tta", action="store_true", help="also report val accuracy with horizontal-flip TTA")
    p.add_argument("--keep", choices=["best", "last"], default="best",
                   help="weights kept as the run's result: the epoch best on val, or the last epoch's (then val picks "
                   "nothing and can calibrate the scores at export)")
    p.add_argument("--amp", choices=["auto", "none", "bf16", "fp16"], default="auto",
                   help="mixed precision; auto = bf16 on CUDA, none on CPU; bf16 on a CPU keeps depthwise "
                   "convolutions in float32 (their bf16 backward is slow in oneDNN)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--threads", type=bounded(int, 1, 1024), default=None,
                   help="torch intra-op threads (default: all cores)")
    p.add_argument("--workers", type=bounded(int, 0, 256), default=0, help="DataLoader workers for augmentation")
    p.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0)
    p.add_argument("--cache-dir", type=Path, default=None, help="decoded-image cache (default: RUN/../.cache)")
    p.add_argument("--max-steps", type=bounded(int, 1, 10**9), default=None,
                   help="stop after this many optimizer steps (smoke tests)")
    p.add_argument("--dist-backend", default=None, help="gloo | nccl | smddp (default: by device)")
    p.add_argument("--bucket-cap-mb", type=bounded(int, 1, 4096), default=25, help="DDP gradient bucket size")
    p.add_argument("--static-graph", action="store_true", help="DDP static_graph (no progressive unfreezing)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    _distributed_options(p)
    _incremental_options(p)
    return p


def _distributed_options(p: argparse.ArgumentParser) -> None:
    """Multi-node training and streaming from shards."""
    p.add_argument("--shards", default=None, metavar="DIR_OR_URL",
                   help="train from tar shards (`checkout data shard`) streamed from a folder or fsspec URL "
                   "instead of --train's decoded cache")
    p.add_argument("--shuffle-buffer", type=bounded(int, 1, 10_000_000), default=1000,
                   help="samples in each loader worker's shuffle buffer")
    p.add_argument("--checkpoint-every", type=COUNT, default=0, metavar="STEPS",
                   help="also checkpoint every this many optimizer steps, with the position in the data "
                   "(0 = per epoch)")
    p.add_argument("--auto-resume", action="store_true",
                   help="resume from --out's checkpoint when there is one (always on after a torchrun restart)")
    p.add_argument("--reshard", action="store_true",
                   help="accept a mid-epoch checkpoint of another world size: restart that epoch on this one")
    p.add_argument("--sample-log", action="store_true",
                   help="write RUN/samples/rank<R>.jsonl: the sample ids of every step (checks exactly-once)")
    p.add_argument("--rdzv-timeout", type=bounded(float, above=0, high=7 * 86400), default=300.0, metavar="SECONDS",
                   help="give up reaching MASTER_ADDR:MASTER_PORT after this long")
    p.add_argument("--dist-timeout", type=bounded(float, above=0, high=7 * 86400), default=1800.0, metavar="SECONDS",
                   help="collective timeout (rank 0 validating while the others wait counts)")


def _incremental_options(p: argparse.ArgumentParser) -> None:
    """Replay exemplars and incremental retraining (trainer/exemplars.py, trainer/incremental.py)."""
    p.add_argument("--exemplars", type=bounded(int, 0, 100_000), default=20, metavar="PER_SKU",
                   help="replay exemplars chosen per SKU at the end of the run (RUN/exemplars.csv, herding on the "
                   "final embeddings; what an incremental retrain replays; 0 = none; default %(default)s)")
    p.add_argument("--incremental", action="store_true",
                   help="grow the head of --from's model for --add's new SKUs and fine-tune briefly on them plus "
                   "--replay exemplars per existing SKU (cost follows the new data, not the catalog)")
    p.add_argument("--from", dest="base", type=Path, metavar="BUNDLE_OR_RUN",
                   help="with --incremental: the run or bundle to start from")
    p.add_argument("--add", type=Path, metavar="MANIFEST", help="with --incremental: the new SKUs' photos")
    p.add_argument("--replay", type=bounded(int, 0, 100_000), default=None, metavar="PER_SKU",
                   help="with --incremental: exemplars replayed per existing SKU (default: about twice as many "
                   "replayed photos as --add's, at least 2 a SKU)")
    p.add_argument("--min-new-photos", type=bounded(int, 1, 100_000), default=None, metavar="N",
                   help="with --incremental: distinct photos (exact and near copies counted once) each new SKU of "
                   "--add needs (default: 5, the till's minimum to teach a product)")
    p.add_argument("--export", type=Path, metavar="DIR", help="with --incremental: also write the run's bundle there")
    p.add_argument("--head-only", action="store_true",
                   help="with --incremental: fit the classifier alone, grown for the new SKUs, on the embeddings the "
                   "base run kept of every training photo and --add's (seconds; the network does not learn; "
                   "trainer/head_refit.py)")
    p.add_argument("--hold-old-rows", action=argparse.BooleanOptionalAction, default=None,
                   help="with --incremental: the old SKUs' classifier rows stay the base's; only the new SKUs' rows "
                   "and the network learn (default: trainer/incremental.py's HOLD_OLD_ROWS)")
    p.add_argument("--distill", type=bounded(float, 0, 1000), default=None, metavar="WEIGHT",
                   help="with --incremental: weight of the less-forget term that keeps each photo's embedding where "
                   "the base network put it (trainer/distill.py; 0 = off; default: trainer/incremental.py's "
                   "DISTILL)")
