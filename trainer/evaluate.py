"""``checkout evaluate RUN_OR_BUNDLE --manifest CSV``: accuracy, per-SKU precision/recall, confusions,
calibration and the auto-add threshold, with a confusion-matrix and a reliability PNG."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kiosk.bundle_format.bundle import MANIFEST, Bundle, load_bundle
from kiosk.bundle_format.preprocess import PreprocessSpec, load_image, preprocess_batch
from kiosk.bundle_format.selftest import softmax
from kiosk.errors import DataError, UserError
from trainer import metrics

log = logging.getLogger(__name__)


@dataclass
class Predictor:
    """Anything that maps BGR images to class probabilities over ``labels``."""

    labels: list[str]
    groups: dict[str, str]
    spec: PreprocessSpec
    predict: Callable[[list[np.ndarray]], np.ndarray]
    kind: str
    auto_add_threshold: float | None = None  # a bundle's stored threshold
    trained_on: dict = field(default_factory=dict)  # the options it was trained with (args.json): its manifests


def load_run_predictor(run: Path, device: str = "cpu", tta: bool = False) -> Predictor:
    import torch

    from trainer.presets import EvalPreset
    from trainer.run_files import read_json, read_run
    from trainer.train import predict

    r = read_run(Path(run), need_args=False)
    spec, model = r.spec, r.load_model()
    trained_on = read_json(Path(run) / "args.json") if (Path(run) / "args.json").is_file() else {}
    preset = EvalPreset(spec)

    def run_batch(images: list[np.ndarray]) -> np.ndarray:
        crops = np.stack([preset.crop(im) for im in images])
        with torch.inference_mode():
            return predict(model, crops, spec, device, tta=tta)

    return Predictor(r.labels, r.groups, spec, run_batch, f"run {run}", trained_on=trained_on)


def _onnx_file(bundle: Bundle, backend: str, precision: str) -> str:
    """``model.onnx``, or for ``precision`` int8 the bundle's int8 model (``checkout bundle quantize``); bf16 is the
    fp32 model computed in bf16 (openvino only)."""
    if precision == "fp32" or (precision == "bf16" and backend == "openvino"):
        return "model.onnx"
    from kiosk.bundle_format.int8 import int8_model

    int8 = int8_model(bundle.manifest)
    if precision != "int8" or int8 is None or backend not in ("onnxruntime", "openvino"):
        raise UserError(f"--precision {precision}: {bundle.root} with {backend} runs fp32"
                        + ("" if int8 is not None or precision != "int8" else " (the bundle carries no int8 model)"))
    return int8.file


def _openvino_logits(path: Path, precision: str) -> Callable[[np.ndarray], np.ndarray]:
    """OpenVINO on the CPU as the kiosk's openvino backend compiles it (LATENCY; f32 or bf16 for the fp32 model, no
    hint for the int8 one), for any batch size."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise UserError(f"--backend openvino needs the openvino package ({exc}); "
                        "pip install 'edge-checkout-kiosk[openvino]'") from None
    core = ov.Core()
    model = core.read_model(str(path))
    model.reshape({model.inputs[0].any_name: [-1, *model.inputs[0].get_partial_shape()[1:]]})
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if precision != "int8":
        config["INFERENCE_PRECISION_HINT"] = precision.replace("fp", "f")
    request = core.compile_model(model, "CPU", config).create_infer_request()

    def run(x: np.ndarray) -> np.ndarray:
        request.infer({0: np.ascontiguousarray(x, np.float32)})
        return request.get_output_tensor(0).data.copy()

    return run


def _bundle_logits(bundle: Bundle, backend: str, precision: str = "fp32") -> Callable[[np.ndarray], np.ndarray]:
    """The bundle's network as NCHW float32 batch → logits, through ONNX Runtime (as the kiosk's default backend;
    ``precision`` int8: its int8 model), OpenVINO (fp32, bf16 or int8) or torch (its safetensors weights)."""
    m = bundle.manifest
    model_file = _onnx_file(bundle, backend, precision)
    if backend == "onnxruntime":
        import onnxruntime as ort

        session = ort.InferenceSession(str(bundle.path(model_file)), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
    if backend == "openvino":
        return _openvino_logits(bundle.path(model_file), precision)
    if backend == "torch":
        import torch
        from safetensors.torch import load_file

        from trainer.models import build_model, head_in_file

        weights = bundle.path("model.safetensors")
        model = build_model(m.architecture, m.num_classes, head=head_in_file(weights))
        model.load_state_dict(load_file(str(weights)))
        model.eval()

        def run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()

        return run
    raise UserError(f"--backend {backend!r}: bundles are evaluated with onnxruntime, openvino or torch")


def load_bundle_predictor(bundle_dir: Path, backend: str = "onnxruntime", tta: bool = False,
                          precision: str = "fp32") -> Predictor:
    bundle = load_bundle(bundle_dir)
    spec, labels = bundle.manifest.preprocess, bundle.manifest.labels
    logits = _bundle_logits(bundle, backend, precision)

    def probabilities(images: list[np.ndarray]) -> np.ndarray:
        return softmax(logits(preprocess_batch(images, spec)))

    def run_batch(images: list[np.ndarray]) -> np.ndarray:
        p = probabilities(images)
        if tta:
            p = (p + probabilities([im[:, ::-1].copy() for im in images])) / 2
        return p

    groups = bundle.manifest.catalog.get("groups", {})
    return Predictor(labels, groups, spec, run_batch, f"bundle {bundle_dir} ({backend}, {precision})",
                     bundle.manifest.auto_add_threshold, bundle.manifest.trainer.get("args") or {})


def model_logits(model, labels: list[str], spec: PreprocessSpec,
                 manifests: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """A torch model's logits and the targets on every readable row of ``manifests`` (the kiosk's preprocessing)."""
    import torch

    def run(images: list[np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(preprocess_batch(images, spec))).float().numpy()

    parts = []
    for m in manifests:
        probs, targets, _groups, skipped = predict_manifest(Predictor(labels, {}, spec, run, "model"), Path(m))
        if skipped:
            print(f"{m}: {len(skipped)} row(s) skipped: {skipped_note(skipped)}")
        parts.append((probs, targets))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_predictor(path: Path, backend: str = "onnxruntime", tta: bool = False, precision: str = "fp32") -> Predictor:
    path = Path(path)
    if (path / MANIFEST).is_file():
        return load_bundle_predictor(path, backend, tta, precision)
    if (path / "best.safetensors").is_file() or (path / "args.json").is_file():
        return load_run_predictor(path, tta=tta)
    raise UserError(f"{path}: neither a model bundle (manifest.json) nor a training run (best.safetensors)")


def skipped_note(skipped: list[dict]) -> str:
    """Why rows were skipped, counted by reason (unknown SKUs together), with the first line of each."""
    kinds: dict[str, list] = {}
    for s in skipped:
        kind = "SKU unknown to the model" if "unknown to the model" in s["reason"] else s["reason"]
        kinds.setdefault(kind, []).append(s)
    return "; ".join(f"{len(rows)} {kind} (first: line {rows[0]['line']}"
                     + (f", {rows[0]['reason']})" if kind.startswith("SKU unknown") else ")")
                     for kind, rows in sorted(kinds.items(), key=lambda kv: -len(kv[1])))


def predict_manifest(pred: Predictor, manifest: Path, batch: int = 32) -> tuple[np.ndarray, np.ndarray, dict, list]:
    """Probabilities and targets for every readable row; unreadable rows and unknown SKUs are reported."""
    from trainer.data.manifest import read_manifest

    rows = read_manifest(manifest)
    index = {s: i for i, s in enumerate(pred.labels)}
    skipped, groups = [], dict(pred.groups)
    usable = []
    for line, r in enumerate(rows, start=2):
        if r.sku not in index:
            skipped.append({"line": line, "path": str(r.path), "reason": f"SKU {r.sku!r} unknown to the model"})
            continue
        if r.group:
            groups[r.sku] = r.group
        usable.append((line, r))
    probs, targets = [], []
    for start in tqdm(range(0, len(usable), batch), desc="evaluate", unit="batch", leave=False, disable=None):
        images, tgt = [], []
        for line, r in usable[start : start + batch]:
            im, why = load_image(r.path, pred.spec.resize_size)
            if im is None:
                skipped.append({"line": line, "path": str(r.path), "reason": why})
                continue
            images.append(im)
            tgt.append(index[r.sku])
        if images:
            probs.append(pred.predict(images))
            targets.extend(tgt)
    if not probs:
        raise UserError(f"{manifest}: no usable rows to evaluate ({len(skipped)} skipped)")
    return np.concatenate(probs), np.asarray(targets, np.int64), groups, skipped


def evaluate_model(path: Path, manifest: Path, out: Path | None = None, target_precision: float = 0.99,
                   backend: str = "onnxruntime", tta: bool = False, precision: str = "fp32",
                   by: list[str] | None = None) -> dict:
    """``by``: also score per value of these manifest columns (None: per source when it has several)."""
    from trainer.evaluate_by import default_columns, scores_by

    pred = load_predictor(path, backend, tta, precision)
    _warn_training_photos(pred, manifest)
    probs, targets, groups, skipped = predict_manifest(pred, manifest)
    summary = metrics.summarize(probs, targets, pred.labels, groups, target_precision)
    _name_rows(summary["surest_mistakes"], manifest, skipped)
    columns = default_columns(manifest) if by is None else by
    if columns:
        summary["by"] = scores_by(manifest, probs, targets, pred.labels, skipped, columns)
    if pred.auto_add_threshold is not None:
        from trainer.calibration import at_threshold

        summary["stored_threshold"] = at_threshold(probs, targets, pred.auto_add_threshold)
    summary.update({"model": pred.kind, "manifest": str(manifest), "skipped": skipped, "tta": tta})
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        cm = metrics.confusion_matrix(probs, targets, len(pred.labels))
        metrics.plot_confusion(cm, pred.labels, out / "confusion.png",
                               title=f"Confusion (top-1 {summary['top1']:.3f}, n={summary['n']})")
        metrics.plot_reliability(summary["calibration"], out / "reliability.png")
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
        summary["plots"] = [str(out / "confusion.png"), str(out / "reliability.png")]
    return summary


def _name_rows(found: list[dict], manifest: Path, skipped: list[dict]) -> None:
    """Give each of ``found`` (``index``: a row among those scored) its manifest line and photo path: the scored rows
    are the manifest's in order, less the ``skipped`` ones (:func:`predict_manifest`)."""
    from trainer.data.manifest import read_manifest

    gone = {s["line"] for s in skipped}
    scored = [(line, r) for line, r in enumerate(read_manifest(manifest), start=2) if line not in gone]
    for f in found:
        line, row = scored[f["index"]]
        f.update(line=line, path=str(row.path))


def _warn_training_photos(pred: Predictor, manifest: Path) -> None:
    """Evaluating on photos the model trained on is allowed (a sanity check) but its figures flatter the model: one
    warning line naming the first such photo (:mod:`trainer.data.overlap`)."""
    import sys

    from trainer.data.overlap import find_overlap, training_manifests

    try:
        overlap = find_overlap(manifest, training_manifests(pred.trained_on if isinstance(pred.trained_on, dict)
                                                            else {}))
    except DataError:
        return  # an unreadable --manifest is said by predict_manifest; a training manifest gone bad says nothing here
    if overlap is not None:
        where = overlap.text("--manifest", "the model's training manifest")
        print(f"warning: {where}; these figures overstate what the model does on new photos", file=sys.stderr)


def format_report(s: dict) -> str:
    a = s["auto_add"]
    lines = [
        f"model     {s['model']}",
        f"manifest  {s['manifest']}  (n={s['n']}, skipped {len(s['skipped'])})",
        *([f"skipped   {skipped_note(s['skipped'])}"] if s["skipped"] else []),
        f"top-1     {s['top1']:.4f}",
        f"top-3     {s['top3']:.4f}",
        f"coarse    {s['coarse_top1']:.4f}" if s["coarse_top1"] is not None else "coarse    n/a (no groups)",
        f"ECE       {s['calibration']['ece']:.4f}",
        *([_stored_line(s["stored_threshold"])] if "stored_threshold" in s else []),
        (f"on this manifest score ≥ {a['threshold']:.3f} gives precision {a['precision']:.4f} on {a['coverage']:.1%} "
         "of items" if a["precision"] is not None
         else f"on this manifest no threshold reaches precision {a['target_precision']}"),
        *_mistake_lines(s),
        "most confused (true → predicted):",
        *[f"  {p['true']} → {p['predicted']}: {p['count']}" for p in s["confused_pairs"][:10]],
    ]
    worst = sorted(((v["recall"], k) for k, v in s["per_sku"].items() if v["recall"] is not None))[:5]
    lines.append("lowest recall: " + ", ".join(f"{k} {r:.2f}" for r, k in worst))
    if s.get("by"):
        from trainer.evaluate_by import format_by

        lines += format_by(s["by"])
    if "plots" in s:
        lines.append("plots: " + ", ".join(s["plots"]))
    return "\n".join(lines)


def _mistake_lines(s: dict) -> list[str]:
    """The surest wrong answers with their manifest line, marked where the bundle's threshold would add them."""
    threshold = s.get("stored_threshold", {}).get("threshold")
    return (["surest mistakes (score, manifest line: true → predicted):"] if s["surest_mistakes"] else []) + [
        f"  {m['score']:.3f}  line {m['line']}: {m['true']} → {m['predicted']}  {m['path']}"
        + ("  (added without a tap at the bundle's threshold)" if threshold is not None and m["score"] >= threshold
           else "") for m in s["surest_mistakes"]]


def _stored_line(t: dict) -> str:
    """Coverage and precision at the bundle's own auto-add threshold (what the till will do)."""
    if t["threshold"] > 1:
        return "auto-add  never: the bundle's threshold is above 1 (every item needs a tap)"
    precision = f"{t['precision']:.4f}" if t["precision"] is not None else "n/a"
    return (f"auto-add  at the bundle's threshold {t['threshold']:.3f}: coverage {t['coverage']:.1%} "
            f"({t['accepted']} of {t['n']}), precision {precision} ({t['errors']} wrong)")


def run_evaluate(args) -> int:
    model = Path(args.model)
    # a run keeps its reports inside; a bundle stays exactly as signed, so reports go beside it
    out = args.out or (model.parent / f"{model.name}.eval-{Path(args.manifest).stem}" if (model / MANIFEST).is_file()
                       else model / f"eval-{Path(args.manifest).stem}")
    s = evaluate_model(args.model, args.manifest, out, args.target_precision, args.backend, args.tta,
                       getattr(args, "precision", "fp32"), getattr(args, "by", None))
    if args.json:
        print(json.dumps(s))
    else:
        print(format_report(s))
    return 0
