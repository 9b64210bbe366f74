"""Replay exemplars: for every SKU of a run, the few training photos that best stand for it, chosen and stored by the
trainer with every run (``RUN/exemplars.csv``, a training manifest).

They are what an incremental retrain (:mod:`trainer.incremental`) replays beside the new SKUs' photos so the old
SKUs are not forgotten, and what the exporter builds the trained SKUs' prototypes and the gallery calibration from
(:mod:`trainer.openset_fit`). Chosen by herding (Rebuffi et al., iCaRL 2017) on the final weights' L2-normalised
embeddings: photo after photo, the one that brings the mean of those chosen closest to the SKU's mean, so the first
``k`` exemplars of a SKU are a good ``k``-photo summary for any ``k``. Costs one forward pass over the training
photos at the eval size (decoded once into the run's image cache); the embeddings that pass computes are kept too
(:mod:`trainer.embeddings`), for the next month's head refit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from kiosk.bundle_format.atomic import atomic_write
from kiosk.bundle_format.preprocess import PreprocessSpec

__all__ = ["DEFAULT_PER_SKU", "EXEMPLARS_FILE", "by_sku", "embed_crops", "herding", "read_exemplars", "store_exemplars",
           "write_chosen"]

log = logging.getLogger(__name__)
EXEMPLARS_FILE = "exemplars.csv"
DEFAULT_PER_SKU = 20


def embed_crops(model, crops_uint8: np.ndarray, spec: PreprocessSpec, device: str = "cpu",
                batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``(logits, embeddings)`` of eval crops ``(N, S, S, 3)`` uint8 RGB by ``model`` (eval mode, one pass)."""
    import torch
    from tqdm import tqdm

    from trainer.models import WithEmbedding
    from trainer.presets import normalize_batch

    net = WithEmbedding(model).eval()
    logits, embeddings = [], []
    with torch.inference_mode():
        for start in tqdm(range(0, len(crops_uint8), batch_size), desc="embed", unit="batch", leave=False,
                          disable=None):  # quiet off a terminal
            x = torch.from_numpy(np.array(crops_uint8[start : start + batch_size])).permute(0, 3, 1, 2)
            z, e = net(normalize_batch(x.to(device), spec))
            logits.append(z.float().cpu().numpy())
            embeddings.append(e.float().cpu().numpy())
    if not logits:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(logits), np.concatenate(embeddings)


def herding(vectors: np.ndarray, k: int) -> list[int]:
    """Indexes of up to ``k`` rows of ``vectors`` (L2-normalised), in the order herding picks them."""
    n = len(vectors)
    k = min(k, n)
    mean = vectors.mean(axis=0)
    chosen: list[int] = []
    running = np.zeros_like(mean)
    free = np.ones(n, bool)
    for step in range(1, k + 1):
        # the candidate whose addition puts the running mean nearest the class mean
        candidates = (running[None] + vectors) / step
        dist = np.linalg.norm(candidates - mean[None], axis=1)
        dist[~free] = np.inf
        best = int(np.argmin(dist))
        chosen.append(best)
        free[best] = False
        running += vectors[best]
    return chosen


def by_sku(rows: list[dict], embeddings: np.ndarray, per_sku: int) -> list[tuple[dict, int]]:
    from kiosk.bundle_format.openset import l2_normalise

    vectors = l2_normalise(embeddings)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r["sku"], []).append(i)
    chosen = []
    for sku in sorted(groups):
        idx = groups[sku]
        chosen += [(rows[idx[j]], rank) for rank, j in enumerate(herding(vectors[idx], per_sku))]
    return chosen


def store_exemplars(model, rows: list[dict], spec: PreprocessSpec, run: Path, cache_dir: Path, device: str = "cpu",
                    per_sku: int = DEFAULT_PER_SKU) -> Path | None:
    """Choose up to ``per_sku`` exemplars per SKU among ``rows`` (a training manifest's rows: ``path``, ``sku``,
    ``group``) with ``model``'s embeddings, and write them to ``RUN/exemplars.csv`` (+ ``exemplars.json``)."""
    from trainer.data.manifest import ManifestRow
    from trainer.embeddings import backbone_sha256, write_embeddings
    from trainer.imagecache import build_cache

    if per_sku <= 0 or not rows:
        return None
    cache = build_cache([(Path(r["path"]), 0) for r in rows], cache_dir, "eval", spec,
                        lines=[r.get("line", i + 2) for i, r in enumerate(rows)], desc="decode exemplar candidates")
    kept = {p: i for i, p in enumerate(cache.paths)}
    usable = [r for r in rows if str(Path(r["path"])) in kept]
    _logits, embeddings = embed_crops(model, cache.images[[kept[str(Path(r["path"]))] for r in usable]], spec, device)
    write_embeddings(run, [ManifestRow(Path(r["path"]), r["sku"], r.get("group", "")) for r in usable], embeddings,
                     backbone_sha256(model))
    chosen = by_sku(usable, embeddings, per_sku)
    out = write_chosen(run, chosen, len(usable), per_sku)
    log.info("exemplars: %d photos for %d SKUs in %s (the embeddings of all %d candidates kept)", len(chosen),
             len({r['sku'] for r, _ in chosen}), out, len(usable))
    return out


def write_chosen(run: Path, chosen: list[tuple[dict, int]], candidates: int, per_sku: int) -> Path:
    """``RUN/exemplars.csv`` (+ ``exemplars.json``) from ``chosen`` ((row, rank) pairs, :func:`by_sku`)."""
    from trainer.data.manifest import ManifestRow, write_manifest

    out = write_manifest([ManifestRow(Path(r["path"]), r["sku"], r.get("group", ""),
                                      extra={"exemplar_rank": str(rank)}) for r, rank in chosen], run / EXEMPLARS_FILE)
    atomic_write(run / "exemplars.json", json.dumps({"per_sku": per_sku, "method": "herding", "photos": len(chosen),
                                                     "skus": len({r["sku"] for r, _ in chosen}),
                                                     "candidates": candidates}, indent=2))
    return out


def read_exemplars(run: Path, per_sku: int | None = None) -> list | None:
    """The run's exemplars (``ManifestRow``, best first per SKU; at most ``per_sku`` each), or ``None`` for a run
    that has none (trained before exemplars were stored)."""
    from trainer.data.manifest import read_manifest

    path = Path(run) / EXEMPLARS_FILE
    if not path.is_file():
        return None
    rows = read_manifest(path)
    if per_sku is None:
        return rows
    taken: dict[str, int] = {}
    out = []
    for r in rows:
        if taken.get(r.sku, 0) < per_sku:
            taken[r.sku] = taken.get(r.sku, 0) + 1
            out.append(r)
    return out
