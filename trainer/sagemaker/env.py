"""SageMaker's environment → the trainer's options (and the torchrun layout of a job).

SageMaker sets, on every instance of a training job::

    SM_HOSTS='["algo-1","algo-2"]'  SM_CURRENT_HOST=algo-1  SM_NUM_GPUS=8
    SM_CHANNEL_<NAME>=/opt/ml/input/data/<name>      (one per input channel: train, val …)
    SM_MODEL_DIR=/opt/ml/model                       (uploaded as model.tar.gz at the end)
    SM_OUTPUT_DATA_DIR=/opt/ml/output/data           (uploaded as output.tar.gz)

and syncs ``/opt/ml/checkpoints`` with ``checkpoint_s3_uri`` when the job has one (spot training). Options given
on the command line (the estimator's hyperparameters) always win; only unset ones are filled in.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_DIR = Path("/opt/ml/checkpoints")
MASTER_PORT = 29500
#: files of a run that make up the model artefact: what `checkout bundle export` needs, and what makes it a base
#: for `checkout train --incremental` (the replay exemplars) and `--head-only` (the kept embeddings)
MODEL_FILES = ("best.safetensors", "best.json", "labels.json", "args.json", "quarantine.json", "exemplars.json",
               "embeddings.safetensors")
#: manifests among them: written again beside the copies, so their photo paths (relative to the run) still name
#: the same photos
MODEL_MANIFESTS = ("exemplars.csv", "embeddings.csv")


def on_sagemaker(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return "SM_HOSTS" in environ or "SM_TRAINING_ENV" in environ


def _channel(environ: Mapping[str, str], *names: str) -> Path | None:
    for name in names:
        value = environ.get(f"SM_CHANNEL_{name.upper()}")
        if value:
            return Path(value)
    return None


def _manifest_in(folder: Path, *names: str) -> Path | None:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    csvs = sorted(folder.glob("*.csv"))
    return csvs[0] if len(csvs) == 1 else None


def apply_sagemaker_env(args, environ: Mapping[str, str] | None = None,
                        checkpoint_dir: Path = CHECKPOINT_DIR) -> bool:
    """Fill unset options of ``args`` from SageMaker's variables; returns whether it did anything."""
    environ = os.environ if environ is None else environ
    if not on_sagemaker(environ):
        return False
    train = _channel(environ, "shards", "train")
    if train is not None and getattr(args, "shards", None) is None and getattr(args, "train", None) is None:
        if (train / "index.json").is_file():
            args.shards = str(train)
        else:
            args.train = _manifest_in(train, "train.csv", "manifest.csv")
            if args.train is None:
                from kiosk.errors import UserError

                raise UserError(f"SageMaker channel {train}: neither shards (index.json) nor one manifest CSV")
    val = _channel(environ, "val", "validation")
    if val is not None and getattr(args, "val", None) is None:
        args.val = _manifest_in(val, "val.csv", "manifest.csv")
    if getattr(args, "out", None) is None:
        base = checkpoint_dir if checkpoint_dir.is_dir() else Path(environ.get("SM_MODEL_DIR", "/opt/ml/model"))
        args.out = base / "run"
    if getattr(args, "cache_dir", None) is None:
        args.cache_dir = Path("/tmp/checkout-cache")  # instance-local, never synced to S3
    args.auto_resume = True  # a restarted (spot) job finds its checkpoint restored in /opt/ml/checkpoints
    args.no_progress = True  # CloudWatch logs, not a terminal
    args.sagemaker_model_dir = environ.get("SM_MODEL_DIR")
    args.sagemaker_output_dir = environ.get("SM_OUTPUT_DATA_DIR")
    return True


def publish_outputs(args, run: Path) -> list[Path]:
    """Copy the model artefact files to ``SM_MODEL_DIR`` and the logs to ``SM_OUTPUT_DATA_DIR`` (rank 0)."""
    copied = []
    for attr, names in (("sagemaker_model_dir", MODEL_FILES), ("sagemaker_output_dir", ("metrics.jsonl",
                                                                                          "shard-errors.jsonl"))):
        dest = getattr(args, attr, None)
        if not dest:
            continue
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if attr == "sagemaker_output_dir":  # each rank's own shard-error log beside rank 0's
            names = (*names, *sorted(p.name for p in Path(run).glob("shard-errors.rank*.jsonl")))
        for name in names:
            src = Path(run) / name
            if src.is_file() and src.resolve() != (dest / name).resolve():
                shutil.copy2(src, dest / name)
                copied.append(dest / name)
        if attr == "sagemaker_model_dir":
            copied += _rewrite_manifests(Path(run), dest)
    return copied


def _rewrite_manifests(run: Path, dest: Path) -> list[Path]:
    from trainer.data.manifest import read_manifest, write_manifest

    written = []
    for name in MODEL_MANIFESTS:
        src = run / name
        if src.is_file() and src.resolve() != (dest / name).resolve():
            written.append(write_manifest(read_manifest(src), dest / name))
    return written


@dataclass(frozen=True)
class Layout:
    nnodes: int
    node_rank: int
    nproc_per_node: int
    master_addr: str
    master_port: int = MASTER_PORT


def layout_from_env(environ: Mapping[str, str] | None = None) -> Layout:
    """The torchrun layout of this SageMaker job: nodes = SM_HOSTS, this node's rank, GPUs per node."""
    environ = os.environ if environ is None else environ
    hosts = json.loads(environ.get("SM_HOSTS", "[]")) or ["localhost"]
    current = environ.get("SM_CURRENT_HOST", hosts[0])
    if current not in hosts:
        from kiosk.errors import UserError

        raise UserError(f"SM_CURRENT_HOST {current!r} is not in SM_HOSTS {hosts}")
    gpus = int(environ.get("SM_NUM_GPUS", "0") or 0)
    return Layout(len(hosts), sorted(hosts).index(current), max(1, gpus), sorted(hosts)[0])
