"""``checkout bench kiosk``: where a frame's time goes, and what the recogniser costs over bare ONNX Runtime.

For each of ``--frames`` frames (the camera replay loops when it is shorter) the bench measures

* ``capture``: reading the frame from the source (decode for files/folders);
* ``preprocess`` / ``inference`` / ``postprocess``: the stages :meth:`Recognizer.recognize` reports;
* ``recognise``: the whole :meth:`Recognizer.recognize` call, wall time;
* ``bare_ort``: ``onnxruntime.InferenceSession.run`` on the same ``model.onnx`` in a separate session built
  with the recogniser's session options (threads, graph optimisation), fed the same preprocessed input;
* ``barcodes``: the kiosk's camera barcode decoder (:mod:`kiosk.barcodes.frames`, zxing-cpp then OpenCV's
  detector) on the same frame, as the counter runs it on each placed item's frame before recognition.

``recognise`` and ``bare_ort`` run on the same frame one after the other, alternating which goes
first, so background load and cache effects fall on both alike. The bare run's input is preprocessed
(untimed) just before it, as inside ``recognize()``, so both inference calls start from the same state
of ONNX Runtime's thread pool. The report gives p50/p95 per stage
and ``ratio = p50(recognise) / p50(bare_ort)`` (acceptance: ≤ 1.10 for the full 288 px model).
``--precision auto|fp32|int8`` picks which of the bundle's models the recogniser runs (``auto``: as the kiosk
would); the bare session runs the same model file.

``--compare BACKEND:PRECISION …`` (e.g. ``onnxruntime:fp32 onnxruntime:int8 openvino:fp32``) benches several
recognisers on the same frames instead, in the same run: each frame goes through every one of them, the order
rotating from frame to frame, and the report gives each one's stages and its p50 over the first one's.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import TextIO

__all__ = ["run_bench", "run_compare", "format_report", "format_compare", "parse_config", "DEFAULT_CAMERA", "STAGES"]

DEFAULT_CAMERA = "folder:assets/demo/camera?hold=1"
STAGES = ("capture", "preprocess", "inference", "postprocess", "recognise", "bare_ort", "barcodes")


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without numpy."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _frames(camera: str, n: int):
    """``n`` frames from ``camera`` with the time each read took; a replay that ends is reopened."""
    from kiosk.camera import create_source

    source = create_source(camera)
    source.open()
    got = 0
    try:
        while got < n:
            t0 = time.perf_counter()
            frame = source.read()
            dt = (time.perf_counter() - t0) * 1e3
            if frame is None:
                if got == 0:
                    from kiosk.errors import UserError

                    raise UserError(f"camera {camera!r}: no frames")
                source.open()  # replay finished: start again
                continue
            got += 1
            yield frame, dt
    finally:
        source.close()


def _each_frame(camera: str, warmup: int, frames: int, progress: bool, measure) -> None:
    """``measure(i, image, capture_ms, timed)`` for ``warmup`` untimed then ``frames`` timed frames of ``camera``."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=warmup + frames, desc="bench kiosk", unit="frame", file=sys.stderr)
    try:
        for i, (frame, capture_ms) in enumerate(_frames(camera, warmup + frames)):
            measure(i, frame.image, capture_ms, i >= warmup)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()


def _stats(samples: dict[str, list[float]]) -> dict:
    return {k: {"p50": _percentile(v, 50), "p95": _percentile(v, 95), "mean": statistics.fmean(v) if v else 0.0}
            for k, v in samples.items()}


def _bare_session(ort, model: Path, session):
    """A second session of the recogniser's model file with its options: the bare baseline, and its in/out names."""
    options, providers = session.get_session_options(), session.get_providers()
    bare = ort.InferenceSession(str(model), sess_options=options, providers=providers)
    return bare, bare.get_inputs()[0].name, bare.get_outputs()[0].name


def _attach_gallery(rec, gallery: str | Path | None):
    """Attach the existing gallery folder ``gallery`` to ``rec`` (photos taught under another model are embedded
    under this one first, as the kiosk does); ``(gallery, what it holds)``, or ``(None, None)`` without one."""
    if gallery is None:
        return None, None
    from kiosk.gallery import Gallery

    g = Gallery.open(gallery, create=False)
    try:
        snap = g.snapshot(rec.feature_key, rec.embed)
        rec.attach_gallery(g)
    except BaseException:
        g.close()
        raise
    exemplars = getattr(rec.fusion, "exemplars", None)
    info = getattr(rec.fusion, "info", None)
    return g, {"path": str(gallery), "skus": len(snap.skus), "photos": int(len(snap.vectors)),
               "exemplar_rows": 0 if exemplars is None else int(len(exemplars)),
               "similarity": info.fusion.similarity if info is not None and info.fusion is not None else None}


def run_bench(bundle: str | Path, camera: str = DEFAULT_CAMERA, frames: int = 200, *, threads: int | None = None,
              warmup: int = 10, progress: bool = True, precision: str = "auto",
              gallery: str | Path | None = None) -> dict:
    """Measure ``frames`` frames; returns the report dict (see :func:`format_report`). ``gallery``: a kiosk's
    gallery folder whose taught products the recogniser fuses on every frame."""
    import onnxruntime as ort

    from kiosk.barcodes.frames import open_decoder
    from kiosk.bundle_format.preprocess import preprocess
    from kiosk.recognition.recognizer import Recognizer

    rec = Recognizer.load(bundle, backend="onnxruntime", threads=threads, precision=precision)
    try:
        opened, taught = _attach_gallery(rec, gallery)
    except BaseException:
        rec.close()
        raise
    session, choice = rec.backend.session, rec.backend.model_choice
    bare, in_name, out_name = _bare_session(ort, rec.bundle.path(choice.file), session)
    spec = rec.spec
    decoder = open_decoder()

    def run_recognise(image) -> tuple[float, dict]:
        t0 = time.perf_counter()
        r = rec.recognize(image)
        return (time.perf_counter() - t0) * 1e3, r.timings_ms

    def run_bare(image) -> float:
        # the same preprocessed input, made (untimed) right before the run, so the bare call starts
        # from the same CPU state as the inference inside recognize() (ORT's pool idles for as long)
        x = preprocess(image, spec)[None]
        t0 = time.perf_counter()
        bare.run([out_name], {in_name: x})
        return (time.perf_counter() - t0) * 1e3

    samples: dict[str, list[float]] = {k: [] for k in STAGES}

    def measure(i: int, image, capture_ms: float, timed: bool) -> None:
        if i % 2 == 0:
            total, stages = run_recognise(image)
            bare_ms = run_bare(image)
        else:
            bare_ms = run_bare(image)
            total, stages = run_recognise(image)
        if timed:
            samples["capture"].append(capture_ms)
            for k in ("preprocess", "inference", "postprocess"):
                samples[k].append(stages[k])
            samples["recognise"].append(total)
            samples["bare_ort"].append(bare_ms)
        t0 = time.perf_counter()
        decoder.decode(image)
        if timed:
            samples["barcodes"].append((time.perf_counter() - t0) * 1e3)

    try:
        _each_frame(camera, warmup, frames, progress, measure)
    finally:
        rec.close()
        if opened is not None:
            opened.close()
    return _report(bundle, rec, choice, session, camera, warmup, decoder.name, taught, samples)


def _report(bundle, rec, choice, session, camera: str, warmup: int, decoder_name: str, taught: dict | None,
            samples: dict[str, list[float]]) -> dict:
    """The report dict of one run (see :func:`format_report`) from its per-frame ``samples``."""
    import onnxruntime as ort

    stats = _stats(samples)
    opts = session.get_session_options()
    spec = rec.spec
    return {
        "bundle": str(bundle),
        "model_version": rec.model_version,
        "architecture": rec.bundle.manifest.architecture,
        "precision": choice.precision,
        "model_file": choice.file,
        "input": [1, 3, spec.crop_size, spec.crop_size],
        "camera": camera,
        "frames": len(samples["recognise"]),
        "warmup": warmup,
        "providers": session.get_providers(),
        "intra_op_threads": opts.intra_op_num_threads,
        "inter_op_threads": opts.inter_op_num_threads,
        "opencv_threads": _opencv_threads(),
        "onnxruntime": ort.__version__,
        "barcode_decoder": decoder_name,
        "gallery": taught,
        "stages_ms": stats,
        "ratio_p50": stats["recognise"]["p50"] / stats["bare_ort"]["p50"],
        "ratio_mean": stats["recognise"]["mean"] / stats["bare_ort"]["mean"],
        # the same frame's two timings side by side: robust to load that drifts during the run
        "ratio_paired_p50": _percentile(
            [r / b for r, b in zip(samples["recognise"], samples["bare_ort"]) if b > 0], 50
        ),
    }


def _opencv_threads() -> int:
    import cv2

    return cv2.getNumThreads()


def format_report(report: dict) -> str:
    lines = [
        f"bench kiosk: bundle {report['bundle']} (v{report['model_version']} {report['architecture']}, "
        f"input {'x'.join(map(str, report['input']))}, {report['precision']} {report['model_file']})",
        f"camera {report['camera']}; {report['frames']} frames after {report['warmup']} warm-up; "
        f"onnxruntime {report['onnxruntime']} {','.join(report['providers'])}, "
        f"intra-op threads {report['intra_op_threads'] or 'default'}, inter-op {report['inter_op_threads']}, "
        f"OpenCV threads {report.get('opencv_threads', '?')}",
        f"{'stage':<12}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}",
    ]
    for name in STAGES:
        s = report["stages_ms"][name]
        lines.append(f"{name:<12}{s['p50']:>10.3f}{s['p95']:>10.3f}{s['mean']:>10.3f}")
    lines.append(f"barcodes: the {report.get('barcode_decoder', '?')} decoder on the same frames")
    g = report.get("gallery")
    if g:
        how = (f"by a probe fitted on {g['exemplar_rows']} exemplar row(s) and them" if g.get("similarity") == "probe"
               else f"against {g['exemplar_rows']} exemplar row(s)")
        lines.append(f"gallery {g['path']}: {g['skus']} taught product(s), {g['photos']} photo(s), fused on every "
                     f"frame {how} (in postprocess)")
    lines.append(f"recognise / bare ORT: p50 ratio {report['ratio_p50']:.3f} (target <= 1.10); mean ratio "
                 f"{report['ratio_mean']:.3f}; median per-frame ratio {report['ratio_paired_p50']:.3f}")
    return "\n".join(lines) + "\n"


def parse_config(text: str) -> tuple[str, str]:
    """``BACKEND[:PRECISION]`` of ``--compare`` → ``(backend, precision)``; the precision defaults to auto."""
    from kiosk.errors import UserError
    from kiosk.recognition.backends.base import BACKEND_MODULES
    from kiosk.recognition.precision import PRECISIONS

    backend, _, precision = text.partition(":")
    precision = precision or "auto"
    if backend not in BACKEND_MODULES or precision not in PRECISIONS:
        raise UserError(f"--compare {text!r}: expected BACKEND[:PRECISION], backend one of "
                        f"{', '.join(BACKEND_MODULES)}, precision one of {', '.join(PRECISIONS)}")
    return backend, precision


def run_compare(bundle: str | Path, configs: list[tuple[str, str]], camera: str = DEFAULT_CAMERA, frames: int = 200,
                *, threads: int | None = None, warmup: int = 10, progress: bool = True) -> dict:
    """Every recogniser of ``configs`` (``(backend, precision)``) on the same frames, order rotating per frame."""
    from kiosk.recognition.recognizer import Recognizer

    recs: list = []
    try:
        for backend, precision in configs:
            recs.append(Recognizer.load(bundle, backend=backend, threads=threads, precision=precision))
        keys = ("recognise", "preprocess", "inference", "postprocess")
        samples = [{k: [] for k in keys} for _ in recs]

        def measure(i: int, image, capture_ms: float, timed: bool) -> None:
            for j in range(len(recs)):
                k = (i + j) % len(recs)
                t0 = time.perf_counter()
                result = recs[k].recognize(image)
                total = (time.perf_counter() - t0) * 1e3
                if timed:
                    samples[k]["recognise"].append(total)
                    for name in keys[1:]:
                        samples[k][name].append(result.timings_ms[name])

        _each_frame(camera, warmup, frames, progress, measure)
        first = samples[0]
        runs = [{"config": f"{b}:{p}", "backend": rec.backend.describe(), "stages_ms": _stats(s),
                 "ratio_p50": _percentile(s["recognise"], 50) / _percentile(first["recognise"], 50),
                 "inference_ratio_p50": _percentile(s["inference"], 50) / _percentile(first["inference"], 50),
                 "ratio_paired_p50": _percentile([a / f for a, f in zip(s["recognise"], first["recognise"]) if f > 0],
                                                 50)}
                for (b, p), rec, s in zip(configs, recs, samples)]
        spec = recs[0].spec
        return {"bundle": str(bundle), "model_version": recs[0].model_version,
                "architecture": recs[0].bundle.manifest.architecture, "input": [1, 3, spec.crop_size, spec.crop_size],
                "camera": camera, "frames": len(first["recognise"]), "warmup": warmup, "threads": threads or 0,
                "runs": runs}
    finally:
        for rec in recs:
            rec.close()


def format_compare(report: dict) -> str:
    lines = [
        f"bench kiosk --compare: bundle {report['bundle']} (v{report['model_version']} {report['architecture']}, "
        f"input {'x'.join(map(str, report['input']))}); camera {report['camera']}; {report['frames']} frames after "
        f"{report['warmup']} warm-up, each through every recogniser in rotating order; threads "
        f"{report['threads'] or 'default'}",
        f"{'config':<20}{'recognise p50':>14}{'p95':>9}{'inference p50':>15}{'preprocess p50':>16}{'vs first':>10}"
        f"{'inference vs first':>20}",
    ]
    for run in report["runs"]:
        s = run["stages_ms"]
        lines.append(f"{run['config']:<20}{s['recognise']['p50']:>14.2f}{s['recognise']['p95']:>9.2f}"
                     f"{s['inference']['p50']:>15.2f}{s['preprocess']['p50']:>16.3f}{run['ratio_p50']:>9.3f}x"
                     f"{run['inference_ratio_p50']:>19.3f}x")
    lines.append("(ms; vs first = p50 over the first config's p50; per-frame median ratios of recognise: "
                 + ", ".join(f"{r['config']} {r['ratio_paired_p50']:.3f}" for r in report["runs"]) + ")")
    lines += [f"  {r['config']}: {r['backend']}" for r in report["runs"]]
    return "\n".join(lines) + "\n"


def main(args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    compare = getattr(args, "compare", None)
    if compare:
        report = run_compare(args.bundle, [parse_config(c) for c in compare], args.camera, args.frames,
                             threads=args.threads or None, warmup=args.warmup, progress=not args.no_progress)
        out.write(json.dumps(report, sort_keys=True) + "\n" if args.json else format_compare(report))
        return 0
    report = run_bench(args.bundle, args.camera, args.frames, threads=args.threads or None, warmup=args.warmup,
                       progress=not args.no_progress, precision=getattr(args, "precision", "auto"),
                       gallery=getattr(args, "gallery", None))
    out.write(json.dumps(report, sort_keys=True) + "\n" if args.json else format_report(report))
    return 0
