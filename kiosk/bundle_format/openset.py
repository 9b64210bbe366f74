"""Embeddings, the gallery fusion and the open-set rule: what a bundle says about them, and the arithmetic that both
the till (:mod:`kiosk.recognition.fusion`) and head office (the exporter's calibration, ``checkout evaluate
onboarding``) run, so the figures head office measures are the ones the till shows.

A bundle whose network exports its pooled features says so under the manifest key ``embedding`` (format 1 keeps
unknown keys for later revisions: an older kiosk ignores it and runs the logits alone)::

    "embedding": {"output": "embedding", "dim": 1280, "backbone_sha256": "…",
                  "prototypes": "prototypes.npy",           # the trained SKUs' mean embeddings, labels' order
                  "exemplars": "exemplars.npy",             # the trained SKUs' exemplar embeddings (knn score)
                  "fusion": {"scale": 17.0, "bias": -0.3, "similarity": "mean", "form": "relative", "shots": 10, …}}

``model.onnx`` then has a second output named ``embedding``, ``(batch, dim)`` float32: the input of the network's
last linear layer, from the same forward pass (:class:`kiosk.bundle_format.architectures.WithEmbedding`), so the
till pays nothing for it. ``prototypes.npy`` (float16, ``(labels, dim)``, L2-normalised rows) is listed in
``files`` like every file; it is loaded without pickle. ``exemplars.npy`` (float16, ``(rows, dim)``, normalised)
holds the embeddings of the trained SKUs' replay exemplars (the ``knn`` score's bank).

**Fusion.** A SKU enrolled at the till (its gallery: a few photos' normalised embeddings) gets a logit next to the
trained head's; ``similarity`` is the cosine of the item's embedding with the mean of the SKU's gallery embeddings
(``mean``) or with the closest one (``max``), or the SKU's score under a linear probe fitted on the trained SKUs'
exemplars and the gallery's photos (``probe``, :mod:`kiosk.bundle_format.probe`; the manifest then says how many
exemplar rows each label has, ``exemplar_counts``). Two forms (``form``):

* ``absolute`` (bundles before it had a ``form``): ``scale * similarity + bias``;
* ``relative``: ``top + scale * (similarity - trained) + bias``, where ``top`` is the head's largest logit and
  ``trained`` the item's :func:`trained_similarity`, the same measure taken over the trained SKUs' own prototypes
  (``mean``) or exemplars (``max``) in the same embedding space: an enrolled SKU wins an item only where its gallery
  is nearer than any trained SKU's, and by how much sets how sure the fused answer is. Chosen on a selection split of
  the onboarding protocol (README): with ten SKUs enrolled it kept more of the old SKUs' photos than ``absolute`` and
  recognised the enrolled ones far better.

``scale`` and ``bias`` are fitted at export on validation photos, with ``pretend`` trained SKUs at once (draws of
them) pretending to be enrolled from ``shots`` of their exemplars (their head logits and prototypes removed), so an
enrolled SKU and a trained one compete on one scale as they will with that many SKUs enrolled. A trained SKU that is
also in the gallery (taught again at the till) keeps its head's logit: the head's calibrated score decides how sure
the till is (auto-add), its gallery photos only join the open-set scores' neighbours (``prototype``, ``knn``). Taking
the larger of the two flagged every placement of it as the gallery's (20 of 20), so it was never added without a tap.

**Open set** (manifest key ``open_set``): how sure the model is that the item is one it knows, one of
:data:`SCORES` (higher = more known) of the fused logits and the embedding, and the threshold below which the till
says "Not recognised". Thresholds for every score are stored (chosen on validation photos for a target false-rejection
rate), the chosen one under ``score``. ``knn`` (deep nearest neighbours, Sun et al. 2022): the cosine of the item's
embedding with the nearest of the trained SKUs' exemplars and the enrolled SKUs' gallery rows (computed at the till
only when it is the chosen score: about 1 ms a frame)::

    "open_set": {"score": "combined", "thresholds": {"msp": 0.41, "energy": 3.2, "prototype": 0.55, "combined": -1.7},
                 "standardise": {"energy": [5.1, 1.2], "prototype": [0.71, 0.08]}, "target_false_rejection": 0.05, …}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import Bundle, BundleManifest
from kiosk.bundle_format.values import number
from kiosk.errors import BundleError

__all__ = ["EMBEDDING_KEY", "EMBEDDING_OUTPUT", "EXEMPLARS_FILE", "FORMS", "OPEN_SET_KEY", "PROTOTYPES_FILE", "SCORES",
           "SIMILARITIES", "EmbeddingInfo", "Fused", "Fusion", "OpenSetRule", "auroc", "embedding_info", "fuse",
           "exemplar_owner", "fusion_similarities", "gallery_similarity", "l2_normalise", "load_exemplars",
           "load_prototypes", "open_set_rule", "item_scores", "open_set_scores", "standardise", "trained_similarity"]

EMBEDDING_KEY = "embedding"
OPEN_SET_KEY = "open_set"
EMBEDDING_OUTPUT = "embedding"
PROTOTYPES_FILE = "prototypes.npy"
EXEMPLARS_FILE = "exemplars.npy"
#: open-set scores, each higher for items the model knows
SCORES = ("msp", "energy", "prototype", "combined", "knn")
#: the values a score can take (a threshold outside them says "not recognised" to every item or to none); the others
#: (``energy``, ``combined``) may be any finite number
SCORE_RANGES = {"msp": (0.0, 1.0), "prototype": (-1.0, 1.0), "knn": (-1.0, 1.0)}
#: ``probe``: :mod:`kiosk.bundle_format.probe` (a ridge classifier over the exemplars and the gallery; relative form)
SIMILARITIES = ("mean", "max", "probe")
FORMS = ("absolute", "relative")


@dataclass(frozen=True)
class Fusion:
    """Gallery similarity → logit (``form``: absolute or relative, fitted at export, see the module docstring)."""

    scale: float
    bias: float
    similarity: str = "mean"
    details: dict = field(default_factory=dict, compare=False)
    form: str = "absolute"

    def to_json(self) -> dict:
        return {**self.details, "scale": self.scale, "bias": self.bias, "similarity": self.similarity,
                "form": self.form}


@dataclass(frozen=True)
class EmbeddingInfo:
    output: str
    dim: int
    backbone_sha256: str = ""
    prototypes: str | None = None
    fusion: Fusion | None = None
    details: dict = field(default_factory=dict, compare=False)
    exemplars: str | None = None

    def to_json(self) -> dict:
        d = {**self.details, "output": self.output, "dim": self.dim, "backbone_sha256": self.backbone_sha256}
        if self.prototypes:
            d["prototypes"] = self.prototypes
        if self.exemplars:
            d["exemplars"] = self.exemplars
        if self.fusion is not None:
            d["fusion"] = self.fusion.to_json()
        return d


@dataclass(frozen=True)
class OpenSetRule:
    score: str
    thresholds: dict[str, float]
    standardise: dict[str, tuple[float, float]] = field(default_factory=dict)
    details: dict = field(default_factory=dict, compare=False)

    @property
    def threshold(self) -> float:
        return self.thresholds[self.score]

    def usable(self, scores: dict[str, np.ndarray]) -> str | None:
        """The score to decide with: the chosen one, else (no embedding at this till) the best one computable."""
        for name in (self.score, "energy", "msp"):
            if name in scores and name in self.thresholds:
                return name
        return None

    def known(self, scores: dict[str, np.ndarray]) -> np.ndarray | None:
        """Per item: is it above the threshold (known)? ``None`` when no stored score can be computed."""
        name = self.usable(scores)
        return None if name is None else np.asarray(scores[name]) >= self.thresholds[name]

    def to_json(self) -> dict:
        return {**self.details, "score": self.score, "thresholds": dict(self.thresholds),
                "standardise": {k: list(v) for k, v in self.standardise.items()}}


def _where(manifest: BundleManifest, where: str | None) -> str:
    return where or "manifest.json"


def embedding_info(manifest: BundleManifest, where: str | None = None) -> EmbeddingInfo | None:
    """What the manifest says about the network's embedding output; ``None`` for a bundle without one."""
    d = manifest.extra.get(EMBEDDING_KEY)
    if d is None:
        return None
    try:
        fusion = d.get("fusion")
        fused = None if fusion is None else Fusion(
            number(fusion["scale"], f"{EMBEDDING_KEY}.fusion.scale"),
            number(fusion["bias"], f"{EMBEDDING_KEY}.fusion.bias"), str(fusion.get("similarity", "mean")),
            {k: v for k, v in fusion.items() if k not in ("scale", "bias", "similarity", "form")},
            str(fusion.get("form", "absolute")))
        info = EmbeddingInfo(str(d["output"]), int(d["dim"]), str(d.get("backbone_sha256", "")),
                             d.get("prototypes"), fused,
                             {k: v for k, v in d.items()
                              if k not in ("output", "dim", "backbone_sha256", "prototypes", "fusion", "exemplars")},
                             d.get("exemplars"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{_where(manifest, where)}: '{EMBEDDING_KEY}' is malformed ({exc!r})") from None
    if info.dim < 1 or (fused is not None and (fused.similarity not in SIMILARITIES or fused.form not in FORMS)):
        raise BundleError(f"{_where(manifest, where)}: '{EMBEDDING_KEY}' has dim {info.dim}, similarity "
                          f"{getattr(fused, 'similarity', None)!r} (one of {', '.join(SIMILARITIES)}) or form "
                          f"{getattr(fused, 'form', None)!r} (one of {', '.join(FORMS)})")
    if fused is not None and fused.form == "relative" and not info.prototypes:
        raise BundleError(f"{_where(manifest, where)}: '{EMBEDDING_KEY}' has a relative fusion but no prototypes")
    if fused is not None and fused.similarity == "probe":
        _check_probe(manifest, where, info)
    for name in (info.prototypes, info.exemplars):
        if name is not None and name not in manifest.files:
            raise BundleError(f"{_where(manifest, where)}: '{EMBEDDING_KEY}' names {name}, which the manifest does "
                              "not list")
    return info


def _check_probe(manifest: BundleManifest, where: str | None, info: EmbeddingInfo) -> None:
    """A ``probe`` fusion needs the relative form, the exemplars and their counts per label (``exemplar_counts``)."""
    counts = info.details.get("exemplar_counts")
    ok = (isinstance(counts, list) and len(counts) == manifest.num_classes
          and all(type(c) is int and 0 <= c <= 10**7 for c in counts))
    if info.fusion.form != "relative" or not info.exemplars or not ok:
        raise BundleError(f"{_where(manifest, where)}: '{EMBEDDING_KEY}' has a probe fusion, which needs the relative "
                          f"form, exemplars and 'exemplar_counts' (one count per label, {manifest.num_classes})")
    if "ridge" in info.fusion.details:
        try:
            number(info.fusion.details["ridge"], f"{EMBEDDING_KEY}.fusion.ridge", 0.0, 1e6, above=True)
        except ValueError as exc:
            raise BundleError(f"{_where(manifest, where)}: {exc}") from None


def open_set_rule(manifest: BundleManifest, where: str | None = None) -> OpenSetRule | None:
    """The bundle's open-set rule; ``None`` for a bundle without one (it never says "not recognised")."""
    d = manifest.extra.get(OPEN_SET_KEY)
    if d is None:
        return None
    try:
        thresholds = {str(k): number(v, f"{OPEN_SET_KEY}.thresholds.{k}", *SCORE_RANGES.get(k, (None, None)))
                      for k, v in d["thresholds"].items()}
        rule = OpenSetRule(str(d["score"]), thresholds,
                           {str(k): (number(v[0], f"{OPEN_SET_KEY}.standardise.{k}[0]"),
                                     number(v[1], f"{OPEN_SET_KEY}.standardise.{k}[1]"))
                            for k, v in d.get("standardise", {}).items()},
                           {k: v for k, v in d.items() if k not in ("score", "thresholds", "standardise")})
    except ValueError as exc:
        raise BundleError(f"{_where(manifest, where)}: {exc}") from None
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise BundleError(f"{_where(manifest, where)}: '{OPEN_SET_KEY}' is malformed ({exc!r})") from None
    if rule.score not in SCORES or rule.score not in thresholds or any(k not in SCORES for k in thresholds):
        raise BundleError(f"{_where(manifest, where)}: '{OPEN_SET_KEY}' score {rule.score!r} with thresholds for "
                          f"{sorted(thresholds)} (scores: {', '.join(SCORES)})")
    return rule


def _load_array(bundle: Bundle, name: str) -> tuple[Path, np.ndarray]:
    path = bundle.path(name)
    try:
        return path, np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a NumPy array file ({exc})") from None


def load_prototypes(bundle: Bundle, info: EmbeddingInfo) -> np.ndarray | None:
    """The trained SKUs' mean embeddings ``(labels, dim)`` float32, or ``None`` when the bundle has none."""
    if not info.prototypes:
        return None
    path, protos = _load_array(bundle, info.prototypes)
    want = (bundle.manifest.num_classes, info.dim)
    if protos.shape != want or not np.issubdtype(protos.dtype, np.floating):
        raise BundleError(f"{path}: prototypes of shape {protos.shape} ({protos.dtype}); the manifest says {want}")
    return l2_normalise(protos.astype(np.float32))


def load_exemplars(bundle: Bundle, info: EmbeddingInfo) -> np.ndarray | None:
    """The trained SKUs' exemplar embeddings ``(rows, dim)`` float32, normalised, or ``None`` when the bundle has none
    (a bundle from before the ``knn`` score)."""
    if not info.exemplars:
        return None
    path, rows = _load_array(bundle, info.exemplars)
    if rows.ndim != 2 or rows.shape[1] != info.dim or not np.issubdtype(rows.dtype, np.floating):
        raise BundleError(f"{path}: exemplars of shape {rows.shape} ({rows.dtype}); the manifest says (rows, "
                          f"{info.dim})")
    return l2_normalise(rows.astype(np.float32))


def exemplar_owner(bundle: Bundle, info: EmbeddingInfo, exemplars: np.ndarray | None) -> np.ndarray | None:
    """Each exemplar row's label index, from the manifest's ``exemplar_counts`` (rows in labels' order); ``None``
    when the bundle does not say (before the ``probe`` fusion)."""
    counts = info.details.get("exemplar_counts")
    if exemplars is None or counts is None:
        return None
    if not isinstance(counts, list) or sum(counts) != len(exemplars) or len(counts) != bundle.manifest.num_classes:
        raise BundleError(f"{bundle.path(info.exemplars)}: {len(exemplars)} exemplar rows; the manifest's "
                          f"exemplar_counts say {sum(counts) if isinstance(counts, list) else counts!r}")
    return np.repeat(np.arange(len(counts)), counts)


# -- the arithmetic ---------------------------------------------------------------------------------------------------
def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


def trained_similarity(queries: np.ndarray, prototypes: np.ndarray, exemplars: np.ndarray | None,
                       how: str = "mean") -> np.ndarray:
    """The relative fusion's ``trained`` (batch,): the largest cosine of L2-normalised ``queries`` with the trained
    SKUs' prototypes (``mean``) or with any of their exemplars (``max``; the prototypes where a bundle has none)."""
    rows = exemplars if how == "max" and exemplars is not None and len(exemplars) else prototypes
    return (np.atleast_2d(queries) @ rows.T).max(axis=1)


def gallery_similarity(queries: np.ndarray, gallery: np.ndarray, owner: np.ndarray, count: int,
                       how: str = "mean") -> np.ndarray:
    """Cosine similarity ``(queries, count)`` of L2-normalised ``queries`` with each of ``count`` SKUs, whose
    gallery rows are ``gallery`` (normalised) owned by ``owner`` (SKU index per row): with the SKU's normalised mean
    embedding (``mean``) or its closest row (``max``)."""
    queries = np.atleast_2d(queries)
    if count == 0:
        return np.zeros((len(queries), 0), np.float32)
    if how == "mean":
        sums = np.zeros((count, gallery.shape[1]), np.float32)
        np.add.at(sums, owner, gallery)
        return queries @ l2_normalise(sums).T
    if how != "max":
        raise ValueError(f"similarity {how!r}: one of {', '.join(SIMILARITIES)}")
    sims = queries @ gallery.T
    out = np.full((len(queries), count), -1.0, np.float32)
    for k in range(count):
        out[:, k] = sims[:, owner == k].max(axis=1)
    return out


def fusion_similarities(queries: np.ndarray, fusion: Fusion, gallery: np.ndarray, owner: np.ndarray,
                        skus: list[str], prototypes: np.ndarray | None, exemplars: np.ndarray | None,
                        probe=None) -> tuple[np.ndarray, np.ndarray | None]:
    """What :func:`fuse` takes for L2-normalised ``queries``: each gallery SKU's similarity ``(batch, skus)`` and, for
    the relative form, the best trained SKU's ``(batch,)``: cosines (``mean``/``max``) or the scores of ``probe``
    (a :class:`kiosk.bundle_format.probe.Probe` fitted on this gallery, for the ``probe`` similarity)."""
    if fusion.similarity == "probe":
        if probe is None:
            raise ValueError("the probe fusion needs the probe fitted on this gallery")
        return probe.similarities(queries)
    sims = gallery_similarity(queries, gallery, owner, len(skus), fusion.similarity)
    relative = fusion.form == "relative"
    return sims, trained_similarity(queries, prototypes, exemplars, fusion.similarity) if relative else None


@dataclass(frozen=True)
class Fused:
    """The head's logits and the gallery's, on one scale: ``labels`` (the head's, then enrolled SKUs it lacks)."""

    logits: np.ndarray  # (batch, len(labels))
    labels: list[str]
    from_gallery: np.ndarray  # (batch, len(labels)) bool: that logit came from the gallery


def fuse(logits: np.ndarray, labels: list[str], similarity: np.ndarray, gallery_skus: list[str],
         fusion: Fusion, trained: np.ndarray | None = None) -> Fused:
    """Append ``fusion``'s logits of the enrolled SKUs the head lacks to the head's (a SKU in both keeps the head's
    logit, never flagged as the gallery's: see the module docstring). ``trained``
    (batch,): each item's largest cosine with the trained SKUs' prototypes, which the ``relative`` form needs."""
    logits = np.atleast_2d(np.asarray(logits, np.float32))
    index = {s: i for i, s in enumerate(labels)}
    extra = [s for s in gallery_skus if s not in index]
    out_labels = list(labels) + extra
    g = fusion.scale * np.atleast_2d(similarity).astype(np.float32) + fusion.bias
    if fusion.form == "relative":
        if trained is None:
            raise ValueError("the relative fusion needs the items' similarity with the trained SKUs' prototypes")
        shift = logits.max(axis=1) - fusion.scale * np.asarray(trained, np.float32).reshape(-1)
        g = g + shift[:, None]
    fused = np.concatenate([logits, np.zeros((len(logits), len(extra)), np.float32)], axis=1)
    source = np.zeros(fused.shape, bool)
    all_index = {s: i for i, s in enumerate(out_labels)}
    for k, sku in enumerate(gallery_skus):
        if sku in index:  # trained: the head's answer and certification stand
            continue
        col = all_index[sku]
        fused[:, col] = g[:, k]
        source[:, col] = True
    return Fused(fused, out_labels, source)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def standardise(values: np.ndarray, stats: tuple[float, float]) -> np.ndarray:
    return _standard(np.asarray(values, np.float32), stats)


def open_set_scores(fused_logits: np.ndarray, embedding: np.ndarray | None = None,
                    prototypes: np.ndarray | None = None,
                    standardise_stats: dict[str, tuple[float, float]] | None = None,
                    neighbours: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each of :data:`SCORES` that can be computed, per item (higher = more known):

    * ``msp``: the largest softmax probability of the fused logits;
    * ``energy``: their log-sum-exp (the negative free energy, Liu et al. 2020);
    * ``prototype``: the largest cosine of the normalised embedding with any prototype (the trained SKUs' means and
      the enrolled SKUs' gallery rows), needs ``embedding`` and ``prototypes``;
    * ``combined``: the sum of ``energy`` and ``prototype``, each standardised on known validation photos
      (``standardise_stats``);
    * ``knn``: the largest cosine of the normalised embedding with any row of ``neighbours`` (the trained SKUs'
      exemplars and the enrolled SKUs' gallery rows, normalised)."""
    z = np.atleast_2d(np.asarray(fused_logits, np.float32))
    top = z.max(axis=1)
    energy = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    out = {"msp": np.exp(top - energy), "energy": energy}
    if embedding is not None and prototypes is not None and len(prototypes):
        out["prototype"] = (l2_normalise(np.atleast_2d(embedding)) @ prototypes.T).max(axis=1)
        stats = standardise_stats or {}
        if "energy" in stats and "prototype" in stats:
            out["combined"] = standardise(energy, stats["energy"]) + standardise(out["prototype"], stats["prototype"])
    if embedding is not None and neighbours is not None and len(neighbours):
        out["knn"] = (l2_normalise(np.atleast_2d(embedding)) @ neighbours.T).max(axis=1)
    return out


def item_scores(fused_logits: np.ndarray, embedding: np.ndarray | None = None, prototypes: np.ndarray | None = None,
                standardise_stats: dict[str, tuple[float, float]] | None = None,
                neighbours: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """ONE item's softmax probabilities and :func:`open_set_scores` (as floats, the same values to float32 rounding)
    from a single pass over its logits: the till's per-frame path. The batch form's ~40 numpy calls on one row, run
    cache-cold after each inference, cost more than the arithmetic (postprocess 0.32 → ~0.2 ms, ``checkout bench
    kiosk``); here the scalars are Python floats and the embedding is normalised after its dot products."""
    z = np.asarray(fused_logits, np.float32).reshape(-1)
    top = z.max()
    shifted = np.exp(z - top)
    total = float(shifted.sum())
    energy = float(top) + math.log(total)
    out = {"msp": 1.0 / total, "energy": energy}
    if embedding is not None:
        e = np.asarray(embedding, np.float32).reshape(-1)
        inverse_norm = 1.0 / max(float(np.linalg.norm(e)), 1e-12)
        if prototypes is not None and len(prototypes):
            out["prototype"] = float((prototypes @ e).max()) * inverse_norm
            stats = standardise_stats or {}
            if "energy" in stats and "prototype" in stats:
                out["combined"] = (_standard(energy, stats["energy"])
                                   + _standard(out["prototype"], stats["prototype"]))
        if neighbours is not None and len(neighbours):
            out["knn"] = float((neighbours @ e).max()) * inverse_norm
    return shifted / total, out


def _standard(value, stats: tuple[float, float]):
    """``value`` (a float or an array) standardised by ``stats`` = (mean, std) of known validation photos."""
    mean, std = stats
    return (value - mean) / max(std, 1e-6)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Area under the ROC curve of a score that should be higher for ``known`` than for ``unknown`` items (the
    Mann-Whitney statistic; ties count half)."""
    known, unknown = np.asarray(known, np.float64), np.asarray(unknown, np.float64)
    if not len(known) or not len(unknown):
        return float("nan")
    both = np.concatenate([known, unknown])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both), np.float64)
    sorted_values = both[order]
    i = 0
    while i < len(both):  # average ranks over ties
        j = i
        while j + 1 < len(both) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[: len(known)].sum() - len(known) * (len(known) + 1) / 2
    return float(u / (len(known) * len(unknown)))
