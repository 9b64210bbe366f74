"""At export: the trained SKUs' prototypes, the gallery fusion's calibration and the open-set thresholds, all measured
with the exported ONNX model (what the till runs) and written into the bundle (:mod:`kiosk.bundle_format.openset`
describes the manifest sections and holds the arithmetic the till runs).

* **Prototypes** (``prototypes.npy``): each trained SKU's mean L2-normalised embedding over its replay exemplars
  (``RUN/exemplars.csv``, :mod:`trainer.exemplars`; a run without them: its first training photos).
* **Exemplar embeddings** (``exemplars.npy``): the same photos' embeddings, each photo also mirrored and
  centre-cropped (:data:`trainer.openset_views.BANK_VIEWS`): the fusion's trained side and the ``knn`` score's bank.
* **Fusion**: ``scale`` and ``bias`` of the fusion's form (``relative`` by default), fitted by maximum likelihood on
  validation photos and session-shifted copies of them (:mod:`trainer.openset_views`) where ``pretend`` trained
  SKUs at once (:data:`DEFAULT_PRETEND`, many draws) pretend to be enrolled from ``shots`` of their exemplars: their
  head logits and prototypes are removed and their gallery logits appended, so the photos of those SKUs teach the
  gallery to win and every other photo teaches it not to steal, with as many SKUs enrolled as a store will have (one
  at a time, ten enrolled at once stole the old SKUs' photos: README).
* **Open set**: every score of :data:`~kiosk.bundle_format.openset.SCORES` on the held-back photos (all of known
  SKUs; with ``threshold_strength``, on session-shifted copies of them, :mod:`trainer.openset_views`) with an empty
  gallery; each threshold is the ``target_false_rejection`` quantile, so that share of known items would be answered
  "Not recognised". Which score decides is measured on SKUs held
  out of training (``checkout evaluate onboarding``); the default is what that measurement chose (README).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.bundle_format import probe
from kiosk.bundle_format.openset import (
    EMBEDDING_KEY,
    EMBEDDING_OUTPUT,
    EXEMPLARS_FILE,
    FORMS,
    OPEN_SET_KEY,
    PROTOTYPES_FILE,
    SCORES,
    SIMILARITIES,
    Fusion,
    gallery_similarity,
    l2_normalise,
    open_set_scores,
)
from kiosk.bundle_format.preprocess import PreprocessSpec, load_image, preprocess_batch
from kiosk.errors import UserError
from trainer.openset_views import BANK_VIEWS, SHIFT_COPIES, SHIFT_STRENGTH, THRESHOLD_STRENGTH

__all__ = ["DEFAULT_FORM", "DEFAULT_FRR", "DEFAULT_PRETEND", "DEFAULT_SCORE", "DEFAULT_SHOTS", "DEFAULT_SIMILARITY",
           "backbone_sha256", "class_photos",
           "fit_fusion", "onnx_outputs", "open_set_sections", "thresholds"]

log = logging.getLogger(__name__)
DEFAULT_SHOTS = 10
# A false rejection hides the right tile and sends the shopper to search; an unknown item let through only shows tiles
# (auto-add has its own, much higher threshold) next to "None of these". And the held-back photos come from the
# training sessions: on another session's photos the rejections multiply (the demo bundle at 5 %: 3 of the demo
# camera's 9 val-session photos refused; issue 13's protocol: 10-23 % of other sessions' known items at 1 %). Hence
# 1 % on held-back photos; with ``threshold_strength`` the share is taken of session-shifted copies of them instead.
DEFAULT_FRR = 0.01
DEFAULT_SCORE = "combined"
DEFAULT_SIMILARITY = "probe"  # kiosk.bundle_format.probe (README: "Eighteenth session")
DEFAULT_FORM = "relative"
DEFAULT_PRETEND = 10  # SKUs pretending to be enrolled at once in the fusion fit (the onboarding protocol's K)
PROTOTYPE_PHOTOS = 20  # exemplars averaged into a trained SKU's prototype
RIDGE = 1e-4  # weight of (scale² + bias²) in the fusion fit
PROBE_RIDGE = probe.RIDGE  # the probe similarity's own ridge (kiosk.bundle_format.probe), stored with the fusion


def backbone_sha256(model) -> str:
    """sha256 over every tensor of ``model`` but its last linear layer's (what the embedding depends on)."""
    from trainer.models import last_linear

    last = last_linear(model)
    head = {id(t) for t in (*last.parameters(), *last.buffers())}  # a cosine head's scale holds the temperature
    h = hashlib.sha256()
    tensors = {**dict(model.named_buffers()), **dict(model.named_parameters())}
    for name, tensor in sorted(tensors.items()):
        if id(tensor) in head:
            continue
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def onnx_outputs(session, paths: list[Path], spec: PreprocessSpec, batch: int = 32,
                 desc: str = "embed", view=None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(logits, embeddings, kept)`` of the photos at ``paths`` through an ONNX Runtime session of a bundle's model
    (the till's preprocessing); ``kept``: indexes of the photos that could be decoded. ``view``: a function of each
    decoded image (BGR uint8) to what the model sees instead (:mod:`trainer.openset_views`)."""
    from tqdm import tqdm

    names = [o.name for o in session.get_outputs()]
    if EMBEDDING_OUTPUT not in names:
        raise UserError(f"the model has no {EMBEDDING_OUTPUT!r} output (outputs: {', '.join(names)})")
    logits, embeddings, kept = [], [], []
    for start in tqdm(range(0, len(paths), batch), desc=desc, unit="batch", leave=False, disable=None):
        images, idx = [], []
        for i in range(start, min(start + batch, len(paths))):
            image = load_image(paths[i], spec.resize_size)[0]
            if image is not None:
                images.append(image if view is None else view(image))
                idx.append(i)
        if not images:
            continue
        z, e = session.run([names[0], EMBEDDING_OUTPUT], {"input": preprocess_batch(images, spec)})
        logits.append(z)
        embeddings.append(e)
        kept += idx
    if not kept:
        raise UserError(f"none of {len(paths)} photos could be read (first: {paths[0] if paths else '-'})")
    return np.concatenate(logits), np.concatenate(embeddings), kept


def class_photos(run: Path, train_manifest: Path | None, labels: list[str], per_sku: int) -> dict[str, list[Path]]:
    """Up to ``per_sku`` photos of each label: the run's exemplars (best first), else its first training photos."""
    from trainer.data.manifest import read_manifest
    from trainer.exemplars import read_exemplars

    rows = read_exemplars(run)
    if rows is None:
        if train_manifest is None or not Path(train_manifest).is_file():
            raise UserError(f"{run}: no exemplars.csv and no training manifest to take prototype photos from")
        rows = read_manifest(train_manifest)
    out: dict[str, list[Path]] = {s: [] for s in labels}
    for r in rows:
        if r.sku in out and len(out[r.sku]) < per_sku:
            out[r.sku].append(r.path)
    missing = [s for s, p in out.items() if not p]
    if missing:
        raise UserError(f"{run}: no photos for SKU(s) {', '.join(missing[:5])} to build prototypes from")
    return out


def _shot_galleries(embeddings: dict[str, np.ndarray], labels: list[str], shots: int) -> tuple[np.ndarray, np.ndarray]:
    rows, owner = [], []
    for k, sku in enumerate(labels):
        vectors = l2_normalise(embeddings[sku][:shots])
        rows.append(vectors)
        owner += [k] * len(vectors)
    return np.concatenate(rows), np.asarray(owner, np.int64)


def fit_fusion(logits: np.ndarray, targets: np.ndarray, similarity: np.ndarray | None,
               trained: np.ndarray | None = None, *, pretend: int = DEFAULT_PRETEND, form: str = DEFAULT_FORM,
               draws: int = 30, seed: int = 0, per_draw=None) -> tuple[float, float, dict]:
    """Maximum-likelihood ``(scale, bias)`` (module docstring): ``logits`` (N, C) of validation photos of SKUs
    ``targets``, ``similarity`` (N, C) of each photo to each SKU's pretend gallery, ``trained`` (N, C) its cosine with
    each SKU's prototype (the ``relative`` form's). Each draw takes ``pretend`` SKUs as enrolled at once: their head
    logits and prototypes are removed and their gallery logits appended. ``per_draw`` (the ``probe`` similarity):
    instead of the two matrices, a function from a draw's enrolled SKUs to the (N, C) scores that serve as both, the
    probe refitted with those SKUs enrolled. Returns the pair and fit figures."""
    import torch

    n, c = logits.shape
    k = max(1, min(pretend, c // 2))
    rng = np.random.default_rng(seed)
    z = torch.from_numpy(np.asarray(logits, np.float32))
    draws_ = [_pretend_draw(rng, c, k, np.asarray(targets)) for _ in range(draws)]
    if per_draw is None:
        s = torch.from_numpy(np.asarray(similarity, np.float32))
        t = torch.from_numpy(np.asarray(trained if trained is not None else similarity, np.float32))
        sets = [(e, kept, y, s, t) for e, kept, y in draws_]
    else:
        scored = [torch.from_numpy(np.asarray(per_draw(e.numpy()), np.float32)) for e, _, _ in draws_]
        sets = [(e, kept, y, m, m) for (e, kept, y), m in zip(draws_, scored)]
    params = torch.tensor([10.0, 0.0 if form == "relative" else -5.0], requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def loss_fn():
        opt.zero_grad()
        nll = sum(torch.nn.functional.cross_entropy(_pretend_logits(params, z, s, t, e, kept, form), y)
                  for e, kept, y, s, t in sets) / len(sets)
        loss = nll + RIDGE * (params ** 2).sum()  # a weak ridge keeps the fit finite where validation separates
        loss.backward()
        return loss

    opt.step(loss_fn)
    scale, bias = (float(v) for v in params.detach())
    figures = _fit_figures(params, z, sets, form)
    return scale, bias, {"n": n, "pretend": k, "draws": draws, "form": form, **figures}


def _pretend_draw(rng, c: int, k: int, targets: np.ndarray):
    """``k`` SKUs pretending to be enrolled, the others kept; each photo's column in ``kept + enrolled``."""
    import torch

    enrolled = rng.choice(c, size=k, replace=False)
    kept = np.setdiff1d(np.arange(c), enrolled)
    column = np.empty(c, np.int64)
    column[kept] = np.arange(len(kept))
    column[enrolled] = len(kept) + np.arange(k)
    return torch.from_numpy(enrolled), torch.from_numpy(kept), torch.from_numpy(column[targets])


def _pretend_logits(params, z, s, t, enrolled, kept, form: str):
    import torch

    head = z[:, kept]
    g = params[0] * s[:, enrolled] + params[1]
    if form == "relative":
        g = g + (head.max(dim=1).values - params[0] * t[:, kept].max(dim=1).values)[:, None]
    return torch.cat([head, g], dim=1)


def _fit_figures(params, z, sets, form: str) -> dict:
    """Over the draws: the share of pretend-enrolled SKUs' photos they win, and of the others' they steal."""
    import torch

    own, stolen, nll = [], [], []
    with torch.no_grad():
        for enrolled, kept, y, s, t in sets:
            f = _pretend_logits(params, z, s, t, enrolled, kept, form)
            is_enrolled = y >= len(kept)
            won = f.argmax(dim=1)
            own.append((won[is_enrolled] == y[is_enrolled]).float())
            stolen.append((won[~is_enrolled] >= len(kept)).float())
            nll.append(float(torch.nn.functional.cross_entropy(f, y)))
    return {"nll": float(np.mean(nll)), "enrolled_own_top1": float(torch.cat(own).mean()),
            "stolen_rate": float(torch.cat(stolen).mean())}


def thresholds(scores: dict[str, np.ndarray], frr: float) -> dict[str, float]:
    """Per score, the threshold that answers "Not recognised" to a ``frr`` share of these (known) items."""
    return {name: float(np.quantile(values, frr)) for name, values in scores.items()}


def _embed_classes(session, spec, photos: dict[str, list[Path]], view: str = "identity") -> dict[str, np.ndarray]:
    from trainer.openset_views import bank_view

    order = [(sku, p) for sku, paths in photos.items() for p in paths]
    _z, e, kept = onnx_outputs(session, [p for _, p in order], spec, desc=f"embed exemplars ({view})",
                               view=None if view == "identity" else lambda image: bank_view(image, view))
    out: dict[str, list] = {sku: [] for sku in photos}
    for vector, i in zip(e, kept):
        out[order[i][0]].append(vector)
    return {sku: np.asarray(v, np.float32) for sku, v in out.items() if v}


def _bank_views(session, spec, photos: dict[str, list[Path]], per_class: dict[str, np.ndarray],
                views: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each SKU's exemplar embeddings under ``views`` (:data:`trainer.openset_views.BANK_VIEWS`), ``per_class`` (the
    identity view's) first."""
    extra = [_embed_classes(session, spec, photos, v) for v in views if v != "identity"]
    return {sku: np.concatenate([vectors, *(e[sku] for e in extra if sku in e)]) for sku, vectors in per_class.items()}


@dataclass(frozen=True)
class _Held:
    """The held-back photos the export fits on: ``rows`` ((path, sku), all readable), their outputs and SKU indexes."""

    rows: list
    logits: np.ndarray
    embeddings: np.ndarray
    targets: np.ndarray
    index: dict


def _shifted_copies(session, spec, held: _Held, copies: int,
                    strength: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(logits, embeddings, targets)`` of ``copies`` session-shifted copies of the held-back photos, drawn from a
    fixed seed (:func:`trainer.openset_views.session_shift`); empty for none."""
    from kiosk.bundle_format.preprocess import MAX_UPSCALE
    from trainer.openset_views import session_shift

    rng = np.random.default_rng(0)
    min_side = math.ceil(spec.resize_size / MAX_UPSCALE)
    parts = []
    for c in range(copies):
        z, e, kept = onnx_outputs(session, [p for p, _ in held.rows], spec, desc=f"embed shifted copy {c + 1}",
                                  view=lambda image: session_shift(image, rng, strength, min_side))
        parts.append((z, e, np.asarray([held.index[held.rows[i][1]] for i in kept], np.int64)))
    if not parts:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return tuple(np.concatenate([part[j] for part in parts]) for j in range(3))


def _write_banks(per_class: dict[str, np.ndarray], labels: list[str], tmp: Path,
                 banked: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``prototypes.npy`` (each label's mean normalised embedding) and ``exemplars.npy`` (every exemplar's under every
    bank view, ``banked``, else ``per_class``: the fusion's ``trained`` side and the ``knn`` score's bank, as the till
    reads it back: float16, normalised)."""
    missing = [s for s in labels if s not in per_class]
    if missing:
        raise UserError(f"no readable photo of SKU(s) {', '.join(missing[:5])} to build prototypes from")
    protos = l2_normalise(np.stack([l2_normalise(per_class[s]).mean(axis=0) for s in labels]))
    np.save(tmp / PROTOTYPES_FILE, protos.astype(np.float16), allow_pickle=False)
    banked = banked or per_class
    bank = l2_normalise(np.concatenate([banked[s] for s in labels])).astype(np.float16)
    np.save(tmp / EXEMPLARS_FILE, bank, allow_pickle=False)
    return protos, l2_normalise(bank.astype(np.float32))


def _trained_matrix(queries: np.ndarray, prototypes: np.ndarray, bank: np.ndarray, owner: np.ndarray,
                    how: str) -> np.ndarray:
    """(N, C): each photo's cosine with each trained SKU, as :func:`~kiosk.bundle_format.openset.trained_similarity`
    takes it: with its prototype (``mean``) or its nearest exemplar (``max``; ``owner``: each ``bank`` row's SKU)."""
    if how != "max":
        return queries @ prototypes.T
    return gallery_similarity(queries, bank, owner, len(prototypes), "max")


def _probe_per_draw(queries: np.ndarray, bank: np.ndarray, owner: np.ndarray, gallery: np.ndarray,
                    shot_owner: np.ndarray, classes: int, ridge: float):
    """The ``probe`` similarity's fit: for a draw's pretend-enrolled SKUs, the probe refitted with their exemplar
    rows replaced by their shots (what a gallery would hold), and each fit photo's scores (N, C) under it."""
    from kiosk.bundle_format.probe import class_sums, solve

    gram, targets, mass = class_sums(bank, owner, classes)

    def one_class(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return class_sums(rows, np.zeros(len(rows), np.int64), 1)

    def scores(enrolled: np.ndarray) -> np.ndarray:
        g, t = gram.copy(), targets.copy()
        for c in enrolled:  # its exemplars out, its shots in: it still weighs 1
            shot_gram, shot_targets, _ = one_class(gallery[shot_owner == c])
            g += shot_gram - one_class(bank[owner == c])[0]
            t[:, c] = shot_targets[:, 0]
        weights, intercepts = solve(g, t, mass, ridge)
        return queries @ weights + intercepts

    return scores


def open_set_sections(session, labels: list[str], spec: PreprocessSpec, photos: dict[str, list[Path]],
                      val_rows: list, tmp: Path, *, backbone: str, shots: int = DEFAULT_SHOTS,
                      frr: float = DEFAULT_FRR, score: str = DEFAULT_SCORE,
                      similarity: str = DEFAULT_SIMILARITY, form: str = DEFAULT_FORM,
                      pretend: int = DEFAULT_PRETEND, bank_views: tuple[str, ...] = BANK_VIEWS,
                      shift_copies: int = SHIFT_COPIES, shift_strength: float = SHIFT_STRENGTH,
                      threshold_strength: float = THRESHOLD_STRENGTH) -> dict:
    """Write ``prototypes.npy`` and ``exemplars.npy`` into the bundle folder ``tmp`` and return the manifest's
    ``embedding`` and ``open_set`` sections. ``photos``: per label, its exemplar photos; ``val_rows``: (path, sku) of
    held-back photos of the trained SKUs (validation / calibration manifests). ``bank_views``, ``shift_copies``,
    ``shift_strength`` and ``threshold_strength``: :mod:`trainer.openset_views` (the bank's views; how many
    session-shifted copies of each held-back photo, and how far shifted for the fusion fit and for the thresholds:
    ``frr`` of them refused; no copies, or a strength 0 for the thresholds: the held-back photos themselves)."""
    if score not in SCORES or form not in FORMS or similarity not in SIMILARITIES or (
            similarity == "probe" and form != "relative"):
        raise UserError(f"open-set score {score!r} (one of {', '.join(SCORES)}), fusion form {form!r} (one of "
                        f"{', '.join(FORMS)}) or similarity {similarity!r} (one of {', '.join(SIMILARITIES)}; probe "
                        "with the relative form)")
    per_class = _embed_classes(session, spec, photos)
    banked = _bank_views(session, spec, photos, per_class, bank_views)
    protos, bank = _write_banks(per_class, labels, tmp, banked)
    owner = np.repeat(np.arange(len(labels)), [len(banked[s]) for s in labels])
    index = {s: i for i, s in enumerate(labels)}
    rows = [(Path(p), sku) for p, sku in val_rows if sku in index]
    logits, emb, kept = onnx_outputs(session, [p for p, _ in rows], spec, desc="embed validation")
    held = _Held([rows[i] for i in kept], logits, emb, np.asarray([index[rows[i][1]] for i in kept]), index)
    stored = l2_normalise(protos.astype(np.float16).astype(np.float32))
    fit_z, fit_e, fit_t = (np.concatenate([a, b]) if len(b) else a for a, b in zip(
        (logits, emb, held.targets), _shifted_copies(session, spec, held, shift_copies, shift_strength)))
    gallery, shot_owner = _shot_galleries(per_class, labels, shots)
    sims = trained = per_draw = None
    if similarity == "probe":
        per_draw = _probe_per_draw(l2_normalise(fit_e), bank, owner, gallery, shot_owner, len(labels), PROBE_RIDGE)
    else:
        sims = gallery_similarity(l2_normalise(fit_e), gallery, shot_owner, len(labels), similarity)
        trained = _trained_matrix(l2_normalise(fit_e), stored, bank, owner, similarity)
    scale, bias, fit = fit_fusion(fit_z, fit_t, sims, trained, pretend=pretend, form=form, per_draw=per_draw)
    open_set = _open_set_rule(session, spec, held, stored, bank, score, frr,
                              shift_copies if threshold_strength else 0, threshold_strength)
    print(f"gallery fusion on {len(held.rows)} validation photos and {len(fit_t) - len(held.rows)} session-shifted "
          f"copies ({shots} shots per SKU, {similarity} similarity, {fit['pretend']} pretending at once, {form}): "
          f"scale {scale:.2f}, bias {bias:.2f}; pretend-enrolled SKUs win their own photos "
          f"{fit['enrolled_own_top1']:.1%}, steal others' {fit['stolen_rate']:.1%}; open set: {score} threshold "
          f"{open_set['thresholds'][score]:.4f} (false rejections {frr:.0%} of {open_set['set_on']})")
    fusion = Fusion(scale, bias, similarity, {k: v for k, v in fit.items() if k != "form"}
                    | {"shots": shots, "shifted_copies": shift_copies, "shift_strength": shift_strength}
                    | ({"ridge": PROBE_RIDGE} if similarity == "probe" else {}), form)
    embedding = {"output": EMBEDDING_OUTPUT, "dim": int(emb.shape[1]), "backbone_sha256": backbone,
                 "prototypes": PROTOTYPES_FILE, "exemplars": EXEMPLARS_FILE, "fusion": fusion.to_json(),
                 "exemplar_views": list(bank_views), "exemplar_counts": [int(len(banked[s])) for s in labels],
                 "layer": "input of the last linear layer (pooled features)"}
    return {EMBEDDING_KEY: embedding, OPEN_SET_KEY: open_set}


def _open_set_rule(session, spec, held: _Held, stored: np.ndarray, bank: np.ndarray, score: str, frr: float,
                   copies: int, strength: float) -> dict:
    """The manifest's ``open_set`` section: each score standardised on the held-back photos, its threshold refusing
    ``frr`` of ``copies`` session-shifted copies of them at ``strength`` (without copies: of the photos themselves)."""
    raw = open_set_scores(held.logits, held.embeddings, stored)
    stats = {k: (float(raw[k].mean()), float(raw[k].std())) for k in ("energy", "prototype")}
    z, e, _t = _shifted_copies(session, spec, held, copies, strength)
    on_copies = len(z) > 0
    scores = open_set_scores(*((z, e) if on_copies else (held.logits, held.embeddings)), stored, stats, bank)
    return {"score": score, "thresholds": thresholds(scores, frr),
            "standardise": {k: list(v) for k, v in stats.items()}, "target_false_rejection": frr,
            "n": int(len(z) if on_copies else len(held.rows)),
            "set_on": "session-shifted copies of the held-back photos" if on_copies else "the held-back photos",
            "shift_strength": strength if on_copies else 0,
            "chosen_by": "AUROC on SKUs held out of training and false rejections on other sessions' photos "
                         "(checkout evaluate onboarding on a selection split, README)"}
