"""``checkout evaluate onboarding --data MANIFEST --holdout-skus K --shots N [--json]``: how well new products are taken
on without a retrain, how well unknown items are told apart, and what an incremental retrain costs next to a full one.

The protocol (seeded, every step cached in ``--work`` so a second run only redoes what changed):

1. **SKUs.** ``K`` SKUs are *new* (kept out of the base model), ``U`` more (``--unknown-skus``, default ``K``) are
   *unknown* (never trained, never enrolled); the rest are *old*.
2. **Photos.** Per new SKU, its training photos in a seeded order: the first ``N`` are the enrollment shots, the last
   40 % plus its validation photos are its evaluation photos (nobody ever trains on or enrolls them); the rest, shots
   included, are what a store sends later (``add.csv``: an incremental retrain's ``--add``, a full retrain's extra).
   Per old SKU, 10 % of its training photos are held back as one run of consecutive shots (``calibration.csv``:
   photos of the training sessions that no run trains on), the photo either side of the run is trained on by nobody
   (a guard, as ``checkout data split --guard 1``), the rest is ``base_train.csv``. Old SKUs are evaluated on
   their validation photos (``base_val.csv``: the data's own val, other sessions; also what every run picks its epoch
   on); unknown SKUs on all their photos.
3. **Base model**: the till's recipe (:data:`RECIPE`, ``make model``'s; ``--epochs`` scales it) on the old SKUs only,
   exported with ``calibration.csv`` as its held-back photos (temperature, embedding prototypes, fusion, and the
   open-set thresholds at the exporter's target false-rejection rate on those photos).
4. **Enrollment**: each new SKU through the kiosk's own ``checkout sku enroll`` (every check a store gets) into one
   gallery; its accepted photos are what the gallery fuses.
5. **Measured** with the exported ONNX model and the shared arithmetic (:mod:`kiosk.bundle_format.openset`): the
   enrolled SKUs' top-1/top-3 on their evaluation photos; the old SKUs' top-1 before and after enrollment;
   unknown-item AUROC of every open-set score (known: old and new evaluation photos; unknown: the unknown SKUs'), and
   at the bundle's stored threshold the false-rejection rate on known items and the share of unknown items let
   through, on the held-back photos the threshold was set on and on photos of other sessions (the data's val, old and
   new SKUs: what a store sees); seconds from ``checkout sku enroll`` to the running kiosk's first suggestion
   (``checkout bench enroll``).
6. **Incremental vs full retrain**: ``checkout train --incremental --from BASE --add add.csv`` (``ceil(0.4 ×
   epochs)`` epochs), the same with ``--head-only`` (the classifier alone on the base's kept embeddings,
   :mod:`trainer.head_refit`), and the recipe from ImageNet on old + ``add.csv``: images processed, wall time, top-1
   on every SKU's evaluation photos, and the new SKUs' top-1 under each (what enrollment is compared with).
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.bundle_format.atomic import atomic_write
from kiosk.errors import UserError

__all__ = ["RECIPE", "Split", "choose_split", "format_report", "run_onboarding"]

#: the till's training recipe (``make model``): the base and the full retrain use it, ``--epochs`` aside
RECIPE = ["--arch", "mobilenet_v2", "--weights", ".cache/weights/mobilenet_v2-b0353104.pth",
          "--epochs", "14", "--img-size", "288", "--eval-size", "320", "--freeze", "3", "--lr", "1.5e-3",
          "--backbone-lr-mult", "0.5", "--color-jitter", "0.1", "--head", "cosine", "--keep", "last", "--workers", "1"]
EVAL_SHARE = 0.4  # of a new SKU's training photos, kept for evaluation
CALIBRATION_SHARE = 0.1  # of an old SKU's training photos, held back for the export's calibration
#: recipe options the incremental retrain runs with too (how it runs, not what it trains: the rest comes from the base)
PASSED_ON = ("--threads", "--workers", "--device", "--seed", "--exemplars")


@dataclass
class Split:
    old: list[str]
    new: list[str]
    unknown: list[str]
    base_train: list = field(default_factory=list)
    base_val: list = field(default_factory=list)
    calibration: list = field(default_factory=list)  # old SKUs' held-back training-session photos
    guard: list = field(default_factory=list)  # the photo either side of a held-back run: in no set
    shots: dict[str, list] = field(default_factory=dict)
    add: list = field(default_factory=list)
    new_eval: list = field(default_factory=list)
    new_val: list = field(default_factory=list)  # the new SKUs' validation photos (part of new_eval)
    unknown_rows: list = field(default_factory=list)

    def describe(self) -> dict:
        return {"old_skus": len(self.old), "new_skus": self.new, "unknown_skus": self.unknown,
                "base_train": len(self.base_train), "base_val": len(self.base_val),
                "calibration": len(self.calibration), "guard": len(self.guard), "add": len(self.add),
                "new_eval": len(self.new_eval), "unknown_photos": len(self.unknown_rows),
                "shots": {s: len(v) for s, v in self.shots.items()}}


def choose_split(train: list, val: list, k: int, u: int, shots: int, seed: int = 0) -> Split:
    """The protocol's SKUs and photos (module docstring) from manifest rows (``.path``, ``.sku``)."""
    skus = sorted({r.sku for r in train})
    if k + u >= len(skus):
        raise UserError(f"{len(skus)} SKUs cannot hold {k} new and {u} unknown ones and still train a base")
    rng = random.Random(seed)
    order = skus[:]
    rng.shuffle(order)
    new, unknown = sorted(order[:k]), sorted(order[k:k + u])
    s = Split(sorted(order[k + u:]), new, unknown)
    held_back = random.Random(seed + 1)  # its own stream: the new SKUs' photos stay what they were
    for sku in s.old:
        calibration, guard, rest = _held_back_run([r for r in train if r.sku == sku], held_back)
        s.calibration += calibration
        s.guard += guard
        s.base_train += rest
    s.base_val = [r for r in val if r.sku in s.old]
    s.new_val = [r for r in val if r.sku in new]
    s.unknown_rows = [r for r in train + val if r.sku in unknown]
    for sku in new:
        rows = [r for r in train if r.sku == sku]
        rng.shuffle(rows)
        held = max(1, round(EVAL_SHARE * len(rows)))
        if len(rows) - held < shots:
            raise UserError(f"SKU {sku}: {len(rows)} training photos leave fewer than {shots} shots after "
                            f"{held} evaluation photos")
        s.shots[sku] = rows[:shots]
        s.add += rows[: len(rows) - held]
        s.new_eval += rows[len(rows) - held:] + [r for r in s.new_val if r.sku == sku]
    return s


def _held_back_run(rows: list, rng: random.Random) -> tuple[list, list, list]:
    """An old SKU's held-back photos as one run of consecutive shots (:mod:`trainer.data.sequences`), the photo
    either side of it (the guard, trained on by nobody) and the rest: held back photo by photo, nearly every one
    had a training photo shot a second before or after it, and the calibration learnt from near-copies (README)."""
    from trainer.data.sequences import guard_band, sequences

    seqs = sequences([Path(r.path) for r in rows], [r.sku for r in rows])
    in_seq = {i for q in seqs for i in q}
    loose = sorted((i for i in range(len(rows)) if i not in in_seq), key=lambda i: str(rows[i].path))
    order = loose + [i for q in seqs for i in q]  # shooting order
    n = round(CALIBRATION_SHARE * len(rows)) if len(rows) > 3 else 0
    if n == 0:
        return [], [], [rows[i] for i in order]
    start = rng.randrange(len(rows) - n + 1)
    held = set(order[start:start + n])
    guard = guard_band(seqs, ["held" if i in held else "train" for i in range(len(rows))], 1)
    pick = lambda chosen: [rows[i] for i in order if i in chosen]  # noqa: E731
    return pick(held), pick(guard), pick(set(order) - held - guard)


def _write(rows: list, path: Path) -> Path:
    from trainer.data.manifest import write_manifest

    return write_manifest(rows, path)


def _catalog(path: Path, skus: list[str]) -> Path:
    """A catalog that sells every SKU of the data (by unit; demo prices): what the kiosk's enrollment checks."""
    from catalog.model import Sku
    from catalog.repository import Catalog

    if not path.is_file():
        with Catalog.open(path) as cat:
            cat.upsert_many([Sku(s, s.replace("-", " ").title()[:120], "onboarding", "unit", 10_000, 0, "0808")
                             for s in skus])
    return path


# -- training ---------------------------------------------------------------------------------------------------------
#: ``checkout train`` options the protocol passes itself (its manifests, run folders, cache), from the argv it builds
#: (:func:`_protocol_argv`), and those that would make a run something else than a fresh training of its manifests;
#: ``--epochs`` is the recipe's own (the protocol scales it)
NOT_IN_RECIPE_TOO = ("--resume", "--auto-resume", "--shards", "--export", "--replay")


def _protocol_argv(args, recipe: tuple = (), incremental: tuple = ("--epochs", "1")) -> dict[str, list[str]]:
    """The ``checkout train`` argv of each training the protocol runs: the base and the full retrain with ``recipe``
    (the recipe's options, :func:`_recipe`), the incremental one with ``incremental`` (its epochs and
    :func:`_passed_on`)."""
    w, end = Path(args.work), ["--cache-dir", str(args.cache_dir), "--no-progress"]
    val = ["--val", str(w / "base_val.csv")]
    return {"base": ["--train", str(w / "base_train.csv"), *val, "--out", str(w / "base"), *recipe, *end],
            "full": ["--train", str(w / "full_train.csv"), *val, "--out", str(w / "full"), *recipe, *end],
            "incremental": ["--incremental", "--from", str(w / "base"), "--add", str(w / "add.csv"), *val,
                            "--out", str(w / "incremental"), *incremental, *end],
            "head_refit": ["--incremental", "--head-only", "--from", str(w / "base"), "--add", str(w / "add.csv"),
                           *val, "--out", str(w / "head-refit"), *end]}


def _check_recipe(args, recipe: list[str]) -> list[str]:
    """``recipe`` parsed by ``checkout train``'s own parser: an unknown option or a bad value, or an option the
    protocol sets itself (:func:`_protocol_argv`, :data:`NOT_IN_RECIPE_TOO`), is one line naming it."""
    import argparse

    from trainer.options import get_args_parser

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise UserError(f"--recipe: {message} (give checkout train options, one quoted string)")

    parser = get_args_parser(Parser(prog="--recipe", add_help=False))
    parsed, defaults = parser.parse_args(recipe), parser.parse_args([])
    owned = {a for argv in _protocol_argv(args).values() for a in argv if a.startswith("--")} - {"--epochs"}
    owned.update(o for o in NOT_IN_RECIPE_TOO if o in parser._option_string_actions)
    for option in sorted(owned):
        dest = parser._option_string_actions[option].dest
        if getattr(parsed, dest) != getattr(defaults, dest):  # abbreviated (--ou) and --opt=value forms too
            raise UserError(f"--recipe: {option} is the onboarding protocol's own (it sets it for every training it "
                            "runs); leave it out of the recipe")
    return recipe


def _recipe_args(args) -> list[str]:
    import shlex

    if not args.recipe:
        return list(RECIPE)
    try:
        recipe = shlex.split(args.recipe)
    except ValueError as exc:
        raise UserError(f"--recipe {args.recipe!r}: {exc} (one quoted string of checkout train options)") from None
    return _check_recipe(args, recipe)


def _passed_on(args) -> list[str]:
    """The recipe's options an incremental run takes from the command line, not from its base (:data:`PASSED_ON`)."""
    recipe, out = _recipe_args(args), []
    for i, a in enumerate(recipe[:-1]):
        if a in PASSED_ON:
            out += [a, recipe[i + 1]]
    return out


def _recipe(args, epochs: int | None = None) -> list[str]:
    """The recipe's options (``--epochs`` set to ``epochs``), as the base and the full retrain run them."""
    recipe = _recipe_args(args)
    if epochs is not None:
        i = recipe.index("--epochs") if "--epochs" in recipe else None
        recipe = recipe[:i] + recipe[i + 2:] if i is not None else recipe
        recipe += ["--epochs", str(epochs)]
    return recipe


def _train(name: str, argv: list[str], run: Path, after: Path | None = None) -> dict:
    """``checkout train argv`` into ``run`` unless a finished run with the same command (newer than ``after``, the
    file it starts from) is there; returns its wall time and images processed (summed over its epochs)."""
    import shutil

    from kiosk.cli import main as checkout
    from trainer.incremental import images_processed

    done = run / "onboarding-run.json"
    defaults = _defaults(argv)
    if (done.is_file() and json.loads(done.read_text()).get("argv") == argv
            and json.loads(done.read_text()).get("defaults", {}) == defaults
            and (after is None or done.stat().st_mtime >= after.stat().st_mtime)):
        return json.loads(done.read_text())
    shutil.rmtree(run, ignore_errors=True)  # a run appends to its metrics: start clean
    t0 = time.perf_counter()
    print(f"onboarding: {name}: checkout train {' '.join(argv)}", flush=True)
    if checkout(["train", *argv]) != 0:
        raise UserError(f"onboarding: the {name} training failed")
    seconds = time.perf_counter() - t0
    record = {"argv": argv, "seconds": seconds, "images": images_processed(run), "defaults": defaults}
    if (run / "incremental.json").is_file():
        record["incremental"] = json.loads((run / "incremental.json").read_text())
    atomic_write(done, json.dumps(record, indent=2))
    return record


def _defaults(argv: list[str]) -> dict:
    """What an incremental run takes from the code, not its command line (a rerun after one changes retrains, not
    reuses the old run: the same argv trained with a tenth of the rate, unbalanced, before the seventeenth session)."""
    if "--incremental" not in argv:
        return {}
    if "--head-only" in argv:
        from trainer import head_refit as refit

        return {"steps": refit.STEPS, "lr": refit.LR, "weight_decay": refit.WEIGHT_DECAY, "batch": refit.BATCH}
    from trainer import incremental as inc

    return {"lr_factor": inc.LR_FACTOR, "balance": inc.BALANCE, "distill": inc.DISTILL,
            "replay_ratio": inc.REPLAY_RATIO, "min_replay": inc.MIN_REPLAY,
            **({"hold_old_rows": True} if inc.HOLD_OLD_ROWS else {})}  # off: the runs before it were the same


def _export(run: Path, out: Path, calibration: Path) -> Path:
    """``checkout bundle export RUN --calibration calibration.csv`` unless the bundle is newer than the run and was
    fitted as the exporter fits today (:func:`_export_defaults`)."""
    from trainer.export import export_bundle

    stamp = out / "manifest.json"
    if (stamp.is_file() and stamp.stat().st_mtime >= (run / "best.safetensors").stat().st_mtime
            and _export_defaults(json.loads(stamp.read_text())) == _export_defaults()):
        return out
    return export_bundle(run, out, model_version=1, calibration=[calibration])


def _export_defaults(manifest: dict | None = None) -> dict:
    """What the open-set fit takes from the code (:mod:`trainer.openset_views`, the target false rejections): the
    defaults, or with ``manifest`` (a bundle's) what that bundle was fitted with (a bundle from before them: none, so
    a rerun re-exports it rather than measure the old fit)."""
    from trainer import openset_views as views
    from trainer.openset_fit import DEFAULT_FRR, DEFAULT_SIMILARITY

    if manifest is None:
        return {"exemplar_views": list(views.BANK_VIEWS), "shifted_copies": views.SHIFT_COPIES,
                "shift_strength": views.SHIFT_STRENGTH, "threshold_strength": views.THRESHOLD_STRENGTH,
                "frr": DEFAULT_FRR, "similarity": DEFAULT_SIMILARITY}
    embedding, open_set = manifest.get("embedding") or {}, manifest.get("open_set") or {}
    fusion = embedding.get("fusion") or {}
    return {"exemplar_views": embedding.get("exemplar_views"), "shifted_copies": fusion.get("shifted_copies"),
            "shift_strength": fusion.get("shift_strength"), "threshold_strength": open_set.get("shift_strength"),
            "frr": open_set.get("target_false_rejection"), "similarity": fusion.get("similarity")}


# -- the kiosk's side, through its own commands ----------------------------------------------------------------------
def _kiosk(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *argv], capture_output=True, text=True)


def _enroll(split: Split, bundle: Path, catalog: Path, work: Path) -> dict[str, dict]:
    """Each new SKU through ``checkout sku enroll`` into one gallery: per SKU the photos it accepted, or why not."""
    import shutil

    from kiosk.bundle_format.bundle import load_bundle

    done, gallery = work / "enrolled.json", work / "gallery"
    model = load_bundle(bundle).manifest.files["model.onnx"]["sha256"]
    kept = json.loads(done.read_text()) if done.is_file() else {}
    if kept.get("model") == model and kept.get("staff_confirm"):  # else enrolled by another model, or before staff
        return kept["skus"]                                         # could confirm a look-alike: enrolled again
    shutil.rmtree(gallery, ignore_errors=True)  # enrolled by another base model
    out = {}
    for sku, rows in split.shots.items():
        folder = work / "shots" / sku
        folder.mkdir(parents=True, exist_ok=True)
        for r in rows:
            link = folder / Path(r.path).name
            if not link.exists():
                link.symlink_to(Path(r.path).resolve())
        out[sku] = _enroll_one(sku, folder, gallery, bundle, catalog)
        print(f"onboarding: enroll {sku}: " + (f"{len(out[sku]['photos'])} photos" if out[sku]["enrolled"]
                                               else out[sku]["reason"])
              + (f" (staff confirmed it is not {', '.join(out[sku]['different_from'])})"
                 if out[sku].get("different_from") else ""), flush=True)
    atomic_write(done, json.dumps({"model": model, "staff_confirm": True, "skus": out}, indent=2))
    return out


def _enroll_one(sku: str, folder: Path, gallery: Path, bundle: Path, catalog: Path) -> dict:
    """``checkout sku enroll`` as staff would run it: refused as looking like another product, it is taught again
    with ``--different-from`` those products (every held-out SKU is a product of its own, a new pack of a trained
    one at most), and the first refusal is kept."""
    t0 = time.perf_counter()
    argv = ["sku", "enroll", sku, "--images", str(folder), "--gallery", str(gallery), "--bundle", str(bundle),
            "--catalog", str(catalog), "--staff", "onboarding", "--json"]
    p, first, confirmed = _kiosk(*argv), None, []
    hint = "--different-from "
    if p.returncode != 0 and hint in p.stderr:
        first = (p.stderr.strip().splitlines() or ["?"])[-1]
        confirmed = first.rsplit(hint, 1)[1].split()
        p = _kiosk(*argv, "--different-from", *confirmed)
    if p.returncode != 0:
        return {"enrolled": False, "reason": (p.stderr.strip().splitlines() or ["?"])[-1], "photos": []}
    result = json.loads(p.stdout.strip().splitlines()[-1])
    return {"enrolled": True, "photos": [x["path"] for x in result["photos"] if x["usable"]],
            "refused": [x["reason"] for x in result["photos"] if not x["usable"]],
            "seconds": time.perf_counter() - t0,
            **({"different_from": confirmed, "refused_first": first} if confirmed else {})}


def _time_to_suggestion(split: Split, bundle: Path, catalog: Path, work: Path, enrolled: dict | None = None) -> dict:
    """``checkout bench enroll`` on the first new SKU: the enroll command against a running kiosk (with the
    ``--different-from`` staff confirmed when it was enrolled, ``enrolled``: :func:`_enroll`'s)."""
    sku = split.new[0]
    probes = [str(r.path) for r in split.new_eval if r.sku == sku][:3]
    confirmed = ((enrolled or {}).get(sku) or {}).get("different_from") or []
    p = _kiosk("bench", "enroll", sku, "--images", str(work / "shots" / sku), "--probe", *probes, "--bundle",
               str(bundle), "--catalog", str(catalog), "--json",
               *(["--different-from", *confirmed] if confirmed else []))
    if p.returncode != 0:
        return {"sku": sku, "error": (p.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


# -- scoring with the exported model ---------------------------------------------------------------------------------
def _outputs(bundle: Path, paths: list[Path], work: Path, name: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(logits, embeddings, kept)`` of ``paths`` by the bundle's ONNX model (cached per bundle and list)."""
    import hashlib

    import onnxruntime as ort

    from kiosk.bundle_format.bundle import load_bundle
    from trainer.openset_fit import onnx_outputs

    b = load_bundle(bundle)
    key = hashlib.sha256((b.manifest.files["model.onnx"]["sha256"] + "\n".join(map(str, paths))).encode())
    cache = work / "scores" / f"{name}-{key.hexdigest()[:16]}.npz"
    if cache.is_file():
        d = np.load(cache)
        return d["logits"], d["embeddings"], d["kept"].tolist()
    session = ort.InferenceSession(str(b.path("model.onnx")), providers=["CPUExecutionProvider"])
    logits, emb, kept = onnx_outputs(session, paths, b.manifest.preprocess, desc=f"score {name}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, logits=logits, embeddings=emb, kept=np.asarray(kept))
    return logits, emb, kept


def _topk(logits: np.ndarray, labels: list[str], truth: list[str], k: int) -> float:
    index = {s: i for i, s in enumerate(labels)}
    order = np.argsort(-logits, axis=1)[:, :k]
    hits = [index.get(t, -1) in row for t, row in zip(truth, order)]
    return float(np.mean(hits)) if hits else float("nan")


@dataclass
class Scored:
    logits: np.ndarray
    embeddings: np.ndarray
    truth: list[str]
    paths: list[str]


def _scored(bundle: Path, rows: list, work: Path, name: str) -> Scored:
    logits, emb, kept = _outputs(bundle, [r.path for r in rows], work, name)
    return Scored(logits, emb, [rows[i].sku for i in kept], [str(rows[i].path) for i in kept])


def _gallery(enrolled: dict, bundle: Path, work: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """What the kiosk's gallery holds: the accepted photos' normalised embeddings by the same model."""
    from kiosk.bundle_format.openset import l2_normalise

    pairs = [(sku, Path(p)) for sku, e in sorted(enrolled.items()) if e["enrolled"] for p in e["photos"]]
    skus = sorted({s for s, _ in pairs})
    if not pairs:
        return [], np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    _z, emb, kept = _outputs(bundle, [p for _, p in pairs], work, "gallery")
    owner = np.asarray([skus.index(pairs[i][0]) for i in kept], np.int64)
    return skus, owner, l2_normalise(emb)


def _open_set(rule, known: dict[str, np.ndarray], unknown: dict[str, np.ndarray]) -> dict:
    from kiosk.bundle_format.openset import auroc

    out = {"score": rule.score, "auroc": {}, "false_rejection": {}, "unknown_accepted": {}, "thresholds": {}}
    for name in known:
        threshold = rule.thresholds.get(name)
        out["auroc"][name] = auroc(known[name], unknown[name])
        if threshold is not None:
            out["thresholds"][name] = threshold
            out["false_rejection"][name] = float(np.mean(known[name] < threshold))
            out["unknown_accepted"][name] = float(np.mean(unknown[name] >= threshold))
    return out


def _rejections_by_photos(rule, scores: dict, sets: dict, split: Split) -> dict:
    """False rejections of known items at the stored threshold by where the photos come from: the held-back
    training-session photos the threshold was set on, and other sessions' photos (the data's val: the old SKUs' and
    the enrolled SKUs'), which is what a store sees; with the SKUs enrolled, and for the old SKUs' photos with nothing
    enrolled (the bundle as it arrives, the gallery's logits and prototypes absent, as when the threshold was set)."""
    score, threshold = rule.score, rule.thresholds[rule.score]
    new_val = {str(r.path) for r in split.new_val}
    in_val = np.asarray([p in new_val for p in sets["new"].paths], bool)
    groups = {"held_back_training_sessions": scores["calibration"][score],
              "other_sessions": np.concatenate([scores["old"][score], scores["new"][score][in_val]]),
              "other_sessions_old_skus": scores["old"][score],
              "other_sessions_enrolled_skus": scores["new"][score][in_val],
              "enrolled_skus_training_sessions": scores["new"][score][~in_val],
              "held_back_nothing_enrolled": scores["calibration_bare"][score],
              "other_sessions_old_skus_nothing_enrolled": scores["old_bare"][score]}
    return {name: {"rate": float(np.mean(v < threshold)) if len(v) else float("nan"), "n": int(len(v))}
            for name, v in groups.items()}


def _fitted_probe(b, info, bank: np.ndarray | None, vectors: np.ndarray, owner: np.ndarray, skus: list[str]):
    """The ``probe`` fusion's classifier for this gallery, as the till fits it; ``None`` for the cosine fusions."""
    from kiosk.bundle_format.openset import exemplar_owner
    from kiosk.bundle_format.probe import ProbeBase

    base = ProbeBase.of(info.fusion, bank, exemplar_owner(b, info, bank), b.manifest.labels)
    return None if base is None else base.fit(vectors, owner, skus)


def measure_enrollment(bundle: Path, split: Split, enrolled: dict, work: Path) -> dict:
    """Enrolled SKUs' top-1/3, old SKUs' top-1 before and after, open-set figures (module docstring, step 5)."""
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.bundle_format.openset import (
        embedding_info,
        fuse,
        fusion_similarities,
        l2_normalise,
        load_exemplars,
        load_prototypes,
        open_set_rule,
        open_set_scores,
    )

    b = load_bundle(bundle)
    info, rule, labels = embedding_info(b.manifest), open_set_rule(b.manifest), b.manifest.labels
    skus, owner, vectors = _gallery(enrolled, bundle, work)
    sets = {name: _scored(bundle, rows, work, name) for name, rows in
            (("old", split.base_val), ("new", split.new_eval), ("unknown", split.unknown_rows),
             ("calibration", split.calibration))}

    trained, bank = load_prototypes(b, info), load_exemplars(b, info)
    fitted = _fitted_probe(b, info, bank, vectors, owner, skus)

    def fused(s: Scored):
        query = l2_normalise(s.embeddings)
        sims, best = fusion_similarities(query, info.fusion, vectors, owner, skus, trained, bank, fitted)
        return fuse(s.logits, labels, sims, skus, info.fusion, best)

    f = {name: fused(s) for name, s in sets.items()}
    protos = np.concatenate([trained, vectors]) if len(vectors) else trained
    both = None if bank is None else np.concatenate([bank, vectors]) if len(vectors) else bank
    scores = {name: open_set_scores(f[name].logits, s.embeddings, protos, rule.standardise, both)
              for name, s in sets.items()}
    for name in ("old", "calibration"):  # nothing enrolled: the head and the trained SKUs' prototypes alone
        s = sets[name]
        scores[f"{name}_bare"] = open_set_scores(s.logits, s.embeddings, trained, rule.standardise, bank)
    known = {k: np.concatenate([scores["old"][k], scores["new"][k]]) for k in scores["old"]}
    old, new = sets["old"], sets["new"]
    return {"enrolled_skus": len(skus), "enrolled_top1": _topk(f["new"].logits, f["new"].labels, new.truth, 1),
            "enrolled_top3": _topk(f["new"].logits, f["new"].labels, new.truth, 3), "enrolled_n": len(new.truth),
            "old_top1_before": _topk(old.logits, labels, old.truth, 1),
            "old_top1_after": _topk(f["old"].logits, f["old"].labels, old.truth, 1), "old_n": len(old.truth),
            "open_set": {**_open_set(rule, known, scores["unknown"]), "known_n": len(known["msp"]),
                         "unknown_n": len(sets["unknown"].truth),
                         "target_false_rejection": b.manifest.extra.get("open_set", {}).get("target_false_rejection"),
                         "false_rejection_by_photos": _rejections_by_photos(rule, scores, sets, split)}}


def _head_top1(bundle: Path, split: Split, work: Path, name: str) -> dict:
    """A retrained bundle's own top-1 (no gallery) on every SKU's evaluation photos, and on the new SKUs'."""
    from kiosk.bundle_format.bundle import load_bundle

    labels = load_bundle(bundle).manifest.labels
    old, new = (_scored(bundle, rows, work, f"{name}-{part}") for part, rows in
                (("old", split.base_val), ("new", split.new_eval)))
    both = np.concatenate([old.logits, new.logits])
    return {"all_top1": _topk(both, labels, old.truth + new.truth, 1), "new_top1": _topk(new.logits, labels,
                                                                                          new.truth, 1),
            "old_top1": _topk(old.logits, labels, old.truth, 1), "n": len(old.truth) + len(new.truth)}


@dataclass
class Plan:
    """The protocol's files in ``work``."""

    work: Path
    split: Split
    manifests: dict[str, Path]
    catalog: Path
    epochs: int


def _plan(args) -> Plan:
    from trainer.data.manifest import read_manifest

    recipe = _recipe_args(args)  # checked before anything is written
    work = Path(args.work)
    data = Path(args.data)
    val_path = Path(args.val) if args.val else data.with_name(data.name.replace("train", "val", 1)
                                                               if "train" in data.name else "val.csv")
    if not val_path.is_file():
        raise UserError(f"{val_path}: no validation manifest (pass --val)")
    train, val = read_manifest(args.data), read_manifest(val_path)
    work.mkdir(parents=True, exist_ok=True)
    split = choose_split(train, val, args.holdout_skus, args.unknown_skus if args.unknown_skus is not None
                         else args.holdout_skus, args.shots, args.seed)
    manifests = {name: _write(rows, work / f"{name}.csv") for name, rows in
                 (("base_train", split.base_train), ("base_val", split.base_val),
                  ("calibration", split.calibration), ("add", split.add),
                  ("full_train", split.base_train + split.add), ("new_eval", split.new_eval),
                  ("unknown", split.unknown_rows))}
    epochs = args.epochs or (int(recipe[recipe.index("--epochs") + 1]) if "--epochs" in recipe else 10)
    return Plan(work, split, manifests, _catalog(work / "catalog.sqlite", sorted({r.sku for r in train})), epochs)


def _retrains(args, plan: Plan) -> dict:
    """The incremental retrain from the base run, and (unless ``--no-full``) the full one; each exported."""
    w, m = plan.work, plan.manifests
    out = {}
    inc_epochs = max(1, math.ceil(0.4 * plan.epochs))
    argv = _protocol_argv(args, _recipe(args, plan.epochs), ("--epochs", str(inc_epochs), *_passed_on(args)))
    inc = _train("incremental", argv["incremental"], w / "incremental", after=w / "base" / "best.safetensors")
    cal = m["calibration"]
    out["incremental"] = {**inc, **_head_top1(_export(w / "incremental", w / "incremental-bundle", cal), plan.split,
                                              w, "incremental")}
    refit = _train("head refit", argv["head_refit"], w / "head-refit", after=w / "base" / "best.safetensors")
    out["head_refit"] = {**refit, **_head_top1(_export(w / "head-refit", w / "head-refit-bundle", cal), plan.split,
                                               w, "head-refit")}
    if not args.no_full:
        full = _train("full", argv["full"], w / "full")
        out["full"] = {**full, **_head_top1(_export(w / "full", w / "full-bundle", cal), plan.split, w, "full")}
    return out


def run_onboarding(args) -> dict:
    import platform

    plan = _plan(args)
    w = plan.work
    t0 = time.perf_counter()
    base = _train("base", _protocol_argv(args, _recipe(args, plan.epochs))["base"], w / "base")
    bundle = _export(w / "base", w / "base-bundle", plan.manifests["calibration"])
    enrolled = _enroll(plan.split, bundle, plan.catalog, w)
    result = {"data": str(args.data), "seed": args.seed, "shots": args.shots, "epochs": plan.epochs,
              "recipe": _recipe(args, plan.epochs), "split": plan.split.describe(), "base": base,
              "enrollment": {s: {k: v for k, v in e.items() if k != "photos"} | {"photos": len(e["photos"])}
                             for s, e in enrolled.items()},
              **measure_enrollment(bundle, plan.split, enrolled, w)}
    result["enroll_to_suggestion"] = None if args.no_timing else _time_to_suggestion(plan.split, bundle,
                                                                                    plan.catalog, w, enrolled)
    result.update(_retrains(args, plan))
    result["machine"] = {"cpus": __import__("os").cpu_count(), "cpu": platform.processor() or platform.machine(),
                         "python": platform.python_version(), "seconds": time.perf_counter() - t0}
    atomic_write(w / "onboarding.json", json.dumps(result, indent=2, default=str))
    return result


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def format_report(r: dict) -> str:
    s, o = r["split"], r["open_set"]
    confirmed = sum(bool(e.get("different_from")) for e in r.get("enrollment", {}).values())
    lines = [f"onboarding on {r['data']}: {s['old_skus']} old SKUs, {len(s['new_skus'])} new (enrolled from "
             f"{r['shots']} photos), {len(s['unknown_skus'])} unknown; recipe at {r['epochs']} epochs",
             f"enrolled SKUs ({r['enrolled_skus']} of {len(s['new_skus'])} accepted"
             + (f", {confirmed} once staff confirmed a look-alike is a different product" if confirmed else "")
             + "): top-1 "
             f"{_pct(r['enrolled_top1'])}, top-3 {_pct(r['enrolled_top3'])} on {r['enrolled_n']} other photos",
             f"old SKUs: top-1 {_pct(r['old_top1_before'])} before enrollment, {_pct(r['old_top1_after'])} after "
             f"({r['old_n']} photos)",
             f"unknown items ({o['unknown_n']} photos of SKUs neither trained nor enrolled vs {o['known_n']} known): "
             + ", ".join(f"{k} AUROC {v:.3f}" for k, v in o["auroc"].items()),
             f"at the bundle's stored threshold ({o['score']} ≥ {o['thresholds'][o['score']]:.4f}): false rejections "
             f"{_pct(o['false_rejection'][o['score']])} of known items, {_pct(o['unknown_accepted'][o['score']])} of "
             "unknown items let through"]
    by = o.get("false_rejection_by_photos")
    if by:
        target = o.get("target_false_rejection")
        for title, bare in (("with the new SKUs enrolled", False), ("with nothing enrolled", True)):
            lines.append(f"  false rejections {title}: " + ", ".join(
                f"{name.replace('_nothing_enrolled', '').replace('_', ' ')} {_pct(x['rate'])} of {x['n']}"
                for name, x in by.items() if name.endswith("_nothing_enrolled") == bare)
                + (f" (threshold set for {_pct(target)} on the held-back photos)" if bare and target is not None
                   else ""))
    t = r.get("enroll_to_suggestion")
    if t and "seconds_to_suggestion" in t:
        lines.append(f"checkout sku enroll → the running kiosk's first suggestion of {t['sku']}: "
                     f"{t['seconds_to_suggestion']:.2f} s (the command itself {t['enroll_seconds']:.2f} s)")
    elif t:
        lines.append(f"enroll → suggestion: {t.get('error')}")
    for name, title in RETRAINS:
        if name in r:
            x = r[name]
            lines.append(f"{title}: {x['images']} images processed, {x['seconds'] / 60:.1f} min wall; top-1 "
                         f"{_pct(x['all_top1'])} on all SKUs ({x['n']} photos), new SKUs {_pct(x['new_top1'])}, old "
                         f"{_pct(x['old_top1'])}")
    if "full" in r:
        for name, title in RETRAINS[:2]:
            if name in r:
                lines.append(f"{title.removesuffix(' retrain')} vs full: "
                             f"{r['full']['images'] / max(1, r[name]['images']):.1f}x fewer images, top-1 "
                             f"{100 * (r[name]['all_top1'] - r['full']['all_top1']):+.1f} points")
        lines.append(f"enrolled vs full on the new SKUs: {100 * (r['enrolled_top1'] - r['full']['new_top1']):+.1f} "
                     "points")
    return "\n".join(lines)


#: the retrains of the report, in its order: (result key, title)
RETRAINS = (("incremental", "incremental retrain"), ("head_refit", "head refit (--head-only) retrain"),
            ("full", "full retrain"))
