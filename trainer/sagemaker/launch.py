"""Submit ``checkout train`` as a SageMaker training job (run on a workstation with AWS credentials).

    pip install sagemaker
    python -m trainer.sagemaker.launch --image-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-train:1 \\
        --role arn:aws:iam::123456789012:role/SageMakerTraining --instance-type ml.p4d.24xlarge --instance-count 2 \\
        --train s3://grocer-ml/shards/catalog-2026-11/ --val s3://grocer-ml/manifests/val/ \\
        --checkpoints s3://grocer-ml/checkpoints/retrain-2026-11/ --output s3://grocer-ml/jobs/ --spot \\
        -- --arch resnet152 --epochs 12 --batch-size 64 --checkpoint-every 2000 --workers 8

The ``train`` channel holds the shards (``checkout data shard``; ``index.json`` + ``shard-*.tar``) and is
mounted with FastFile mode, so shards stream from S3 as they are read. Everything after ``--`` is passed to
``checkout train`` unchanged. ``sagemaker`` is imported only inside :func:`submit`; :func:`estimator_kwargs`
is plain data (and tested without the SDK).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DISTRIBUTIONS = {
    "torch_distributed": {"torch_distributed": {"enabled": True}},  # SageMaker runs torchrun on every node
    "smddp": {"smdistributed": {"dataparallel": {"enabled": True}}},  # SageMaker's AllReduce (p4d/p5 only)
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer.sagemaker.launch", description=__doc__.splitlines()[0])
    p.add_argument("--image-uri", required=True, help="the training image (Dockerfile at the repo root) in ECR")
    p.add_argument("--role", required=True, help="IAM role SageMaker assumes")
    p.add_argument("--instance-type", default="ml.p4d.24xlarge", help="8 × A100 40 GB per instance")
    p.add_argument("--instance-count", type=int, default=2)
    p.add_argument("--distribution", choices=sorted(DISTRIBUTIONS), default="torch_distributed")
    p.add_argument("--train", required=True, help="S3 prefix of the shards (train channel)")
    p.add_argument("--val", help="S3 prefix holding val.csv and its photos (val channel)")
    p.add_argument("--checkpoints", help="S3 prefix synced with /opt/ml/checkpoints (needed to resume, and for --spot)")
    p.add_argument("--output", help="S3 prefix for model.tar.gz and output.tar.gz")
    p.add_argument("--spot", action="store_true", help="managed spot training (resumes from --checkpoints)")
    p.add_argument("--max-run-hours", type=float, default=5 * 24)
    p.add_argument("--max-wait-hours", type=float, default=7 * 24, help="with --spot: run time + waiting for capacity")
    p.add_argument("--job-name", default=None)
    p.add_argument("--wait", action="store_true", help="stream the job's logs until it ends")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then `checkout train` options")
    return p


def hyperparameters(train_args: Sequence[str]) -> dict[str, str]:
    """``["--arch", "resnet152", "--static-graph"]`` → ``{"arch": "resnet152", "static-graph": "True"}``."""
    args = [a for a in train_args if a != "--"]
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise ValueError(f"{a!r}: `checkout train` options after -- must be --name [value]")
        name, _, inline = a[2:].partition("=")
        if inline:
            out[name], i = inline, i + 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[name], i = args[i + 1], i + 2
        else:
            out[name], i = "True", i + 1
    return out


def estimator_kwargs(a: argparse.Namespace) -> dict:
    kw = {"entry_point": "entry.py", "source_dir": str(HERE), "image_uri": a.image_uri, "role": a.role,
          "instance_type": a.instance_type, "instance_count": a.instance_count,
          "distribution": DISTRIBUTIONS[a.distribution], "hyperparameters": hyperparameters(a.train_args),
          "max_run": int(a.max_run_hours * 3600), "input_mode": "FastFile", "disable_profiler": True,
          "environment": {"NCCL_DEBUG": "WARN", "CHECKOUT_MAX_RESTARTS": "0"}}
    if a.distribution == "smddp":
        kw["hyperparameters"].setdefault("dist-backend", "smddp")
    if a.checkpoints:
        kw["checkpoint_s3_uri"] = a.checkpoints
    if a.output:
        kw["output_path"] = a.output
    if a.job_name:
        kw["base_job_name"] = a.job_name
    if a.spot:
        if not a.checkpoints:
            raise SystemExit("--spot needs --checkpoints (an interrupted spot job resumes from them)")
        kw.update(use_spot_instances=True, max_wait=int(a.max_wait_hours * 3600))
    return kw


def channels(a: argparse.Namespace) -> dict[str, str]:
    return {"train": a.train, **({"val": a.val} if a.val else {})}


def submit(a: argparse.Namespace):
    from sagemaker.inputs import TrainingInput
    from sagemaker.pytorch import PyTorch

    estimator = PyTorch(**estimator_kwargs(a))
    estimator.fit({k: TrainingInput(v, input_mode="FastFile") for k, v in channels(a).items()}, wait=a.wait)
    return estimator


def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    est = submit(a)
    print(f"submitted {est.latest_training_job.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
