"""``checkout bundle quantize BUNDLE --calibration MANIFEST``: an int8 model for the till, next to the fp32 one.

ONNX Runtime static quantization: QDQ format, per-channel int8 weights, uint8 activations (VNNI's native u8×s8
product; the till picks int8 only where the CPU has VNNI, see ``kiosk.recognition.precision``), activation ranges
calibrated (MinMax by default, averaged over the photos) on ``--images`` photos drawn from the training manifest, one
per SKU in turn, each preprocessed exactly as the kiosk does (:func:`kiosk.bundle_format.preprocess.preprocess`).
The layers that read the image and write the logits stay fp32 (:func:`end_nodes`).

Before anything is written the int8 model is scored against the fp32 one on a validation manifest (the run's val
by default); when its top-1 is more than ``--tolerance`` points below fp32's the command refuses (exit 2) and the
bundle is left as it was. Otherwise ``model.int8.onnx`` goes into the bundle with its sha256 in the manifest and
the manifest's ``int8`` section (:mod:`kiosk.bundle_format.int8`): the int8 model's own self-test outputs on the
bundle's self-test images, the validation figures and how it was calibrated. The new bundle is assembled beside
the old one and renamed into place.

Head office order: ``bundle export`` → ``bundle quantize`` → ``bundle sign`` → ``bundle publish``. Signing covers
the manifest, so a signed bundle is refused here (sign again after quantizing).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import SIGNATURE, Bundle, file_entry, load_bundle, sha256_file, write_manifest
from kiosk.bundle_format.int8 import INT8_MODEL, Int8Model, int8_model, with_int8
from kiosk.bundle_format.preprocess import load_image, preprocess, preprocess_batch
from kiosk.bundle_format.selftest import record_selftest, softmax
from kiosk.errors import UserError

METHODS = ("minmax", "entropy", "percentile")
FP32_MODEL = "model.onnx"


@dataclass(frozen=True)
class Comparison:
    """int8 against fp32 on one validation manifest (top-1 as fractions, the difference in points)."""

    n: int
    fp32_top1: float
    int8_top1: float
    agreement: float  # share of photos where both give the same top-1

    @property
    def difference_points(self) -> float:
        return 100.0 * (self.int8_top1 - self.fp32_top1)

    def text(self, tolerance: float) -> str:
        return (f"top-1 on {self.n} validation photos: fp32 {self.fp32_top1:.4f}, int8 {self.int8_top1:.4f}, "
                f"difference {self.difference_points:+.2f} points (tolerance {tolerance:g}); same top-1 on "
                f"{self.agreement:.1%}")


def calibration_rows(manifest: Path, labels: list[str], count: int, seed: int = 0, size: int | None = None) -> list:
    """``count`` rows of ``manifest`` whose SKU the model knows, one SKU after another (each SKU's rows shuffled);
    with ``size`` (the model's resize size) only rows whose photo reads as its input, so the count is of photos."""
    from trainer.data.manifest import read_manifest

    known = set(labels)
    by_sku: dict[str, list] = {}
    for r in read_manifest(manifest):
        if r.sku in known:
            by_sku.setdefault(r.sku, []).append(r)
    if not by_sku:
        raise UserError(f"{manifest}: no rows of the model's SKUs to calibrate with")
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(np.array(rows, dtype=object))) for _, rows in sorted(by_sku.items())]
    picked, unreadable = [], []
    while len(picked) < count and any(queues):
        for q in queues:
            while q and len(picked) < count:
                r = q.pop()
                why = load_image(r.path, size)[1] if size is not None else ""
                if not why:
                    picked.append(r)
                    break
                unreadable.append((r, why))
    if not picked:
        r, why = unreadable[0]
        raise UserError(f"{manifest}: none of its {len(unreadable)} photos of the model's SKUs can be read to "
                        f"calibrate with (first: {r.path}: {why})")
    if unreadable:
        print(f"{manifest}: {len(unreadable)} unreadable photo(s) passed over (first: {unreadable[0][0].path}: "
              f"{unreadable[0][1]})", flush=True)
    return picked


def calibration_reader(rows: list, spec, input_name: str):
    """An ONNX Runtime CalibrationDataReader over ``rows``' photos, preprocessed as the kiosk does."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(rows)

        def get_next(self):
            for r in self.rows:
                image = load_image(r.path, spec.resize_size)[0]
                if image is not None:
                    return {input_name: preprocess(image, spec)[None]}
            return None

    return Reader()


def end_nodes(model_path: Path) -> list[str]:
    """The nodes that read the network's input or write its output (the first convolution, the classifier): kept
    in fp32. Measured on a MobileNetV2 at 288 px: int8 and fp32 gave the same top-1 on 97.0% of val photos this way,
    95.3% with every node quantized, at the same speed. Unnamed nodes are named first (``model_path`` rewritten):
    the quantizer tells nodes apart by name."""
    import onnx

    model = onnx.load(str(model_path))
    graph = model.graph
    unnamed = [n for n in graph.node if not n.name]
    for i, node in enumerate(unnamed):
        node.name = f"unnamed/{node.op_type}_{i}"
    if unnamed:
        onnx.save(model, str(model_path))
    ends = {i.name for i in graph.input} | {o.name for o in graph.output}
    return [n.name for n in graph.node if ends & ({*n.input} | {*n.output})]


def quantize_model(fp32: Path, out: Path, reader, method: str = "minmax") -> list[str]:
    """Static QDQ quantization of ``fp32`` into ``out``: per-channel int8 weights, uint8 activations with ranges
    averaged over the calibration photos, the first and last layers left in fp32; returns those layers' names."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_static

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)  # its INFO lines say nothing to act on
    calibrate = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                 "percentile": CalibrationMethod.Percentile}[method]
    with tempfile.TemporaryDirectory(prefix="quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared))  # shape inference + graph clean-up, as ONNX Runtime advises
        kept = end_nodes(prepared)
        quantize_static(str(prepared), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=calibrate,
                        nodes_to_exclude=kept, extra_options={"CalibMovingAverage": True})
    return kept


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _probabilities(session, spec):
    name = session.get_inputs()[0].name
    return lambda images: softmax(session.run(None, {name: preprocess_batch(images, spec)})[0])


def compare(bundle: Bundle, int8_path: Path, manifest: Path) -> Comparison:
    """fp32 and int8 top-1 on ``manifest``, through the kiosk's preprocessing."""
    from trainer.evaluate import Predictor, predict_manifest

    m = bundle.manifest
    groups = m.catalog.get("groups", {})
    results = []
    for path in (bundle.path(FP32_MODEL), int8_path):
        pred = Predictor(m.labels, groups, m.preprocess, _probabilities(_session(path), m.preprocess), str(path))
        probs, targets, _, _ = predict_manifest(pred, manifest)
        results.append(probs.argmax(1))
    fp32, int8 = results
    return Comparison(len(targets), float((fp32 == targets).mean()), float((int8 == targets).mean()),
                      float((fp32 == int8).mean()))


def _validation_manifest(bundle: Bundle, given: Path | None, calibration: Path) -> Path:
    """``--val``, else the run's val; refused when its photos are ones int8 was calibrated on (the calibration
    photos may be training photos, issue 11) or the model trained on: the check would measure nothing."""
    from trainer.data.overlap import find_overlap, training_manifests

    args = bundle.manifest.trainer.get("args", {})
    val, option = (given, "--val") if given is not None else (Path(args.get("val") or ""), "the run's val")
    if given is None and not (args.get("val") and val.is_file()):
        raise UserError(f"{bundle.root}: no --val given and the bundle's training run names no readable val manifest")
    for what, manifests in (("--calibration", [calibration]), ("the bundle's training manifest",
                                                                training_manifests(args))):
        overlap = find_overlap(val, manifests)
        if overlap is not None:
            raise UserError(f"{overlap.text(option, what)}; int8 would be checked on photos it was calibrated or "
                            "trained on — validate on photos held back from both")
    return val


def _assemble(bundle: Bundle, int8_file: Path, int8: Int8Model) -> Path:
    """A copy of the bundle (hard links) with the int8 model and the new manifest, checked; returns its folder."""
    root = bundle.root
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.quantize.", dir=root.parent))
    for name in bundle.manifest.files:
        if name == int8.file:
            continue
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(root / name, tmp / name)
        except OSError:
            shutil.copy2(root / name, tmp / name)
    shutil.copy2(int8_file, tmp / int8.file)
    files = {k: v for k, v in bundle.manifest.files.items() if k != int8.file}
    manifest = with_int8(dataclasses.replace(bundle.manifest, files=files), int8, file_entry(tmp / int8.file))
    write_manifest(tmp, manifest)
    load_bundle(tmp)  # every file listed with the right hash, nothing unlisted
    return tmp


def _swap_in(tmp: Path, root: Path) -> None:
    from trainer.export import _move_into_place

    _move_into_place(tmp, root, force=True)  # swapped in one step where the system can


def quantize_bundle(root: Path, calibration: Path, val: Path | None = None, images: int = 200,
                    tolerance: float = 0.5, method: str = "minmax", seed: int = 0) -> Comparison:
    """Quantize ``root``'s model into it, or raise UserError (nothing written) beyond ``tolerance`` points."""
    import onnxruntime as ort

    root = Path(root)
    if (root / SIGNATURE).exists():
        raise UserError(f"{root / SIGNATURE}: the bundle is signed; quantize before `checkout bundle sign` "
                        "(export → quantize → sign → publish), then sign it again")
    if images < 1 or tolerance < 0 or method not in METHODS:
        raise UserError(f"--images {images} / --tolerance {tolerance} / --method {method}: need images ≥ 1, "
                        f"tolerance ≥ 0 points, method one of {', '.join(METHODS)}")
    bundle = load_bundle(root)
    int8_model(bundle.manifest)  # a malformed int8 section is refused before any work
    val = _validation_manifest(bundle, val, Path(calibration))
    m = bundle.manifest
    rows = calibration_rows(calibration, m.labels, images, seed, size=m.preprocess.resize_size)
    with tempfile.TemporaryDirectory(prefix="quantize-", dir=root.parent) as work:
        int8_path = Path(work) / INT8_MODEL
        input_name = _session(bundle.path(FP32_MODEL)).get_inputs()[0].name
        print(f"calibrating on {len(rows)} photos of {calibration} ({method}) …", flush=True)
        kept = quantize_model(bundle.path(FP32_MODEL), int8_path, calibration_reader(rows, m.preprocess, input_name),
                              method)
        result = compare(bundle, int8_path, val)
        print(result.text(tolerance), flush=True)
        if result.difference_points < -tolerance:
            raise UserError(f"{root}: int8 top-1 is {-result.difference_points:.2f} points below fp32 on {val} "
                            f"(tolerance {tolerance:g}); bundle left as it was")
        names = [c.image for c in m.selftest]
        selftest = record_selftest(_probabilities(_session(int8_path), m.preprocess), m.labels, root, names,
                                   k=max((len(c.top_labels) for c in m.selftest), default=3))
        int8 = Int8Model(INT8_MODEL, selftest, validation={
            "manifest": str(val), "manifest_sha256": sha256_file(val), "n": result.n,
            "fp32_top1": result.fp32_top1, "int8_top1": result.int8_top1,
            "difference_points": round(result.difference_points, 4), "agreement": result.agreement,
            "tolerance_points": tolerance,
        }, calibration={
            "manifest": str(calibration), "manifest_sha256": sha256_file(calibration), "images": len(rows),
            "seed": seed, "method": method, "moving_average": True, "format": "QDQ", "per_channel": True,
            "weights": "int8", "activations": "uint8", "fp32_nodes": kept, "onnxruntime": ort.__version__,
        })
        _swap_in(_assemble(bundle, int8_path, int8), root)
    print(f"{root}: {INT8_MODEL} added ({(root / INT8_MODEL).stat().st_size / 1e6:.1f} MB); sign the bundle next")
    return result
