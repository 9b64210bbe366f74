"""``checkout train --incremental --head-only --from RUN --add MANIFEST --out RUN2``: new SKUs in a run of their own in
seconds, from the embeddings the base run kept of every training photo (:mod:`trainer.embeddings`).

1. The base: a run that kept its training photos' embeddings, or a bundle whose run is here. A run trained before runs
   kept them has its training photos embedded once, into its own folder (said in a line; counted apart).
2. ``--add``'s photos pass once through the base network (eval crops): the only images the refit itself costs.
3. The classifier: the base's, grown for the new SKUs (old rows as they were, new rows imprinted:
   :func:`trainer.incremental.new_rows`), then fitted to every kept embedding and the new ones — :data:`STEPS` AdamW
   steps on up to :data:`BATCH` embeddings each, every SKU weighing the same (``--no-class-balance``: every photo),
   ``--shopper-weight``/``--auto-weight`` on rows whose ``trust`` says so (0 leaves them out), the base's label
   smoothing. The backbone is not touched: products the base's features do not tell apart stay confused (measured
   against the fine-tune in docs/onboarding.md).
4. A normal run: ``best.safetensors`` (the base's backbone, the new head), ``labels.json``, ``args.json``,
   ``best.json`` (top-1/top-3 on ``--val``, default the base's), ``metrics.jsonl``, ``exemplars.csv`` (the base's for
   its SKUs, herding for the new) and the embeddings (the base's and the new photos': next month's refit costs next
   month's photos). ``checkout bundle export RUN2`` (or ``--export DIR``) makes its bundle.

Settings measured offline on issue 13's protocol (docs/onboarding.md, "A head refit on kept embeddings"): a head
from the base's rows and one from the SKUs' mean embeddings end within a point of each other after 100, 300 or 1,000
steps on both splits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import UserError

__all__ = ["BATCH", "LR", "STEPS", "WEIGHT_DECAY", "fit_head", "run_head_only"]

STEPS = 300
LR = 1e-2
WEIGHT_DECAY = 1e-4
BATCH = 8192  # embeddings a step (all of them when fewer): full-batch for this catalog, sampled for a grocer's


def run_head_only(args) -> dict:
    """``train --incremental --head-only``: see the module's docstring. Returns what :func:`run_incremental` does."""
    from trainer.run_files import run_lock

    t0 = time.perf_counter()
    if args.base is None or args.add is None or args.out is None:
        raise UserError("train --incremental --head-only needs --from RUN, --add MANIFEST and --out RUN")
    from trainer.options import get_args_parser

    defaults = get_args_parser().parse_args([])
    for given, option in ((args.replay, "--replay"), (args.hold_old_rows, "--hold-old-rows"),
                          (args.distill, "--distill"), (args.freeze, "--freeze"),
                          *((getattr(args, k), f"--{k}") for k in ("epochs", "lr") if getattr(args, k) !=
                            getattr(defaults, k))):
        if given is not None:
            raise UserError(f"{option}: not with --head-only (it fits the classifier alone, {STEPS} steps on every "
                            "kept embedding: only --add's photos pass the network, and the network does not learn)")
    from trainer.train import write_json

    with run_lock(Path(args.out)):
        result = _refit(args)
    record = result["incremental"]
    record["seconds"] = time.perf_counter() - t0
    write_json(Path(args.out) / "incremental.json", record)
    if getattr(args, "export", None):
        from trainer.export import export_bundle

        export_bundle(Path(args.out), Path(args.export))
    return result


def _refit(args) -> dict:
    from trainer import incremental as inc
    from trainer.data.manifest import read_manifest
    from trainer.embeddings import backbone_sha256
    from trainer.train import specs_from_args

    base = inc.read_base(args.base)
    run = Path(args.out)
    inc.refuse_out(run, base)
    inc.refuse_conflicts(args, base)
    added = read_manifest(args.add)
    exemplars = inc.base_exemplars(base)
    inc.check_new_photos(args.add, added, base, exemplars, getattr(args, "min_new_photos", None))
    opts = inc.run_options(args, base)
    model, device = inc.base_network(base, opts)
    spec = specs_from_args(opts)[1]
    cache = opts.cache_dir or run.parent / ".cache"
    digest = backbone_sha256(model)
    stored, backfilled = _kept(base, model, spec, cache, device, digest)
    trusted = [r for r in added if _trust_weight(r, opts) > 0]
    new, _z, f_new = _embed(trusted, model, spec, cache, device, "embed --add's photos")
    labels = sorted(set(base.labels) | {r.sku for r in new})
    grown = _fitted(base, opts, model, labels, stored, new, f_new)
    record = {"base": str(base.root), "base_kind": base.kind, "base_labels": len(base.labels), "head_only": True,
              "new_skus": sorted(set(labels) - set(base.labels)), "added_photos": len(added),
              "left_out_by_trust": len(added) - len(trusted),
              "kept_embeddings": len(stored), "base_photos_embedded": backfilled, "steps": STEPS,
              "images_processed": len(new)}
    refit = Refit(run, base, opts, grown, labels, spec, cache, device, digest)
    best = _write_run(refit, stored, new, f_new, exemplars)
    print(f"head refit: {len(record['new_skus'])} new SKU(s) on {len(base.labels)}; {len(new)} new photos embedded "
          f"beside {len(stored)} kept embeddings; {STEPS} steps on the classifier alone")
    return {"run": str(run), "best": best, "incremental": record}


@dataclass
class Refit:
    """What :func:`_write_run` writes a refitted run from."""

    run: Path
    base: object  # trainer.incremental.Base
    opts: object  # argparse.Namespace: the run's options
    model: object  # the grown, fitted network
    labels: list[str]
    spec: object  # the eval PreprocessSpec
    cache: Path
    device: str
    digest: str  # the backbone's (trainer.embeddings.backbone_sha256)


def _write_run(r: Refit, stored, new: list, f_new: np.ndarray, exemplars: list) -> dict:
    """The run's files (module docstring, 4); returns its best.json."""
    from safetensors.torch import save_file

    from trainer.data.manifest import write_manifest
    from trainer.embeddings import write_embeddings
    from trainer.run_files import METRICS, append_record, labels_sha256
    from trainer.train import args_to_json, write_json

    rows = stored.rows + new
    r.opts.train = write_manifest(rows, r.run / "head-refit-train.csv")
    r.opts.head_only, r.opts.epochs, r.opts.out = True, 0, r.run
    groups = {**r.base.groups, **{row.sku: row.group for row in new if row.sku not in r.base.groups and row.group}}
    write_json(r.run / "labels.json", {"labels": r.labels, "groups": groups})
    write_json(r.run / "args.json", args_to_json(r.opts))
    save_file({k: v.contiguous() for k, v in r.model.state_dict().items()}, str(r.run / "best.safetensors"))
    scores = _validate(r)
    best = {**scores, "epoch": 0, "preprocess": r.spec.to_json(), "arch": r.opts.arch, "num_classes": len(r.labels),
            "labels_sha256": labels_sha256(r.labels)}
    write_json(r.run / "best.json", best)
    append_record(r.run / METRICS, {"epoch": 0, "train_images": len(new), "steps": STEPS,
                                    **{f"val_{k}": v for k, v in scores.items()}})
    vectors = np.concatenate([stored.vectors, f_new]) if len(new) else stored.vectors
    write_embeddings(r.run, rows, vectors, r.digest)
    _write_exemplars(r, exemplars, new, f_new)
    return best


def _validate(r: Refit) -> dict:
    """``top1``/``top3``/``n`` of the refitted network on ``--val``'s photos of SKUs it knows; empty without."""
    import torch

    from trainer.data.manifest import read_manifest
    from trainer.models import last_linear

    if not r.opts.val:
        return {}
    index = {s: i for i, s in enumerate(r.labels)}
    rows = [row for row in read_manifest(r.opts.val) if row.sku in index]
    kept, _z, f = _embed(rows, r.model.to(r.device), r.spec, r.cache, r.device, "validate")
    if not kept:
        return {}
    with torch.no_grad():
        logits = last_linear(r.model)(torch.from_numpy(f).to(r.device)).cpu()
    truth = torch.tensor([index[row.sku] for row in kept])
    top3 = logits.topk(min(3, logits.shape[1]), dim=1).indices
    return {"top1": float((top3[:, 0] == truth).float().mean()),
            "top3": float((top3 == truth[:, None]).any(dim=1).float().mean()), "n": len(kept)}


def _write_exemplars(r: Refit, exemplars: list, new: list, f_new: np.ndarray) -> None:
    """The base's exemplars of its SKUs (the backbone is the base's: herding would choose them again) and, for each new
    SKU, herding on its new photos' embeddings (:mod:`trainer.exemplars`)."""
    from trainer.exemplars import by_sku, write_chosen

    per_sku = int(getattr(r.opts, "exemplars", 0) or 0) or max(
        (sum(e.sku == s for e in exemplars) for s in r.base.labels), default=0)
    taken: dict[str, int] = {}
    old = []
    for e in exemplars:  # best first per SKU, as the base wrote them
        old.append(({"path": e.path, "sku": e.sku, "group": e.group}, taken.setdefault(e.sku, 0)))
        taken[e.sku] += 1
    fresh = [i for i, row in enumerate(new) if row.sku not in r.base.labels]
    chosen = by_sku([{"path": new[i].path, "sku": new[i].sku, "group": new[i].group} for i in fresh],
                    f_new[fresh], per_sku) if fresh else []
    write_chosen(r.run, old + chosen, len(old) + len(fresh), per_sku)


def _embed(rows: list, model, spec, cache: Path, device: str, desc: str):
    from trainer.incremental import embed_rows

    if not rows:
        return [], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return embed_rows(rows, model, spec, cache, device, desc)


def _kept(base, model, spec, cache: Path, device: str, digest: str):
    """``(Stored, photos embedded now)``: the embeddings the base's run keeps; a run trained before runs kept them has
    its training photos embedded once, into its folder."""
    from trainer.data.manifest import read_manifest
    from trainer.embeddings import EMBEDDINGS_FILE, Stored, read_embeddings, write_embeddings
    from trainer.run_files import run_lock

    source = base.root if base.kind == "run" else Path(str(base.args.get("out") or ""))
    stored = read_embeddings(source, digest) if str(source) not in ("", ".") else None
    if stored is not None:
        return stored, 0
    manifests = [Path(str(p)) for p, _w in base.args.get("train_sources") or [[base.args.get("train") or "", 1]]]
    missing = [m for m in manifests if str(m) in ("", ".") or not m.is_file()]
    if missing or str(source) in ("", ".") or not source.is_dir():
        raise UserError(f"{source / EMBEDDINGS_FILE}: the base keeps no embeddings of its training photos, and its "
                        f"training manifest ({(missing or manifests)[0]}) or run folder is not here; retrain without "
                        "--head-only (it replays exemplars through the network)")
    rows = [r for m in manifests for r in read_manifest(m)]
    print(f"head refit: {source} keeps no embeddings of its training photos (trained before runs kept them): "
          f"embedding its {len(rows)} training photos once, into {source / EMBEDDINGS_FILE}")
    kept, _z, vectors = _embed(rows, model, spec, cache, device, "embed the base's training photos")
    with run_lock(source):
        write_embeddings(source, kept, vectors, digest)
    return Stored(kept, vectors), len(kept)


def _fitted(base, opts, model, labels: list[str], stored, new: list, f_new: np.ndarray):
    """The base network with its classifier grown for ``labels`` and fitted to every embedding."""
    import torch

    from trainer.incremental import grow_head, new_rows
    from trainer.models import build_model, last_linear

    fc = last_linear(model)
    some = np.sort(np.random.default_rng(int(opts.seed)).permutation(len(stored))[:BATCH])  # all, in this catalog
    with torch.no_grad():
        z_old = fc(torch.from_numpy(stored.vectors[some]).to(fc.weight.device)).cpu().numpy()
    rows = new_rows(model, base.labels, new, f_new, [stored.rows[i] for i in some], z_old, stored.vectors[some])
    grown = grow_head(build_model(opts.arch, len(labels), head=getattr(opts, "head", "linear")), base.labels, labels,
                      model.cpu().state_dict(), rows)
    index = {s: i for i, s in enumerate(labels)}
    vectors = np.concatenate([stored.vectors, f_new]) if len(new) else stored.vectors
    targets = np.asarray([index[r.sku] for r in stored.rows + new])
    fit_head(last_linear(grown), vectors, targets, _row_weights(stored.rows + new, opts),
             smoothing=float(opts.label_smoothing), seed=int(opts.seed), margin=float(getattr(opts, "margin", 0.0)))
    return grown.eval()


def _trust_weight(row, opts) -> float:
    """How much a row counts by its label's trust (``--shopper-weight``, ``--auto-weight``; others 1), as a training
    from the same manifest would count it (:func:`trainer.train_sources.training_rows`)."""
    trust = row.extra.get("trust", "")
    return float(getattr(opts, f"{trust}_weight", 1.0)) if trust in ("shopper", "auto") else 1.0


def _row_weights(rows: list, opts) -> np.ndarray:
    """Each row's weight in the loss: its trust's, and with ``--class-balance`` (the incremental default) every SKU
    weighing the same (:func:`trainer.train_sources.balance_classes`)."""
    from trainer.train_sources import balance_classes

    weights = np.asarray([_trust_weight(r, opts) for r in rows], np.float32)
    counted = np.flatnonzero(weights > 0)  # a SKU whose rows all count 0 (kept ones, say) stays at 0
    if opts.class_balance and len(counted):
        balanced = balance_classes([{"sku": rows[i].sku, "weight": float(weights[i])} for i in counted])
        weights[counted] = [w["weight"] for w in balanced]
    return weights


def fit_head(fc, vectors: np.ndarray, targets: np.ndarray, weights: np.ndarray, smoothing: float = 0.1,
             seed: int = 0, steps: int = STEPS, margin: float = 0.0) -> None:
    """Fit the classifier ``fc`` (its weight and bias) to ``vectors`` (its inputs) and ``targets`` in place: ``steps``
    AdamW steps (:data:`LR`, :data:`WEIGHT_DECAY`) on up to :data:`BATCH` rows each, cross-entropy with label smoothing
    ``smoothing`` and the base's cosine margin (``--margin``, :mod:`trainer.margin`), a weighted mean over the rows
    (``weights``)."""
    import functools

    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from trainer.margin import with_margin

    per_row = with_margin(functools.partial(F.cross_entropy, reduction="none", label_smoothing=smoothing), margin, fc)

    x, y = torch.from_numpy(np.ascontiguousarray(vectors, np.float32)), torch.from_numpy(targets).long()
    weight = torch.from_numpy(np.asarray(weights, np.float32))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([fc.weight, fc.bias], lr=LR, weight_decay=WEIGHT_DECAY)
    fc.train()
    for _ in tqdm(range(steps), desc="refit head", unit="step", leave=False, disable=None):  # quiet off a terminal
        pick = torch.randperm(len(y), generator=generator)[:BATCH] if len(y) > BATCH else slice(None)
        loss = per_row(fc(x[pick]), y[pick])
        loss = (loss * weight[pick]).sum() / weight[pick].sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fc.eval()

