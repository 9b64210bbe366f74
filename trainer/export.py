"""``checkout bundle export RUN --out DIR``: the kiosk bundle from a training run.

Writes ONNX (dynamic batch) and safetensors weights, self-test images with the outputs ONNX Runtime
gives for them, and ``manifest.json`` with labels → SKU ids, the eval preprocessing, metrics on the
run's validation manifest, the auto-add threshold and the sha256 of every file. ONNX is checked against
torch on the self-test images and a random batch; a mismatch above ``atol`` refuses the export.
The ONNX graph has a second output, ``embedding`` (the pooled features its classifier reads, same forward pass),
and the bundle carries the trained SKUs' prototypes, the gallery fusion's calibration and the open-set thresholds
(:mod:`trainer.openset_fit`, described in :mod:`kiosk.bundle_format.openset`).
The bundle is assembled in a temporary folder beside ``out`` and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import FORMAT_VERSION, BundleManifest, file_entry, sha256_file, write_manifest
from kiosk.bundle_format.preprocess import PreprocessSpec, load_image, preprocess, preprocess_batch, read_image
from kiosk.bundle_format.selftest import record_selftest, softmax
from kiosk.errors import UserError
from trainer.run_files import RunFiles, read_run

EPOCH_2020 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)


def default_model_version() -> int:
    return int((dt.datetime.now(dt.timezone.utc) - EPOCH_2020).total_seconds())


def _pick_selftest(manifest: Path, labels: list[str], count: int, size: int) -> list[Path]:
    from trainer.data.manifest import read_manifest

    first: dict[str, Path] = {}
    for r in read_manifest(manifest):
        if r.sku in labels and r.sku not in first and load_image(r.path, size)[0] is not None:
            first[r.sku] = r.path
    skus = sorted(first)
    if not skus:
        raise UserError(f"{manifest}: no readable images of the model's SKUs for the self-test")
    idx = np.linspace(0, len(skus) - 1, num=min(count, len(skus))).round().astype(int)
    return [first[skus[i]] for i in sorted(set(idx.tolist()))]


def export_onnx(model, path: Path, size: int, embedding: bool = True) -> None:
    """``model`` as ONNX: input ``input``, outputs ``logits`` and (``embedding``) ``embedding``, dynamic batch."""
    import torch

    from kiosk.bundle_format.openset import EMBEDDING_OUTPUT
    from trainer.models import WithEmbedding

    x = torch.zeros(1, 3, size, size)
    net, outputs = (WithEmbedding(model).eval(), ["logits", EMBEDDING_OUTPUT]) if embedding else (model, ["logits"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), input_names=["input"], output_names=outputs,
                          dynamic_axes={"input": {0: "batch"}, **{name: {0: "batch"} for name in outputs}},
                          opset_version=17, dynamo=False)


def _open_set(model, r: TrainingRun, tmp: Path, session, held_back: list[Path], options: dict) -> dict:
    """The manifest's ``embedding`` and ``open_set`` sections (:mod:`trainer.openset_fit`), fitted on the held-back
    manifests (calibration, else the run's val); without any, the embedding is exported unfused and no open set."""
    from trainer.data.manifest import read_manifest
    from trainer.openset_fit import (
        DEFAULT_SHOTS,
        PROTOTYPE_PHOTOS,
        backbone_sha256,
        class_photos,
        open_set_sections,
    )

    backbone = backbone_sha256(model)
    held = [m for m in held_back if m is not None and Path(m).is_file()]
    if not held:
        print("no validation or calibration manifest: embedding exported without gallery fusion or open-set rule")
        return {"embedding": {"output": "embedding", "dim": int(session.get_outputs()[1].shape[1]),
                              "backbone_sha256": backbone}}
    shots = int(options.get("shots", DEFAULT_SHOTS))
    train = Path(r.args["train"]) if r.args.get("train") else None
    photos = class_photos(r.root, train, r.labels, max(shots, PROTOTYPE_PHOTOS))
    val_rows = [(row.path, row.sku) for m in held for row in read_manifest(m)]
    return open_set_sections(session, r.labels, r.spec, photos, val_rows, tmp, backbone=backbone, **options)


class TrainingRun(RunFiles):
    """What ``checkout bundle export`` reads from a finished run (:func:`trainer.run_files.read_run`: every file
    checked, its labels against those the weights were trained on)."""

    @classmethod
    def read(cls, run: Path) -> TrainingRun:
        r = read_run(Path(run))
        return cls(r.root, r.args, r.labels, r.groups, r.best, r.spec)


def _write_selftest_images(tmp: Path, manifest: Path, labels: list[str], count: int,
                           size: int) -> tuple[list, list[str]]:
    """Self-test images as PNG (lossless), so every kiosk decodes exactly the pixels recorded here."""
    import cv2

    (tmp / "selftest").mkdir()
    images, names = [], []
    for i, src in enumerate(_pick_selftest(manifest, labels, count, size)):
        name = f"selftest/{i:03d}.png"
        cv2.imwrite(str(tmp / name), read_image(src))
        images.append(read_image(tmp / name))
        names.append(name)
    return images, names


def _check_onnx(model, onnx_path: Path, images: list, spec: PreprocessSpec, atol: float, run: Path):
    """ONNX Runtime against torch on the self-test images and two random inputs; returns (max diff, session)."""
    import onnxruntime as ort
    import torch

    x = np.stack([preprocess(im, spec) for im in images])
    x_all = np.concatenate([x, np.random.default_rng(0).standard_normal((2, *x.shape[1:]), dtype=np.float32)])
    with torch.inference_mode():
        ref = model(torch.from_numpy(x_all)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    diff = float(np.abs(ref - session.run(None, {"input": x_all})[0]).max())
    print(f"ONNX vs torch: max abs logit difference {diff:.2e} over {len(x_all)} inputs (limit {atol:g})")
    if not np.isfinite(diff) or diff > atol:
        raise UserError(f"{run}: ONNX export differs from torch by {diff:.3g} > {atol:g}; bundle not written")
    return diff, session


def _catalog_schema(catalog: Path | None) -> int:
    from catalog.schema import MIGRATIONS

    if catalog is None:
        return len(MIGRATIONS)  # the catalog schema this code writes
    from catalog.repository import Catalog

    with Catalog.open(catalog, create=False) as cat:
        return cat.schema_version


def _manifest(r: TrainingRun, tmp: Path, model_version: int | None, expires_days: int, diff: float,
              schema_version: int) -> BundleManifest:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    files = {p.relative_to(tmp).as_posix(): file_entry(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    from trainer.machine import provenance

    args, machine = r.args, provenance(r.root)
    return BundleManifest(
        format_version=FORMAT_VERSION,
        model_version=model_version or default_model_version(),
        architecture=r.best["arch"],
        preprocess=r.spec,
        labels=r.labels,
        files=files,
        backends=["onnxruntime", "torch", "tensorrt"],
        created_at=now.isoformat(),
        expires_at=(now + dt.timedelta(days=expires_days)).isoformat() if expires_days else None,
        metrics={"best_epoch": r.best.get("epoch"), "train_val_top1": _finite(r.best.get("top1")),
                 "onnx_max_abs_diff": diff},
        selftest=[],
        catalog={"schema_version": schema_version, "skus": r.labels, "groups": r.groups},
        trainer={"args": args, "manifests": {k: sha256_file(Path(args[k])) for k in ("train", "val")
                                              if args.get(k) and Path(args[k]).is_file()},
                 **({"machine": machine} if machine else {})},
    )


def _finite(x):
    """A number JSON can hold, or None (a run without val recorded NaN before it recorded null)."""
    return x if isinstance(x, (int, float)) and np.isfinite(x) else None


def _with_evaluation(tmp: Path, manifest: BundleManifest, val: Path) -> BundleManifest:
    """Validation metrics of the bundle as written (what the kiosk will run); an uncalibrated bundle also takes its
    auto-add threshold from them (the lowest at which val reaches the target precision)."""
    from trainer.evaluate import evaluate_model

    s = evaluate_model(tmp, val, out=None)
    figures = {k: s[k] for k in ("n", "top1", "top3", "coarse_top1")}
    print(f"val top-1 {s['top1']:.4f} top-3 {s['top3']:.4f} (n={s['n']})", end="; ")
    if "calibration" in manifest.metrics:  # the threshold was chosen on held-back data: how it does on val
        t = s["stored_threshold"]
        print(f"at the stored threshold coverage {t['coverage']:.1%}, precision {t['precision']}")
        return dataclasses.replace(manifest, metrics={
            **manifest.metrics, "val": {**figures, "at_threshold": t}, "val_ece": s["calibration"]["ece"]})
    a = s["auto_add"]
    print(f"auto-add threshold {a['threshold']:.3f} (precision {a['precision']}, coverage {a['coverage']:.1%})")
    return dataclasses.replace(manifest, auto_add_threshold=a["threshold"], metrics={
        **manifest.metrics, "val": figures, "val_ece": s["calibration"]["ece"], "auto_add": a})


def _refuse_selection_data(r: TrainingRun, manifests: list[Path]) -> None:
    """No calibration photo may be one the run trained on, nor one of the val that picked its epoch (unless the run
    kept its last one, ``--keep last``): compared photo by photo (:mod:`trainer.data.overlap`), not by file name."""
    from trainer.data.overlap import find_overlap, training_manifests

    val = r.args.get("val")
    selection = [Path(val)] if val and r.args.get("keep", "best") == "best" else []
    for m in manifests:
        overlap = find_overlap(m, training_manifests(r.args))
        if overlap is not None:
            where = overlap.text("--calibration", "this run's training manifest")
            raise UserError(f"{where}; calibrate on photos held back from training")
        overlap = find_overlap(m, [v for v in selection if v.is_file() or Path(m).resolve() == v.resolve()])
        if overlap is not None:
            raise UserError(f"{overlap.text('--calibration', 'the val')}; this run's val picked its epoch "
                            "(--keep best); calibrate on photos held back from training and selection, or train "
                            "with --keep last")


def _power_note(n: int, target_precision: float, confidence: float) -> str:
    """What ``n`` held-back photos can certify at all: the clean items the bound needs, the errors allowed at half."""
    from trainer.calibration import clean_items_needed, errors_allowed

    need, half = clean_items_needed(target_precision, confidence), errors_allowed(n // 2, target_precision, confidence)
    note = (f"{n} held-back photos: a {confidence:.0%} bound reaches {target_precision:.1%} from {need} error-free "
            f"items ({need / max(n, 1):.0%} of them); at half of them auto-added it allows "
            f"{half if half >= 0 else 'no'} error{'' if half == 1 else 's'}")
    return note + (" — too few photos to certify half the items; pool more held-back photos or choose the confidence"
                   if half < 0 else "")


def _no_threshold_note(probs: np.ndarray, targets: np.ndarray, target_precision: float, confidence: float,
                       manifests: list[Path]) -> str:
    """Why no threshold was certified: the wrong answers among the surest photos the first test takes."""
    from trainer.calibration import clean_items_needed

    first = min(clean_items_needed(target_precision, confidence), len(targets))
    surest = np.argsort(-probs.max(1), kind="stable")[:first]
    wrong = int((probs.argmax(1)[surest] != targets[surest]).sum())
    if wrong == 0:  # too few photos, or ties at the first cut
        return (f"no auto-add: {len(targets)} held-back photos cannot certify {target_precision} "
                "(every item needs a tap)")
    return (f"no auto-add: the {first} surest held-back photos hold {wrong} wrong answer(s), so even the strictest "
            f"threshold tested cannot reach {target_precision} (every item will need a tap); `checkout evaluate "
            f"BUNDLE --manifest {manifests[0]}` names the surest mistakes — a wrong label there is worth fixing")


def calibrate(model, r: TrainingRun, manifests: list[Path], target_precision: float = 0.99,
              confidence: float = 0.95) -> dict:
    """Fit the temperature on ``manifests`` (held back: not used to train or to pick the weights), fold it into the
    classifier, and choose the auto-add threshold on the calibrated scores there with a Clopper-Pearson lower bound
    on precision (:mod:`trainer.calibration`). Returns what the manifest's metrics record: ``calibration`` (the
    temperature) and ``auto_add`` (the threshold and its coverage, precision and bound on the held-back photos)."""
    from trainer.calibration import certified_threshold, fit_temperature, nll, softmax
    from trainer.evaluate import model_logits
    from trainer.models import scale_logits

    _refuse_selection_data(r, manifests)
    logits, targets = model_logits(model, r.labels, r.spec, manifests)
    print(_power_note(len(targets), target_precision, confidence))
    temperature = fit_temperature(logits, targets)
    scale_logits(model, r.best["arch"], 1.0 / temperature)
    probs = softmax(logits, temperature)
    chosen = certified_threshold(probs, targets, target_precision, confidence)
    bound = f"{chosen['lower_bound']:.4f}" if chosen["lower_bound"] is not None else "none reached"
    print(f"calibration on {len(targets)} held-back photos: temperature {temperature:.3f} (NLL "
          f"{nll(logits, targets):.4f} → {nll(logits, targets, temperature):.4f}); auto-add threshold "
          f"{chosen['threshold']:.3f}: coverage {chosen['coverage']:.1%}, precision {chosen['precision']}, "
          f"{confidence:.0%} lower bound {bound} (target {target_precision})")
    if chosen["lower_bound"] is None:
        print(_no_threshold_note(probs, targets, target_precision, confidence, manifests))
    return {"calibration": {"temperature": temperature, "folded_into": "classifier", "n": len(targets),
                            "manifests": [str(m) for m in manifests], "nll_before": nll(logits, targets),
                            "nll_after": nll(logits, targets, temperature)},
            "auto_add": chosen}


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the system cannot."""
    import ctypes
    import os

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False


def _refuse_out(out: Path, replace_signed: bool) -> None:
    """``--out`` may be new, empty, or a bundle (replaced); a signed bundle only with ``--force``."""
    from kiosk.bundle_format.bundle import MANIFEST, SIGNATURE

    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if (out / MANIFEST).is_file():
        if (out / SIGNATURE).exists() and not replace_signed:
            raise UserError(f"--out {out}: holds a signed bundle; exporting would replace it with an unsigned one — "
                            "pass --force to replace it (then sign again), or choose another --out")
    elif any(out.iterdir()):
        raise UserError(f"--out {out}: a folder that is not a bundle (no {MANIFEST}); choose another --out")


def sweep_stale(out: Path) -> None:
    """Remove what a killed export left beside ``out``: ``.OUT.<pid>.xxxx`` folders of processes no longer alive and
    a ``.OUT.old``; an old bundle left there alone (killed between two renames) is put back first."""
    import os

    old = out.with_name(f".{out.name}.old")
    if old.is_dir() and not out.exists():
        old.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    for p in out.parent.glob(f".{out.name}.*"):
        pid = p.name[len(out.name) + 2:].split(".", 1)[0]
        if not p.is_dir() or not (pid.isascii() and pid.isdigit()):
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _move_into_place(tmp: Path, out: Path, force: bool) -> None:
    """``tmp`` becomes ``out``; an existing ``out`` is swapped out in one step where the system can, so a kill at
    any moment leaves the old bundle or the new one there."""
    if not out.exists():
        tmp.rename(out)
        return
    if not force:
        raise UserError(f"{out}: already exists")
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # the old bundle, now at tmp
        return
    old = out.with_name(f".{out.name}.old")  # sweep_stale puts it back if a kill comes between the renames
    shutil.rmtree(old, ignore_errors=True)
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def export_bundle(run: Path, out: Path, model_version: int | None = None, selftest_manifest: Path | None = None,
                  selftest_count: int = 4, expires_days: int = 365, catalog: Path | None = None,
                  atol: float = 1e-3, force: bool = True, evaluate: bool = True,
                  calibration: list[Path] | None = None, target_precision: float = 0.99,
                  confidence: float = 0.95, open_set: dict | None = None, replace_signed: bool = False) -> Path:
    """``calibration``: held-back manifests to calibrate the scores and choose the auto-add threshold on
    (:func:`calibrate`); without them the threshold is the one at which the run's val reaches ``target_precision``.
    ``open_set``: options of :func:`trainer.openset_fit.open_set_sections` (shots, frr, score, similarity, form,
    pretend). ``replace_signed``: an existing signed bundle at ``out`` may be replaced (``--force``)."""
    import os

    from safetensors.torch import save_file

    run, out = Path(run), Path(out)
    sweep_stale(out)
    _refuse_out(out, replace_signed)
    r = TrainingRun.read(run)
    model = r.load_model()
    calibrated = calibrate(model, r, calibration, target_precision, confidence) if calibration else None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", dir=out.parent))
    try:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        export_onnx(model, tmp / "model.onnx", r.spec.crop_size)
        st_manifest = selftest_manifest or Path(r.args["val"] if r.args.get("val") else r.args["train"])
        images, names = _write_selftest_images(tmp, st_manifest, r.labels, selftest_count, r.spec.resize_size)
        diff, session = _check_onnx(model, tmp / "model.onnx", images, r.spec, atol, run)
        held_back = list(calibration or []) or [Path(r.args["val"]) if r.args.get("val") else None]
        sections = _open_set(model, r, tmp, session, held_back, open_set or {})  # writes prototypes.npy first
        manifest = _manifest(r, tmp, model_version, expires_days, diff, _catalog_schema(catalog))
        manifest = dataclasses.replace(manifest, extra={**manifest.extra, **sections})
        if calibrated is not None:
            manifest = dataclasses.replace(manifest, auto_add_threshold=calibrated["auto_add"]["threshold"],
                                           metrics={**manifest.metrics, **calibrated})
        write_manifest(tmp, manifest)

        # record what the exported ONNX model answers for the self-test images, one at a time as at the till
        # (kiosk.bundle_format.verify compares a kiosk's own answers with these before it installs the bundle)
        def probabilities(batch: list[np.ndarray]) -> np.ndarray:
            return softmax(session.run(None, {"input": preprocess_batch(batch, r.spec)})[0])

        manifest = dataclasses.replace(manifest, selftest=record_selftest(probabilities, r.labels, tmp, names))
        write_manifest(tmp, manifest)
        val = Path(r.args["val"]) if r.args.get("val") else None
        if evaluate and val is not None and val.is_file():
            manifest = _with_evaluation(tmp, manifest, val)
            write_manifest(tmp, manifest)
        _move_into_place(tmp, out, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"bundle v{manifest.model_version} written to {out} ({len(manifest.files)} files)")
    return out
