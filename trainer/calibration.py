"""Scores the till can act on (numpy only): temperature scaling, and an auto-add threshold whose precision holds on
photos the model has not seen.

* :func:`fit_temperature`: the ``T`` that minimises the negative log-likelihood of ``softmax(logits / T)`` on a
  held-back set (Guo et al. 2017, "On calibration of modern neural networks"). It changes no prediction, only how
  sure the scores say the model is; export folds ``1 / T`` into the classifier, so every backend and every till
  (old ones too) shows calibrated scores with no extra step.
* :func:`certified_threshold`: the lowest score ``t`` such that the items scored ``≥ t`` on the held-back set have a
  one-sided Clopper-Pearson lower confidence bound on precision of at least the target (99 % by default) — a claim
  about new photos, not just the ones measured. Thresholds are tested in a fixed sequence, strictest first (from
  the first that accepts enough items for a perfect record to reach the target), and the scan stops at the first
  that fails, so trying many thresholds does not inflate the error rate (fixed-sequence testing, as in
  "Learn then Test", Angelopoulos et al. 2021).
"""

from __future__ import annotations

import math

import numpy as np

NEVER = 1.01  # a threshold no softmax score reaches: never add without a tap


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    p = softmax(logits, temperature)[np.arange(len(targets)), targets]
    return float(-np.log(np.clip(p, 1e-300, 1.0)).mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray, low: float = 0.05, high: float = 20.0,
                    iterations: int = 80) -> float:
    """The temperature minimising the NLL on ``(logits, targets)``: golden-section search on log T (the NLL is
    convex in 1/T, so it has one minimum there)."""
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(logits, targets, math.exp(c)), nll(logits, targets, math.exp(d))
    for _ in range(iterations):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(logits, targets, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(logits, targets, math.exp(d))
    return float(math.exp((a + b) / 2))


def _binomial_tail(successes: int, n: int, p: float) -> float:
    """P(X ≥ successes) for X ~ Binomial(n, p)."""
    if p <= 0.0:
        return 1.0 if successes <= 0 else 0.0
    if p >= 1.0:
        return 1.0
    i = np.arange(successes, n + 1)
    log_terms = (math.lgamma(n + 1) - np.array([math.lgamma(k + 1) + math.lgamma(n - k + 1) for k in i])
                 + i * math.log(p) + (n - i) * math.log1p(-p))
    return float(np.exp(log_terms).sum())


def clopper_pearson_lower(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound on a binomial proportion: the p at which ``successes`` or more out of
    ``n`` would happen with probability ``1 - confidence``."""
    if n <= 0 or successes <= 0:
        return 0.0
    alpha = 1.0 - confidence
    if successes == n:
        return alpha ** (1.0 / n)
    lo, hi = 0.0, 1.0
    for _ in range(60):  # the tail grows with p: bisection to ~1e-18
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if _binomial_tail(successes, n, mid) > alpha else (mid, hi)
    return lo


def clean_items_needed(target_precision: float, confidence: float) -> int:
    """The fewest accepted items that can certify ``target_precision``: a perfect record of ``m`` items has the bound
    ``(1 - confidence) ** (1 / m)`` (299 at 99 % and 95 %, 69 at 99 % and 50 %)."""
    return math.ceil(math.log(1.0 - confidence) / math.log(target_precision))


def errors_allowed(n: int, target_precision: float, confidence: float) -> int:
    """The most errors among ``n`` accepted items whose Clopper-Pearson bound still reaches ``target_precision``
    (-1: not even a perfect record of ``n`` does)."""
    k = -1
    while k + 1 < n and clopper_pearson_lower(n - (k + 1), n, confidence) >= target_precision:
        k += 1
    return k


def at_threshold(probs: np.ndarray, targets: np.ndarray, threshold: float) -> dict:
    """Share of items auto-added at ``threshold`` (top-1 score ≥ it) and the precision among them."""
    accepted = probs.max(1) >= threshold
    n, correct = int(accepted.sum()), int((probs.argmax(1) == targets)[accepted].sum())
    return {"threshold": float(threshold), "n": int(len(targets)), "coverage": n / max(len(targets), 1),
            "precision": correct / n if n else None, "accepted": n, "errors": n - correct}


def certified_threshold(probs: np.ndarray, targets: np.ndarray, target_precision: float = 0.99,
                        confidence: float = 0.95) -> dict:
    """The lowest top-1 score threshold whose precision on new photos is ≥ ``target_precision`` with ``confidence``
    (see the module doc); ``threshold`` is :data:`NEVER` when even the first one tested fails."""
    conf = probs.max(1)
    order = np.argsort(-conf, kind="stable")
    scores, correct = conf[order], (probs.argmax(1) == targets)[order]
    first = clean_items_needed(target_precision, confidence) if target_precision < 1 else len(scores)
    best, bound = None, None
    hits = np.cumsum(correct)
    for i in range(first - 1, len(scores)):
        if i + 1 < len(scores) and scores[i + 1] == scores[i]:
            continue  # cut only between distinct scores
        lower = clopper_pearson_lower(int(hits[i]), i + 1, confidence)
        if lower < target_precision:
            break
        best, bound = i, lower
    result = {"target_precision": target_precision, "confidence": confidence, "n": int(len(scores)),
              "lower_bound": bound}
    threshold = float(scores[best]) if best is not None else NEVER
    return {**result, **at_threshold(probs, targets, threshold)}
