"""The gallery fusion's ``probe`` similarity: a linear classifier over the frozen embeddings, fitted in closed form
(ridge regression onto one-hot targets) on the trained SKUs' exemplars and the gallery's photos whenever the gallery
changes, at the till and in the export's fit alike.

Why: the ``mean``/``max`` similarities compare cosines with the nearest gallery photo and the nearest trained
exemplar, and a new variant of a trained pack (a shelf-stable carton of the same soy milk, a lactose-free bottle of
the same milk) sits nearer the old pack's exemplars than its own ten shots from another session: taught at the
counter it reached the top three on every photo and top-1 on none (issue 13's protocol, second split, README). A
linear probe weighs the few directions that tell the two apart; on that split, with the two look-alikes taught, the
enrolled SKUs' top-1 went 73 % → 91 % with the old SKUs' unchanged (README: "Eighteenth session").

The probe's scores replace the cosines in the ``relative`` form (:func:`kiosk.bundle_format.openset.fuse`): an
enrolled SKU's similarity is its probe score, ``trained`` the best trained SKU's, so an enrolled SKU wins an item
where the probe prefers it to every trained SKU, by ``scale``/``bias`` fitted at export as before; the head still
ranks the trained SKUs among themselves.

Every SKU weighs the same (a row weighs 1 / its SKU's rows: a trained SKU's exemplars come in several views, an
enrolled SKU has its handful of photos), ``ridge`` is the penalty per SKU's weight. The trained side's sums (a
``dim`` x ``dim`` matrix and one column a SKU) are computed once per bundle (:class:`ProbeBase`); a gallery adds its
photos' and one ``dim`` x ``dim`` solve (0.12 s at 1280 on one core here). Plain numpy: the till has no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RIDGE", "Probe", "ProbeBase", "class_sums", "solve"]

#: the ridge penalty per SKU's weight; chosen on issue 13's protocol (README: "Eighteenth session")
RIDGE = 0.01


def class_sums(rows: np.ndarray, owner: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gram, targets, mass)``: the weighted ``rows.T @ rows`` (dim, dim), ``rows.T @ one_hot`` (dim, classes) and
    each class's weight (classes,), float64, each row weighing 1 / its class's rows, so every class present weighs 1.
    Sums of several sets add up (a trained SKU taught again at the till weighs 2)."""
    rows = np.asarray(rows, np.float64)
    owner = np.asarray(owner, np.int64)
    counts = np.bincount(owner, minlength=classes).astype(np.float64)
    weights = 1.0 / np.maximum(counts[owner], 1.0)
    weighted = rows * weights[:, None]
    targets = np.zeros((rows.shape[1], classes), np.float64)
    np.add.at(targets.T, owner, weighted)
    return weighted.T @ rows, targets, (counts > 0).astype(np.float64)


def solve(gram: np.ndarray, targets: np.ndarray, mass: np.ndarray,
          ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """The ridge weights (dim, classes) and intercepts (classes,), float32, from :func:`class_sums`: fitted on the
    centred rows, ``ridge`` times the rows' mean variance a dimension as penalty, so the same ``ridge`` suits any
    network's features."""
    dim, total = gram.shape[0], max(float(mass.sum()), 1e-12)
    mean, share = targets.sum(axis=1) / total, mass / total
    cov = gram / total - np.outer(mean, mean)
    cross = targets / total - np.outer(mean, share)
    penalty = ridge * max(float(np.trace(cov)) / dim, 1e-12)
    weights = np.linalg.solve(cov + penalty * np.eye(dim), cross)
    return weights.astype(np.float32), (share - mean @ weights).astype(np.float32)


@dataclass(frozen=True)
class Probe:
    """Fitted weights (dim, trained + new SKUs) and intercepts; ``columns``: each gallery SKU's column (a trained
    SKU taught again at the till has its trained column)."""

    weights: np.ndarray
    trained: int
    columns: np.ndarray
    intercepts: np.ndarray | float = 0.0

    def similarities(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(per gallery SKU (batch, skus), best trained SKU (batch,))`` for L2-normalised ``queries``."""
        z = np.atleast_2d(queries) @ self.weights + self.intercepts
        return z[:, self.columns], z[:, : self.trained].max(axis=1)


class ProbeBase:
    """The trained side of the probe: the exemplars' sums, computed once; :meth:`fit` adds a gallery."""

    @classmethod
    def of(cls, fusion, exemplars: np.ndarray | None, owner: np.ndarray | None,
           labels: list[str]) -> ProbeBase | None:
        """The base a bundle's ``fusion`` (:class:`kiosk.bundle_format.openset.Fusion`) fits its probe on, with the
        ridge it was exported with; ``None`` for the cosine similarities."""
        if fusion is None or fusion.similarity != "probe":
            return None
        return cls(exemplars, owner, labels, float(fusion.details.get("ridge", RIDGE)))

    def __init__(self, exemplars: np.ndarray, owner: np.ndarray, labels: list[str], ridge: float = RIDGE) -> None:
        self.labels, self.ridge = list(labels), ridge
        self.gram, self.targets, self.mass = class_sums(exemplars, owner, len(labels))

    def fit(self, gallery: np.ndarray, owner: np.ndarray, skus: list[str]) -> Probe:
        """The probe with the gallery's rows (``owner``: each row's index in ``skus``) as their SKUs' examples."""
        index = {s: i for i, s in enumerate(self.labels)}
        new = [s for s in skus if s not in index]
        column = np.asarray([index[s] if s in index else len(self.labels) + new.index(s) for s in skus], np.int64)
        classes = len(self.labels) + len(new)
        gram, targets, mass = self.gram, np.pad(self.targets, ((0, 0), (0, len(new)))), np.pad(self.mass, (0, len(new)))
        if len(gallery):
            g_gram, g_targets, g_mass = class_sums(gallery, column[np.asarray(owner, np.int64)], classes)
            gram, targets, mass = gram + g_gram, targets + g_targets, mass + g_mass
        weights, intercepts = solve(gram, targets, mass, self.ridge)
        return Probe(weights, len(self.labels), column, intercepts)
