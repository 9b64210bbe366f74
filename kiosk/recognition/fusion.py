"""The till's side of the gallery fusion and the open-set rule (:mod:`kiosk.bundle_format.openset` holds the
arithmetic, shared with head office): the trained head's logits and the gallery of SKUs enrolled at this kiosk, on
one scale, and whether the item is one the kiosk knows at all.

The gallery itself lives elsewhere (``kiosk.gallery``: SQLite and the enrollment photos); this module sees it through
a :class:`GallerySource`, asked for its revision at every recognition (a cheap read) and for its embeddings only when
the revision changed, so an enrollment made a moment ago, in this process or another (``checkout sku enroll``),
counts from the next placement on, without a restart. The embeddings are asked for under this model's
:attr:`GalleryFusion.feature_key`: a gallery that holds none under that key (a new bundle changed the backbone)
re-embeds its stored photos with :meth:`~kiosk.recognition.recognizer.Recognizer.embed`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from kiosk.bundle_format.bundle import Bundle
from kiosk.bundle_format.openset import (
    embedding_info,
    exemplar_owner,
    fuse,
    fusion_similarities,
    item_scores,
    load_exemplars,
    load_prototypes,
    open_set_rule,
    softmax,
)
from kiosk.bundle_format.probe import Probe, ProbeBase

__all__ = ["Decision", "GalleryFusion", "GallerySnapshot", "GallerySource", "feature_key"]

log = logging.getLogger(__name__)

#: images → embeddings (N, dim), one forward pass each, by the model that recognises
Embedder = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class GallerySnapshot:
    """The enrolled SKUs' embeddings under one feature key: ``vectors`` (rows, dim), L2-normalised, each owned by
    ``skus[owner[row]]``."""

    skus: list[str]
    owner: np.ndarray
    vectors: np.ndarray
    revision: object = None

    @classmethod
    def empty(cls, dim: int = 0, revision: object = None) -> GallerySnapshot:
        return cls([], np.zeros(0, np.int64), np.zeros((0, dim), np.float32), revision)


class GallerySource(Protocol):
    def revision(self) -> object:
        """Changes whenever an enrollment is added or withdrawn (here or in another process)."""

    def snapshot(self, feature_key: str, embed: Embedder) -> GallerySnapshot:
        """The enrolled SKUs' embeddings under ``feature_key`` (re-embedding stored photos with ``embed`` when the
        gallery holds none under that key)."""


def feature_key(bundle: Bundle, model_file: str = "model.onnx") -> str:
    """What a gallery's embeddings were computed with: the backbone's hash for the fp32 model (a new head on the same
    backbone keeps them), the model file's hash for any other model (an int8 model embeds a little differently)."""
    info = embedding_info(bundle.manifest)
    if model_file == "model.onnx" and info is not None and info.backbone_sha256:
        return f"fp32-{info.backbone_sha256[:16]}"
    meta = bundle.manifest.files.get(model_file, {})
    return f"{model_file.removesuffix('.onnx')}-{str(meta.get('sha256', 'unknown'))[:16]}"


@dataclass(frozen=True)
class Decision:
    """One image's fused scores: probabilities over ``labels`` (the head's, then enrolled SKUs), which of them came
    from the gallery, the open-set scores and whether the item counts as known."""

    probabilities: np.ndarray
    labels: list[str]
    from_gallery: np.ndarray
    known: bool = True
    scores: dict[str, float] = field(default_factory=dict)
    score_used: str | None = None


class GalleryFusion:
    """The bundle's embedding/open-set sections, the trained SKUs' prototypes and an attached gallery."""

    def __init__(self, bundle: Bundle, model_file: str = "model.onnx") -> None:
        manifest = bundle.manifest
        where = str(bundle.root / "manifest.json")
        self.labels = manifest.labels
        self.info = embedding_info(manifest, where)
        self.rule = open_set_rule(manifest, where)
        self.trained = load_prototypes(bundle, self.info) if self.info is not None else None
        self.exemplars = load_exemplars(bundle, self.info) if self.info is not None else None
        self.exemplar_owner = exemplar_owner(bundle, self.info, self.exemplars) if self.info is not None else None
        self._probe_base: ProbeBase | None = None
        self._probe: tuple[GallerySnapshot, Probe] | None = None  # _fitted_probe's cache
        self._bank: tuple[GallerySnapshot, np.ndarray | None] | None = None  # _neighbours' cache
        self.feature_key = feature_key(bundle, model_file)
        self._source: GallerySource | None = None
        self._embed: Embedder | None = None
        self._snapshot = GallerySnapshot.empty(self.info.dim if self.info else 0)
        self._lock = threading.Lock()
        self._joined: tuple[GallerySnapshot, np.ndarray | None] | None = None  # _prototypes' cache

    @property
    def has_embedding(self) -> bool:
        return self.info is not None

    @property
    def can_fuse(self) -> bool:
        return self.info is not None and self.info.fusion is not None

    def attach(self, source: GallerySource | None, embed: Embedder) -> None:
        with self._lock:
            if source is self._source and embed == self._embed:
                return  # attached already (by the loader, then by the service): keep the snapshot
            self._source, self._embed = source, embed
            self._snapshot = GallerySnapshot.empty(self.info.dim if self.info else 0)

    def gallery(self) -> GallerySnapshot:
        """The attached gallery as it is now (asked again only when its revision changed)."""
        with self._lock:
            source, embed = self._source, self._embed
            if source is None or not self.can_fuse or embed is None:
                return self._snapshot
            revision = source.revision()
            if revision != self._snapshot.revision:
                snap = source.snapshot(self.feature_key, embed)
                self._snapshot = GallerySnapshot(snap.skus, snap.owner, snap.vectors, revision)
                log.info("gallery: %d enrolled SKU(s), %d photo(s) (revision %s)", len(snap.skus), len(snap.owner),
                         revision)
            return self._snapshot

    def _prototypes(self, snap: GallerySnapshot) -> np.ndarray | None:
        """The trained SKUs' prototypes and the gallery's rows as one matrix, joined once per gallery snapshot, not
        copied on every frame (81 x 1280 floats: postprocess p50 0.29-0.31 → 0.26 ms, ``checkout bench kiosk``)."""
        joined = self._joined
        if joined is None or joined[0] is not snap:
            parts = [p for p in (self.trained, snap.vectors) if p is not None and len(p)]
            joined = (snap, parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else None)
            self._joined = joined
        return joined[1]

    def _neighbours(self, snap: GallerySnapshot) -> np.ndarray | None:
        """The ``knn`` score's bank: the trained SKUs' exemplars and the gallery's rows, joined once per snapshot."""
        bank = self._bank
        if bank is None or bank[0] is not snap:
            parts = [p for p in (self.exemplars, snap.vectors) if p is not None and len(p)]
            bank = (snap, np.concatenate(parts) if self.exemplars is not None and parts else None)
            self._bank = bank
        return bank[1]

    def _fitted_probe(self, snap: GallerySnapshot) -> Probe | None:
        """The ``probe`` fusion's classifier for this gallery snapshot: fitted once per snapshot (the exemplars' sums
        once per bundle), on the recognising thread at the first placement after an enrollment (~0.1-0.3 s)."""
        if self.info is None or self.info.fusion is None or self.info.fusion.similarity != "probe":
            return None
        cached = self._probe
        if cached is None or cached[0] is not snap:
            if self._probe_base is None:
                self._probe_base = ProbeBase.of(self.info.fusion, self.exemplars, self.exemplar_owner, self.labels)
            cached = (snap, self._probe_base.fit(snap.vectors, snap.owner, snap.skus))
            self._probe = cached
        return cached[1]

    def decide(self, logits: np.ndarray, embedding: np.ndarray | None) -> Decision:
        """Fused probabilities and the open-set decision for ONE image (``logits`` (C,), ``embedding`` (dim,))."""
        snap = self.gallery() if embedding is not None else GallerySnapshot.empty()
        labels, z = self.labels, np.asarray(logits, np.float32)[None]
        source = np.zeros(z.shape, bool)
        if embedding is not None and snap.skus and self.can_fuse:
            query = embedding[None] / max(float(np.linalg.norm(embedding)), 1e-12)
            sims, trained = fusion_similarities(query, self.info.fusion, snap.vectors, snap.owner, snap.skus,
                                                self.trained, self.exemplars, self._fitted_probe(snap))
            fused = fuse(z, labels, sims, snap.skus, self.info.fusion, trained)
            labels, z, source = fused.labels, fused.logits, fused.from_gallery
        if self.rule is None:
            return Decision(softmax(z)[0], labels, source[0])
        protos = self._prototypes(snap) if embedding is not None else None
        bank = self._neighbours(snap) if embedding is not None and self.rule.score == "knn" else None  # 0.3 ms
        probs, scores = item_scores(z[0], embedding, protos, self.rule.standardise, bank)
        known = self.rule.known(scores)
        return Decision(probs, labels, source[0], True if known is None else bool(known), scores,
                        self.rule.usable(scores))
