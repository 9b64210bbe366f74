"""Classification metrics on probability matrices (numpy only): accuracy, per-SKU P/R, confusions,
calibration and the auto-add threshold. Plots are drawn by :func:`plot_confusion` / :func:`plot_reliability`."""

from __future__ import annotations

import numpy as np


def topk_accuracy(probs: np.ndarray, targets: np.ndarray, k: int) -> float:
    if len(targets) == 0:
        return float("nan")
    top = np.argsort(-probs, axis=1)[:, :k]
    return float((top == targets[:, None]).any(1).mean())


def per_class(probs: np.ndarray, targets: np.ndarray, labels: list[str]) -> dict[str, dict]:
    pred = probs.argmax(1)
    out = {}
    for i, name in enumerate(labels):
        tp = int(((pred == i) & (targets == i)).sum())
        predicted = int((pred == i).sum())
        support = int((targets == i).sum())
        out[name] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / support if support else None,
            "support": support,
        }
    return out


def confusion_matrix(probs: np.ndarray, targets: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (targets, probs.argmax(1)), 1)
    return cm


def confused_pairs(cm: np.ndarray, labels: list[str], n: int = 10) -> list[dict]:
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None)[:n]
    pairs = []
    for f in flat:
        t, p = divmod(int(f), cm.shape[1])
        if off[t, p] == 0:
            break
        pairs.append({"true": labels[t], "predicted": labels[p], "count": int(off[t, p])})
    return pairs


def coarse_accuracy(probs: np.ndarray, targets: np.ndarray, labels: list[str], groups: dict[str, str]) -> float | None:
    """Top-1 at the group level (e.g. any apple for an apple); None when groups are unknown."""
    if not groups or any(lbl not in groups for lbl in labels):
        return None
    g = np.array([groups[lbl] for lbl in labels])
    return float((g[probs.argmax(1)] == g[targets]).mean())


def calibration(probs: np.ndarray, targets: np.ndarray, bins: int = 15) -> dict:
    """Expected calibration error of the top-1 confidence, with the per-bin table for the reliability plot."""
    conf = probs.max(1)
    correct = probs.argmax(1) == targets
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            acc, c = float(correct[m].mean()), float(conf[m].mean())
            ece += m.mean() * abs(acc - c)
            table.append({"lo": float(lo), "hi": float(hi), "n": int(m.sum()), "accuracy": acc, "confidence": c})
    return {"ece": float(ece), "bins": table}


def auto_add_threshold(probs: np.ndarray, targets: np.ndarray, target_precision: float = 0.99,
                       min_accepted: int = 20) -> dict:
    """Lowest top-1 score at which the items accepted (score ≥ t) reach ``target_precision``.

    The precision must hold for every higher threshold too (so small fluctuations don't pick a lucky
    low value), and at least ``min_accepted`` samples must be accepted for the estimate to mean anything.
    Returns threshold (> 1 when no threshold qualifies: never auto-add), coverage and precision there.
    """
    conf = probs.max(1)
    correct = probs.argmax(1) == targets
    order = np.argsort(-conf, kind="stable")
    conf_s, correct_s = conf[order], correct[order]
    cum_correct = np.cumsum(correct_s)
    n_acc = np.arange(1, len(conf_s) + 1)
    precision = cum_correct / n_acc
    ok = precision >= target_precision
    # the longest prefix whose every sub-prefix (≥ min_accepted) meets the target
    best = -1
    for i in range(len(conf_s)):
        if n_acc[i] < min_accepted:
            continue
        if not ok[i]:
            break
        # only cut between distinct scores
        if i + 1 == len(conf_s) or conf_s[i + 1] < conf_s[i]:
            best = i
    if best < 0:
        return {"threshold": 1.01, "coverage": 0.0, "precision": None, "accepted": 0,
                "target_precision": target_precision}
    return {"threshold": float(conf_s[best]), "coverage": float(n_acc[best] / len(conf_s)),
            "precision": float(precision[best]), "accepted": int(n_acc[best]), "target_precision": target_precision}


def summarize(probs: np.ndarray, targets: np.ndarray, labels: list[str], groups: dict[str, str] | None = None,
              target_precision: float = 0.99) -> dict:
    cm = confusion_matrix(probs, targets, len(labels))
    return {
        "n": int(len(targets)),
        "top1": topk_accuracy(probs, targets, 1),
        "top3": topk_accuracy(probs, targets, 3),
        "coarse_top1": coarse_accuracy(probs, targets, labels, groups or {}),
        "per_sku": per_class(probs, targets, labels),
        "confused_pairs": confused_pairs(cm, labels),
        "calibration": calibration(probs, targets),
        "auto_add": auto_add_threshold(probs, targets, target_precision),
        "surest_mistakes": surest_mistakes(probs, targets, labels),
    }


def surest_mistakes(probs: np.ndarray, targets: np.ndarray, labels: list[str], k: int = 5) -> list[dict]:
    """The ``k`` wrong answers the model was surest of, surest first: the photos to look at first (a wrong label,
    or a look-alike the till would add without a tap). ``index`` is the row among those scored."""
    conf, pred = probs.max(1), probs.argmax(1)
    wrong = np.flatnonzero(pred != targets)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:k]
    return [{"index": int(i), "true": labels[targets[i]], "predicted": labels[pred[i]], "score": float(conf[i])}
            for i in order]


def plot_confusion(cm: np.ndarray, labels: list[str], path, title: str = "Confusion matrix") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    size = max(6, min(24, n * 0.22))
    fig, ax = plt.subplots(figsize=(size, size))
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=max(4, 9 - n // 20))
    ax.set_yticks(range(n), labels, fontsize=max(4, 9 - n // 20))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(cal: dict, path, title: str = "Reliability") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    b = cal["bins"]
    if b:
        ax.bar([x["lo"] for x in b], [x["accuracy"] for x in b], width=[x["hi"] - x["lo"] for x in b], align="edge",
               alpha=0.6, edgecolor="k", label="accuracy")
        ax.plot([x["confidence"] for x in b], [x["accuracy"] for x in b], "o-", color="C1", label="per bin")
    ax.set_xlabel("top-1 confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {cal['ece']:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
