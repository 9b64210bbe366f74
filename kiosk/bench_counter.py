"""Counter-hardware benches: ``checkout bench barcodes`` and ``checkout bench weight``.

``bench barcodes`` draws ``--frames`` random labels per ``--seed`` (:func:`kiosk.barcodes.synth.random_label`:
EAN-13, EAN-8, UPC-A, UPC-E, GS1 price/weight EAN-13s, DataBar Expanded with a weight, and EAN-13s with a wrong
check digit that must never be read) on a pack anywhere on the grey tray at the kiosk camera's 1280×720, at the
angles, blurs and module sizes below, and reads every picture with each frame decoder
(:mod:`kiosk.barcodes.frames`): the share read right, the frames with a **wrong** code (another code than the
label's, or any code from a wrong check digit), the time per frame (p50/p95) and on frames with no code at all.
``zxing-then-opencv`` (the rule before confirmation) and ``zxing+opencv`` (the kiosk's, confirmed reads) are
measured on the same frames. ``--fixed`` reads the earlier fixed set instead (:func:`barcode_cases`: 6 codes,
centred, every angle × blur × module, and 6 wrong check digits).

``bench weight`` pairs each photo (the grocery-store val split, or the demo camera's basket) with a weight drawn
from its SKU's catalog range (``unit_weight_min_g``..``max_g``; loose produce: 1-6 pieces) and reports the model's
top-1 on the image alone and re-ranked by that weight (:func:`kiosk.services.second_opinion.rerank`). Photos of
SKUs without a range get no weight (the scale has nothing to say about them) and are counted apart. It also
counts ticket switches caught: each pair's weight against every *other* unit SKU with a range, as if that one had
been confirmed (:func:`kiosk.services.second_opinion.check_unit_weight` calls staff when it does not fit).
Each photo is recognised once and its weights drawn under each of ``--seeds`` (default 1-5): every count is given
as its range over the seeds, the switches caught seed by seed too (one seed's figure is one draw of many).
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["run_barcode_bench", "format_barcode_report", "run_weight_bench", "format_weight_report",
           "barcode_cases", "random_cases", "BARCODE_DECODERS"]

#: what ``bench barcodes`` compares by default: each library alone, the rule before confirmation, the kiosk's
BARCODE_DECODERS = ("zxing", "opencv", "zxing-then-opencv", "zxing+opencv")


def _codes() -> list[tuple[str, str, str]]:
    from kiosk.barcodes.gtin import with_check_digit
    from kiosk.barcodes.variable import price_check_digit

    weight = "00548"
    return [("EAN-13", "4006381333931", "EAN13"), ("EAN-8", "96385074", "EAN8"), ("UPC-A", "036000291452", "UPCA"),
            ("UPC-E", "01234565", "UPCE"), ("GS1 price 21", with_check_digit("210010704550"), "EAN13"),
            ("GS1 weight 29", with_check_digit("290107" + str(price_check_digit(weight)) + weight), "EAN13")]


def barcode_cases():
    """The fixed set: ``(label, expected GTIN or None, BGR image)`` for every code × angle × blur × module size,
    then codes with a wrong check digit (expected ``None``)."""
    from kiosk.barcodes.gtin import canonical_gtin
    from kiosk.barcodes.synth import ANGLES, BLURS, MODULES, ean13_bars, tray_scene, zxing_bars

    for (label, code, fmt), angle, blur, module in itertools.product(_codes(), ANGLES, BLURS, MODULES):
        yield label, canonical_gtin(code, fmt), tray_scene(zxing_bars(code, fmt, scale=module), angle=angle,
                                                           blur=blur)
    for angle, code in itertools.product((0, 10, 90), ("4006381333932", "2100107045505")):
        yield "wrong check digit", None, tray_scene(ean13_bars(code), angle=angle, blur=0.5)


def random_cases(seed: int, frames: int):
    """``frames`` random labels of one seed as ``(kind, expected GTIN or None, BGR image)``."""
    from kiosk.barcodes.synth import random_label

    rng = random.Random(seed)
    for _ in range(frames):
        label = random_label(rng)
        yield label.kind, label.want, label.image()


def _p(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(round((len(xs) - 1) * q / 100)))] if xs else float("nan")


def _cases(seeds: tuple[int, ...], frames: int, fixed: bool):
    """``(seed or None, kind, expected GTIN or None, image)``, drawn one at a time (2,000 frames are 5.5 GB)."""
    if fixed:
        for case in barcode_cases():
            yield (None, *case)
        return
    for seed in seeds:
        for case in random_cases(seed, frames):
            yield (seed, *case)


def _tally(stats: dict, seed: int | None, label: str, want: str | None, got: list[str], ms: float) -> None:
    ok = want in got if want is not None else not got
    stats["times"].append(ms)
    if ok and want is not None:
        stats["read_times"].append(ms)
    if any(g != want for g in got):
        stats["wrong"].append({"seed": seed, "kind": label, "want": want, "got": got})
        stats["wrong_by_seed"][str(seed)] = stats["wrong_by_seed"].get(str(seed), 0) + 1
    counts = stats["by_label"].setdefault(label, [0, 0])
    counts[0] += ok
    counts[1] += 1


def run_barcode_bench(decoders: tuple[str, ...] = BARCODE_DECODERS, progress: bool = True, *,
                      seeds: tuple[int, ...] = (1,), frames: int = 400, fixed: bool = False) -> dict:
    """Every decoder on the same frames, one frame at a time: ``frames`` random labels per seed, or the fixed set.
    ``ms_read_p50``: the time per frame on the frames the decoder read right (a confirmed code's time to accept)."""
    import numpy as np

    from kiosk.barcodes.frames import open_decoder
    from kiosk.barcodes.synth import read_as, tray_scene

    opened = {name: open_decoder(name) for name in decoders}
    stats = {name: {"times": [], "read_times": [], "wrong": [], "by_label": {},
                    "wrong_by_seed": {} if fixed else {str(s): 0 for s in seeds}} for name in decoders}
    total = 294 if fixed else len(seeds) * frames
    real = 0
    for seed, label, want, image in _progress(_cases(seeds, frames, fixed), "bench barcodes", progress, total):
        real += want is not None
        for name, decoder in opened.items():
            t0 = time.perf_counter()
            got = [read_as(c) for c in decoder.decode(image)]
            _tally(stats[name], seed, label, want, got, (time.perf_counter() - t0) * 1e3)
    blank = tray_scene(np.full((120, 300), 255, np.uint8), angle=10)
    report = {"cases": len(stats[decoders[0]]["times"]) if decoders else 0, "resolution": "1280x720",
              "fixed": fixed, "seeds": [] if fixed else list(seeds), "frames_per_seed": None if fixed else frames,
              "decoders": {}}
    for name, decoder in opened.items():
        empty = []
        for _ in range(20):
            t0 = time.perf_counter()
            decoder.decode(blank)
            empty.append((time.perf_counter() - t0) * 1e3)
        st = stats[name]
        read = sum(ok for label, (ok, _) in st["by_label"].items() if label != "wrong check digit")
        report["decoders"][name] = {"read": read, "of": real, "wrong_reads": len(st["wrong"]), "wrong": st["wrong"],
                                    "wrong_by_seed": st["wrong_by_seed"], "by_label": st["by_label"],
                                    "ms_p50": _p(st["times"], 50), "ms_p95": _p(st["times"], 95),
                                    "ms_read_p50": _p(st["read_times"], 50), "ms_no_code_p50": _p(empty, 50)}
    return report


def _progress(items, desc: str, progress: bool, total: int | None = None):
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="frame", file=sys.stderr, total=total)


def format_barcode_report(report: dict) -> str:
    from kiosk.barcodes.synth import ANGLES, BLURS, MODULES

    if report["fixed"]:
        what = f"the fixed set: {report['cases']} frames (6 codes, centred; angles {ANGLES}, blur {BLURS} px, " \
               f"modules {MODULES} px; 6 wrong check digits)"
    else:
        what = (f"{report['cases']} random labels ({report['frames_per_seed']} per seed, seeds "
                f"{', '.join(map(str, report['seeds']))}; anywhere on the tray, angles {ANGLES} or any, blur {BLURS} "
                f"px, modules {MODULES} px)")
    lines = [f"bench barcodes: {what} at {report['resolution']}",
             f"{'decoder':<19}{'read':>13}{'wrong':>7}{'p50 ms':>8}{'p95 ms':>8}{'read ms':>9}{'no code ms':>11}"
             f"  by label"]
    for name, d in report["decoders"].items():
        labels = ", ".join(f"{k} {ok}/{n}" for k, (ok, n) in d["by_label"].items())
        share = 100 * d["read"] / d["of"] if d["of"] else float("nan")
        lines.append(f"{name:<19}{d['read']:>6}/{d['of']:<4} {share:>3.0f}%{d['wrong_reads']:>5}{d['ms_p50']:>8.1f}"
                     f"{d['ms_p95']:>8.1f}{d['ms_read_p50']:>9.1f}{d['ms_no_code_p50']:>11.1f}  {labels}")
    if report["seeds"]:
        per_seed = "; ".join(f"{name} {' '.join(str(n) for n in d['wrong_by_seed'].values())}"
                             for name, d in report["decoders"].items())
        lines.append(f"frames with a wrong code per seed ({', '.join(map(str, report['seeds']))}): {per_seed}")
    return "\n".join(lines) + "\n"


# -- weight ---------------------------------------------------------------------------------------------------------
def _val_photos(root: Path) -> list[tuple[Path, str]]:
    """(photo, SKU id) of the grocery-store val split (SKU = class name, lower case, spaces to ``-``)."""
    import csv
    import re

    with open(root / "classes.csv", encoding="utf-8-sig", newline="") as fh:
        names = {int(r[1]): re.sub(r"\s+", "-", r[0].strip()).lower() for r in list(csv.reader(fh))[1:] if r}
    out = []
    for line in (root / "val.txt").read_text(encoding="utf-8").splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 3:
            out.append((root / fields[0], names[int(fields[1])]))
    return out


def _demo_photos(demo: Path) -> list[tuple[Path, str]]:
    import csv

    with open(demo / "basket.csv", newline="") as fh:
        return [(demo / "camera" / r["frame"], r["sku"]) for r in csv.DictReader(fh)]


def draw_weight(sku, rng: random.Random) -> int | None:
    """A weight for a photo of ``sku`` from its catalog range; ``None`` when it has none."""
    lo, hi = sku.unit_weight_min_g, sku.unit_weight_max_g
    if not lo or not hi:
        return None
    pieces = rng.randint(1, 6) if sku.by_weight else 1
    return sum(rng.randint(lo, hi) for _ in range(pieces))


WEIGHT_SEEDS = (1, 2, 3, 4, 5)  # bench weight's default: the weights drawn five times over
COUNTS = ("pairs", "no_range", "image_top1", "weight_top1", "helped", "hurt", "weighed_errors", "switches",
          "switches_caught")


def run_weight_bench(bundle: str, catalog: str, photos: str, *, top_k: int = 3, slack: float = 0.15, seed: int = 15,
                     draws: int = 3, progress: bool = True, seeds: Sequence[int] | None = None) -> dict:
    """``draws`` weights per photo; top-1 of the image alone vs re-ranked by the weight, over the SKUs the model
    knows and the catalog sells. Each photo is recognised once; the weights are drawn again for each of ``seeds``
    (default: ``seed`` alone): ``runs`` holds each seed's counts, ``range`` each count's lowest and highest."""
    from catalog.repository import Catalog
    from kiosk.recognition.recognizer import Recognizer

    pairs = _val_photos(Path(photos)) if (Path(photos) / "val.txt").is_file() else _demo_photos(Path(photos))
    rec = Recognizer.load(bundle, top_k=top_k)
    try:
        with Catalog.open(catalog, create=False) as cat:
            skus = {s.sku: s for s in cat.all()}
            labels = set(rec.bundle.manifest.labels)
            wanted = [p for p in pairs if p[1] in labels and p[1] in skus]
            seen = _recognise(rec, skus, _progress(wanted, "bench weight", progress))
    finally:
        rec.close()
    decoys = [s for s in skus.values() if not s.by_weight and s.unit_weight_min_g]
    runs = [_weigh(seen, skus, decoys, seed=s, draws=draws, slack=slack) for s in (seeds or (seed,))]
    return {"photos": len(seen), "bundle": bundle, "photos_from": photos, "top_k": top_k, "slack": slack,
            "draws": draws, "seeds": [r["seed"] for r in runs], "runs": runs,
            "range": {k: [min(r[k] for r in runs), max(r[k] for r in runs)] for k in COUNTS}}


def _recognise(rec, skus: dict, pairs) -> list[tuple[str, list]]:
    """``(true SKU, [(catalog SKU, score), ...] as the model suggests them)`` per photo that loads."""
    from kiosk.bundle_format.preprocess import load_image

    out = []
    for path, truth in pairs:
        image = load_image(path, rec.spec.resize_size)[0]
        if image is not None:
            out.append((truth, [(skus[s.sku], s.score) for s in rec.recognize(image).suggestions if s.sku in skus]))
    return out


def _weigh(seen: list[tuple[str, list]], skus: dict, decoys: list, *, seed: int, draws: int, slack: float) -> dict:
    """One seed's weight draws over the recognised photos."""
    from kiosk.services.second_opinion import rerank

    rng = random.Random(seed)
    counts = dict.fromkeys(COUNTS, 0)
    for truth, found in seen:
        for _ in range(draws):
            grams = draw_weight(skus[truth], rng)
            counts["no_range"] += grams is None
            _score_pair(counts, truth, found, rerank(found, grams, slack) if grams else found)
            counts["weighed_errors"] += bool(grams) and bool(found) and found[0][0].sku != truth
            _count_switches(counts, truth, grams, decoys, slack)
    return {"seed": seed, **counts}


def _count_switches(counts: dict, truth: str, grams: int | None, decoys: list, slack: float) -> None:
    from kiosk.services.second_opinion import check_unit_weight

    if grams is None:
        return
    for other in decoys:
        if other.sku != truth:
            counts["switches"] += 1
            counts["switches_caught"] += check_unit_weight(other, grams, 1, slack).fits is False


def _score_pair(counts: dict, truth: str, image: list, weighted: list) -> None:
    before = bool(image) and image[0][0].sku == truth
    after = bool(weighted) and weighted[0][0].sku == truth
    counts["pairs"] += 1
    counts["image_top1"] += before
    counts["weight_top1"] += after
    counts["helped"] += after and not before
    counts["hurt"] += before and not after


def _spread(r: dict, key: str) -> str:
    lo, hi = r["range"][key]
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def format_weight_report(r: dict) -> str:
    first, many = r["runs"][0], len(r["runs"]) > 1
    n = max(first["pairs"], 1)
    pct = {k: "-".join(dict.fromkeys(f"{100 * v / n:.1f}" for v in r["range"][k])) + "%"
           for k in ("image_top1", "weight_top1")}
    text = (f"bench weight: {r['photos']} photos from {r['photos_from']} × {r['draws']} weights = {first['pairs']} "
            f"(photo, weight) pairs; bundle {r['bundle']}, top-{r['top_k']}, slack {r['slack']:.0%}, "
            f"seed{'s' if many else ''} {' '.join(map(str, r['seeds']))}\n"
            f"top-1 image alone    {_spread(r, 'image_top1'):>9}/{first['pairs']}  {pct['image_top1']}\n"
            f"top-1 with weight    {_spread(r, 'weight_top1'):>9}/{first['pairs']}  {pct['weight_top1']}\n"
            f"re-ranking fixed {_spread(r, 'helped')}, broke {_spread(r, 'hurt')} (of {_spread(r, 'weighed_errors')} "
            f"image-alone errors with a weight); {_spread(r, 'no_range')} pairs had no weight (SKU without a catalog "
            f"range)\n"
            f"ticket switches caught: {_spread(r, 'switches_caught')}/{first['switches']} (each weighed pair "
            f"confirmed as another unit SKU with a range)\n")
    if many:
        text += "per seed, switches caught: " + ", ".join(f"{x['seed']}: {x['switches_caught']}/{x['switches']}"
                                                         for x in r["runs"]) + "\n"
    return text
