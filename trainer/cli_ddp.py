"""``checkout data shard`` and ``checkout bench ddp`` (multi-node training, issue 6). Cheap to import."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import bounded, group

    data = group(sub, groups, "data", "dataset manifests: import, check and cleanse, split")
    p = data.add_parser("shard", help="pack a manifest's photos into tar shards (WebDataset layout) + index.json")
    p.add_argument("manifest", type=Path, metavar="MANIFEST")
    p.add_argument("--out", type=Path, required=True, help="folder for shard-NNNNNN.tar and index.json")
    p.add_argument("--shard-size", default="1GB", help="largest shard (1GB, 500MB, 64MiB …; default 1GB)")
    p.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0,
                   help="seed of the one-off shuffle of rows into shards")
    p.add_argument("--no-shuffle", action="store_true", help="keep manifest order (shards then hold few SKUs each)")
    p.add_argument("--max-side", type=bounded(int, 16, 10**5), default=None, metavar="PX",
                   help="re-encode photos as JPEG with the shorter side at most PX (e.g. 288 for --train-resize 256): "
                   "a much smaller epoch to read and decode; default: original bytes")
    p.add_argument("--force", action="store_true", help="replace shards already in OUT")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_shard)

    bench = group(sub, groups, "bench", "benchmarks against a plain baseline in the same run")
    p = bench.add_parser("ddp", help="per-step compute and gradient AllReduce time (DDP inputs for docs/scaling.md)")
    p.add_argument("--arch", default="resnet152")
    p.add_argument("--freeze", type=bounded(int, 0, 1000), default=None,
                   help="frozen stages (default per arch; they are not reduced)")
    p.add_argument("--classes", type=bounded(int, 1, 10**6), default=12000, help="head size (the catalog's SKU count)")
    p.add_argument("--batch-size", type=bounded(int, 1, 4096), default=2, help="per process")
    p.add_argument("--img-size", type=bounded(int, 16, 4096), default=224)
    p.add_argument("--nproc", type=bounded(int, 1, 256), default=2, help="processes on this machine (gloo/nccl ranks)")
    p.add_argument("--steps", type=bounded(int, 1, 10**6), default=3,
                   help="measured steps per phase (after one warm-up)")
    p.add_argument("--bucket-cap-mb", type=bounded(int, 1, 4096), default=25)
    p.add_argument("--backend", default=None, help="gloo | nccl (default: nccl on CUDA, else gloo)")
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--threads", type=bounded(int, 1, 1024), default=None,
                   help="intra-op threads per process (default: cores / nproc)")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.set_defaults(func=_bench_ddp)


def _shard(args) -> int:
    from trainer.shards.write import parse_size, write_shards

    index = write_shards(args.manifest, args.out, parse_size(args.shard_size), seed=args.seed,
                         shuffle=not args.no_shuffle, force=args.force, progress=not args.no_progress,
                         max_side=args.max_side)
    size = sum(s["bytes"] for s in index["shards"])
    print(f"{index['total']} samples of {len(index['labels'])} SKUs in {len(index['shards'])} shards "
          f"({size / 1e6:.1f} MB) in {args.out}; {len(index['skipped'])} rows left out")
    return 0


def _bench_ddp(args) -> int:
    from trainer.bench_ddp import bench_ddp

    return bench_ddp(args)
