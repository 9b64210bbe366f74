"""``checkout feedback cluster DIR --bundle BUNDLE``: collect's placements for review, grouped by what they look like.

Most rows of ``DIR/unlabelled.csv`` (:mod:`trainer.fleet.collect`) are items the kiosks said "Not recognised" for:
typically a product the model does not know yet, arriving as dozens of crops from many kiosks. Head office labels a
whole group at once, so this command sorts the crops into groups of one product:

1. Every crop the file names (rows without one are skipped and counted; a crop that cannot be read, or a path
   outside DIR, is counted and named, never fatal) goes through the bundle's own ONNX model with the till's
   preprocessing (:func:`trainer.openset_fit.onnx_outputs`, as ``checkout evaluate onboarding`` runs it): its logits
   and its pooled embedding (the manifest's ``embedding`` output, :mod:`kiosk.bundle_format.openset`).
2. The embeddings, L2-normalised, are grouped by agglomerative clustering with **average linkage on cosine
   distance** (1 - cosine), cut at ``--threshold``: two crops share a group when the dendrogram joins them at a mean
   distance of at most the threshold (scipy's ``fcluster(linkage(..., "average", "cosine"), t, "distance")``).
   scipy is not a dependency of this project (not in the venv; tens of MB of wheel for one function), so
   :func:`average_linkage` is the nearest-neighbour-chain algorithm (Murtagh 1983) over the distance matrix in numpy:
   O(n²) time and n² × 4 bytes in float32 (3,000 crops: 36 MB, about a second), the same merges as the textbook O(n³)
   loop (the tests compare the two). Groups smaller than ``--min-size`` (2) are singletons (cluster -1).
   ``--max-crops`` (:data:`DEFAULT_MAX_CROPS`, 8,000: a 256 MB matrix) bounds it at fleet size: only the newest
   crops (by unlabelled.csv's ``time``) are grouped; the older ones are written with cluster -2 ("not grouped this
   time", no size or hint) and counted in the summary.
3. ``DIR/clusters.csv`` (atomic, every cell through :func:`catalog.csv_io.formula_safe`): ``store, kiosk,
   placement_id, path, cluster, size, nearest_sku, nearest_score, model_version, bundle_sha256`` (of ``model.onnx``),
   one row per embedded crop (and per crop left out by ``--max-crops``, last); groups numbered by size, largest
   first (ties: the group whose first crop comes first in unlabelled.csv), singletons after them. ``nearest_sku``
   is a hint ("looks like X"): the trained SKU whose prototype is closest (cosine), or the top-1 softmax of the
   logits for a bundle without prototypes. Running it again gives the same file; :func:`read_clusters` reads it.

**The default threshold (0.2)** was measured on real photos: runs/onboarding-cos/base-bundle (mobilenet_v2, trained
without 20 SKUs of the grocery-store dataset) on the 490 photos of those 20 SKUs (runs/onboarding-cos/unknown.csv and
new_eval.csv, 12-42 a SKU) copied into a folder with an unlabelled.csv naming them, as if they were one collect's
crops: ``checkout feedback cluster DIR --bundle runs/onboarding-cos/base-bundle --threshold T --json`` for each T,
each crop's group set against its photo's SKU. 2-core CPU VM, no GPU: the whole command took 6 s (embedding 5 s).
Purity: the share of crops whose group's majority SKU is theirs (a singleton is pure); clicks: groups + singletons,
against 490 (one a crop); + strays: the crops not of their group's majority, each a correction. The embedding is a
post-ReLU pooled feature, so cosine distances are small: from 0.6 on nearly everything is one group (purity 0.216 at
0.6, 0.086 from 0.7)::

    threshold  groups  alone  largest  purity  clicks  +strays  mixed groups
    0.10           90    117       26   0.998     207      208             1
    0.15           69     53       33   0.990     122      127             2
    0.20           55     27       41   0.984      82       90             5
    0.25           41     18       43   0.949      59       84             7
    0.30           32      8       52   0.869      40      104             8
    0.40           17      5      101   0.737      22      151             6
    0.50            8      1      114   0.510       9      249             7

0.2 takes 82 clicks for 490 crops (a sixth) with 8 strays; 0.25 takes fewer clicks but three times the strays, and a
stray labelled with its group trains the model on a wrong label. The second onboarding split's base
(runs/onboarding-cos-s1/base-bundle, its own 20 unseen SKUs, 497 crops) agrees: 0.2 is 98.8 % pure in 82 clicks with
6 strays (0.15: 99.8 %, 118; 0.25: 95.4 %, 52 with 23 strays). The distances depend on the model: a bundle of another
network may want its own threshold (measure it as above).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kiosk.bundle_format.atomic import atomic_open, shown
from kiosk.errors import DataError, UserError
from trainer.fleet.clusters_file import CLUSTERS, COLUMNS, NOT_GROUPED, Clusters, read_clusters

__all__ = ["CLUSTERS", "COLUMNS", "DEFAULT_MAX_CROPS", "DEFAULT_MIN_SIZE", "DEFAULT_THRESHOLD", "NOT_GROUPED",
           "ClusterReport", "Clusters", "average_linkage", "cluster_unlabelled", "flat_clusters", "group",
           "read_clusters", "read_crops"]

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.2
DEFAULT_MIN_SIZE = 2
DEFAULT_MAX_CROPS = 8000  # the float32 distance matrix of 8,000 crops: 256 MB (10,000: 400 MB)


@dataclass
class ClusterReport:
    """What a cluster run did: ``crops`` embedded, in ``groups`` (the largest ``largest``) and ``alone``."""

    folder: str
    out: str
    threshold: float
    min_size: int
    max_crops: int = DEFAULT_MAX_CROPS
    rows: int = 0  # rows of unlabelled.csv
    without_crop: int = 0
    crops: int = 0
    groups: int = 0
    largest: int = 0
    alone: int = 0
    not_grouped: int = 0  # older crops --max-crops left out (cluster -2)
    unreadable: list[dict] = field(default_factory=list)  # {"path", "placement_id", "why"}
    model_version: int = 0
    bundle_sha256: str = ""

    def summary(self) -> str:
        bad = len(self.unreadable)
        first = f" (first: {self.unreadable[0]['path']}: {self.unreadable[0]['why']})" if bad else ""
        older = (f"; {self.not_grouped} older crops not grouped this time (--max-crops {self.max_crops}: cluster -2)"
                 if self.not_grouped else "")
        return (f"{self.crops} crops: {self.groups} groups (largest {self.largest}), {self.alone} alone, "
                f"{bad} unreadable{first}{older}; {self.out}")

    def to_dict(self) -> dict:
        return asdict(self)


def read_crops(folder: str | Path) -> list[dict[str, str]]:
    """The rows of ``folder/unlabelled.csv`` (:func:`trainer.fleet.labels.read_unlabelled`: every row or one line
    naming the file and line)."""
    from trainer.fleet.labels import read_unlabelled

    return read_unlabelled(folder)


# -- clustering --------------------------------------------------------------------------------------------------------
def average_linkage(distance: np.ndarray, overwrite: bool = False) -> list[tuple[int, int, float]]:
    """The merges ``(a, b, height)`` of average-linkage agglomerative clustering of the symmetric ``distance`` matrix
    (nearest-neighbour chain; ``a < b`` are the lowest original indexes of the two groups merged). Ties go to the
    lower index, so the same matrix always gives the same merges. A float32 matrix is worked on in float32 (half the
    memory), in place when ``overwrite`` (no copy: the caller's matrix is spent); anything else as float64."""
    n = len(distance)
    dtype = np.float32 if np.asarray(distance).dtype == np.float32 else np.float64
    d = np.asarray(distance, dtype=dtype) if overwrite else np.array(distance, dtype=dtype)
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    active = np.ones(n, bool)
    merges: list[tuple[int, int, float]] = []
    chain: list[int] = []
    for _ in range(n - 1):
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        while True:
            row = d[chain[-1]]
            b = int(np.argmin(row))
            if len(chain) > 1 and row[chain[-2]] <= row[b]:
                break  # the previous link is (one of) the nearest: a reciprocal pair
            chain.append(b)
        a, b = sorted((chain.pop(), chain.pop()))
        merges.append((a, b, float(d[a, b])))
        merged = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])  # Lance-Williams, average linkage
        d[a], d[:, a] = merged, merged
        d[b], d[:, b] = np.inf, np.inf
        d[a, a] = np.inf
        size[a] += size[b]
        active[b] = False
    return merges


def flat_clusters(n: int, merges: list[tuple[int, int, float]], threshold: float) -> np.ndarray:
    """Each of ``n`` items' group (the lowest index in it) when the dendrogram is cut at ``threshold``: average
    linkage's heights never decrease upwards, so the groups are those the merges at or below it join."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for a, b, height in merges:
        if height <= threshold:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(n)])


def group(embeddings: np.ndarray, threshold: float, min_size: int = DEFAULT_MIN_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(cluster, size)`` of each embedding row: clusters numbered 0, 1, … by size (largest first, ties by their
    first row), -1 for rows in a group smaller than ``min_size``; ``size`` the row's group's size."""
    from kiosk.bundle_format.openset import l2_normalise

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int), np.zeros(0, int)
    e = l2_normalise(np.asarray(embeddings, np.float64)).astype(np.float32)
    distance = e @ e.T  # float32 and in place from here: n² × 4 bytes, the one matrix of the run
    np.subtract(np.float32(1.0), distance, out=distance)
    np.clip(distance, 0.0, 2.0, out=distance)
    roots = flat_clusters(n, average_linkage(distance, overwrite=True), threshold)
    ids, first, counts = np.unique(roots, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda k: (-counts[k], first[k]))
    number = {}
    for k in order:
        if counts[k] >= min_size:
            number[ids[k]] = len(number)
    size_of = dict(zip(ids, counts))
    return (np.array([number.get(r, -1) for r in roots]), np.array([size_of[r] for r in roots]))


# -- the command -------------------------------------------------------------------------------------------------------
def _open_bundle(path: Path):
    """``(bundle, embedding info, ONNX session)``; one line when the bundle does not load or embeds nothing."""
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.bundle_format.openset import EMBEDDING_OUTPUT, embedding_info
    from kiosk.errors import BundleError

    try:
        bundle = load_bundle(path)
        info = embedding_info(bundle.manifest, str(path))
    except BundleError as exc:
        raise UserError(f"--bundle {shown(path)}: {exc}") from None
    except OSError as exc:
        raise UserError(f"--bundle {shown(path)}: not a model bundle ({exc.strerror or exc})") from None
    if info is None or "model.onnx" not in bundle.manifest.files:
        raise UserError(f"--bundle {shown(path)}: the model has no embedding output (a bundle exported before "
                        f"embeddings, or without model.onnx), so its crops cannot be grouped")
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(bundle.path("model.onnx")), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own kinds for a model it cannot run
        raise UserError(f"--bundle {shown(path)}: ONNX Runtime cannot load model.onnx ({str(exc)[:200]})") from None
    outputs = [o.name for o in session.get_outputs()]
    if EMBEDDING_OUTPUT not in outputs:  # the output onnx_outputs runs (the exporter's only name for it)
        raise UserError(f"--bundle {shown(path)}: model.onnx has no {EMBEDDING_OUTPUT!r} output (outputs: "
                        f"{', '.join(outputs)})")
    return bundle, info, session


def _nearest(bundle, info, logits: np.ndarray, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Each crop's closest trained SKU and its score: the cosine with its prototype, else the top-1 softmax."""
    from kiosk.bundle_format.openset import l2_normalise, load_prototypes
    from kiosk.bundle_format.selftest import softmax

    labels = bundle.manifest.labels
    protos = load_prototypes(bundle, info)
    scores = l2_normalise(embeddings) @ protos.T if protos is not None else softmax(logits)
    best = np.argmax(scores, axis=1)
    return [labels[i] for i in best], scores[np.arange(len(best)), best]


def _crop_paths(folder: Path, rows: list[dict], report: ClusterReport) -> list[tuple[dict, Path]]:
    """The rows with a crop inside ``folder``; the rest counted (no crop) or named (a path outside the folder)."""
    inside = folder.resolve()
    out = []
    for r in rows:
        if not r["path"]:
            report.without_crop += 1
            continue
        p = (folder / r["path"]).resolve()
        if not p.is_relative_to(inside):
            report.unreadable.append({"path": r["path"], "placement_id": r["placement_id"],
                                      "why": f"outside {shown(folder)}"})
            continue
        out.append((r, p))
    return out


def _embed(crops: list[tuple[dict, Path]], bundle, session, report: ClusterReport):
    """``(kept rows, logits, embeddings)`` of the crops the model could read; the others named in ``report``."""
    from kiosk.bundle_format.preprocess import load_image
    from trainer.openset_fit import onnx_outputs

    spec = bundle.manifest.preprocess
    if not crops:
        return [], np.zeros((0, bundle.manifest.num_classes), np.float32), np.zeros((0, 1), np.float32)
    try:
        logits, emb, kept = onnx_outputs(session, [p for _, p in crops], spec, desc="embed crops")
    except UserError:  # none could be read: each is named below
        logits, emb, kept = None, None, []
    for i in sorted(set(range(len(crops))) - set(kept)):
        r, p = crops[i]
        why = load_image(p, spec.resize_size)[1] or "cannot be read"
        report.unreadable.append({"path": r["path"], "placement_id": r["placement_id"], "why": why})
        log.warning("%s: %s", shown(p), why)
    if not kept:
        return [], np.zeros((0, bundle.manifest.num_classes), np.float32), np.zeros((0, 1), np.float32)
    return [crops[i][0] for i in kept], logits, emb


def _newest(crops: list[tuple[dict, Path]], most: int) -> tuple[list[tuple[dict, Path]], list[tuple[dict, Path]]]:
    """``(grouped, left out)``: the ``most`` newest crops by unlabelled.csv's ``time`` (one that does not read: the
    oldest; ties: the later row) and the rest, each in the file's order."""
    from datetime import datetime, timezone

    def instant(row: dict) -> datetime:
        try:
            t = datetime.fromisoformat(row.get("time", "").replace("Z", "+00:00"))
        except ValueError:
            return datetime.min.replace(tzinfo=timezone.utc)
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    if len(crops) <= most:
        return crops, []
    newest = set(sorted(range(len(crops)), key=lambda i: (instant(crops[i][0]), i), reverse=True)[:most])
    return [c for i, c in enumerate(crops) if i in newest], [c for i, c in enumerate(crops) if i not in newest]


def cluster_unlabelled(folder: str | Path, bundle_path: str | Path, threshold: float = DEFAULT_THRESHOLD,
                       min_size: int = DEFAULT_MIN_SIZE, max_crops: int = DEFAULT_MAX_CROPS) -> ClusterReport:
    """Group the crops of ``folder/unlabelled.csv`` by their embedding under the bundle and write
    ``folder/clusters.csv`` (see the module docstring); returns the report."""
    if not 0.0 < threshold < 1.0:
        raise UserError(f"--threshold {threshold}: must be more than 0 and less than 1 (a cosine distance)")
    if min_size < 1:
        raise UserError(f"--min-size {min_size}: must be at least 1")
    if max_crops < 1:
        raise UserError(f"--max-crops {max_crops}: must be at least 1")
    folder, bundle_path = Path(folder), Path(bundle_path)
    rows = read_crops(folder)
    bundle, info, session = _open_bundle(bundle_path)
    report = ClusterReport(str(folder), str(folder / CLUSTERS), threshold, min_size, max_crops, rows=len(rows),
                           model_version=bundle.manifest.model_version,
                           bundle_sha256=bundle.manifest.files["model.onnx"]["sha256"])
    grouped, older = _newest(_crop_paths(folder, rows, report), max_crops)
    report.not_grouped = len(older)
    kept, logits, emb = _embed(grouped, bundle, session, report)
    cluster, size = group(emb, threshold, min_size)
    nearest, score = _nearest(bundle, info, logits, emb) if kept else ([], np.zeros(0))
    report.crops, report.alone = len(kept), int(np.sum(cluster < 0))
    report.groups = int(cluster.max() + 1) if len(cluster) else 0
    report.largest = int(size[cluster >= 0].max()) if report.groups else 0
    order = sorted(range(len(kept)), key=lambda i: (cluster[i] < 0, cluster[i], i))
    _write(folder / CLUSTERS, [[kept[i]["store"], kept[i]["kiosk"], kept[i]["placement_id"], kept[i]["path"],
                                int(cluster[i]), int(size[i]), nearest[i], f"{float(score[i]):.4f}",
                                report.model_version, report.bundle_sha256] for i in order]
           + [[r["store"], r["kiosk"], r["placement_id"], r["path"], NOT_GROUPED, "", "", "", report.model_version,
               report.bundle_sha256] for r, _p in older])
    return report


def _write(path: Path, rows: list[list]) -> None:
    from catalog.csv_io import formula_safe

    try:
        with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(formula_safe(r) for r in rows)
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot write it ({exc.strerror or exc})") from None
