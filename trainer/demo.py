"""The demo model: one recipe for ``make demo`` and the tests.

MobileNetV2 with its ImageNet feature stages frozen up to the last three (7×7 px, cheap to train) and a new head,
fitted by the real trainer on the demo photos in ``assets/demo/train`` (training-split photos of 24 SKUs; the demo
camera replays val-split photos, so the demo never sees a photo it was trained on).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_TRAIN = REPO / "assets" / "demo" / "train"
DEMO_WEIGHTS = REPO / ".cache" / "weights" / "mobilenet_v2-b0353104.pth"


def demo_train_args(weights: Path, out: Path, cache_dir: Path, progress: bool = True) -> list[str]:
    args = ["train", "--train", str(DEMO_TRAIN / "train.csv"), "--val", str(DEMO_TRAIN / "val.csv"),
            "--arch", "mobilenet_v2", "--weights", str(weights), "--freeze", "15", "--epochs", "8",
            "--img-size", "224", "--interpolation", "reduce", "--lr", "3e-3", "--seed", "0", "--out", str(out),
            "--cache-dir", str(cache_dir)]
    return args + ([] if progress else ["--no-progress"])


def build_demo_bundle(out_dir: Path, weights: Path = DEMO_WEIGHTS, progress: bool = True,
                      model_version: int | None = None) -> Path:
    """Train the demo head and export ``out_dir/bundle``; returns the bundle directory."""
    from kiosk.cli import main as checkout
    from kiosk.errors import UserError

    out_dir = Path(out_dir)
    if not Path(weights).is_file():
        raise UserError(f"{weights}: MobileNetV2 ImageNet weights missing (run `checkout weights fetch`)")
    run = out_dir / "run"
    import shutil

    shutil.rmtree(run, ignore_errors=True)  # a rebuild trains afresh (train refuses a folder holding a run)
    if checkout(demo_train_args(weights, run, out_dir / "cache", progress)) != 0:
        raise UserError("demo bundle: training failed")
    export = ["bundle", "export", str(run), "--out", str(out_dir / "bundle"), "--selftest-count", "4"]
    if model_version:
        export += ["--model-version", str(model_version)]
    if checkout(export) != 0:
        raise UserError("demo bundle: export failed")
    return out_dir / "bundle"
