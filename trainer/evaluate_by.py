"""``checkout evaluate … --by COLUMN``: the scores again per value of a manifest column (``source``: the base photos
against what the stores sent; ``store``, ``trust``, ``chooser`` …), so head office sees whether a new model fixes
what stores corrected.

For rows that carry the kiosk's own top-1 (``predicted``, as ``checkout feedback collect`` writes it), each group
also says how often the till's model was right (``till_top1``) and, of the rows it got wrong, how many this model
gets right (``fixed``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.data.manifest import ManifestRow, read_manifest
from trainer.metrics import topk_accuracy

__all__ = ["default_columns", "format_by", "scores_by"]


def _value(row: ManifestRow, column: str) -> str:
    if column in ("group", "split", "source", "sha256"):
        return getattr(row, column) or "-"
    return row.extra.get(column, "") or "-"


def default_columns(manifest: Path) -> list[str]:
    """``["source"]`` when the manifest mixes several sources, else none."""
    return ["source"] if len({r.source for r in read_manifest(manifest)}) > 1 else []


def scores_by(manifest: Path, probs: np.ndarray, targets: np.ndarray, labels: list[str], skipped: list[dict],
              columns: list[str]) -> dict[str, dict[str, dict]]:
    """``{column: {value: {"n", "top1", "top3"[, "till_top1", "till_wrong", "fixed"]}}}`` over the rows that were
    scored (``skipped``: the rows :func:`trainer.evaluate.predict_manifest` left out, by line)."""
    left_out = {s["line"] for s in skipped}
    used = [r for line, r in enumerate(read_manifest(manifest), start=2) if line not in left_out]
    if len(used) != len(targets):
        raise ValueError(f"{manifest}: {len(used)} rows scored, {len(targets)} predictions")
    top1 = probs.argmax(1) if len(probs) else np.zeros(0, int)
    out: dict[str, dict[str, dict]] = {}
    for column in columns:
        groups: dict[str, list[int]] = {}
        for i, row in enumerate(used):
            groups.setdefault(_value(row, column), []).append(i)
        out[column] = {value: _group(idx, used, probs, targets, top1, labels) for value, idx in sorted(groups.items())}
    return out


def _group(idx: list[int], used: list[ManifestRow], probs, targets, top1, labels: list[str]) -> dict:
    sel = np.asarray(idx)
    entry = {"n": len(idx), "top1": topk_accuracy(probs[sel], targets[sel], 1),
             "top3": topk_accuracy(probs[sel], targets[sel], 3)}
    till = [i for i in idx if used[i].extra.get("predicted")]
    if till:
        wrong = [i for i in till if used[i].extra["predicted"] != used[i].sku]
        entry["till_top1"] = 1 - len(wrong) / len(till)
        entry["till_wrong"] = len(wrong)
        entry["fixed"] = sum(int(top1[i] == targets[i]) for i in wrong)
    return entry


def format_by(by: dict[str, dict[str, dict]]) -> list[str]:
    lines = []
    for column, groups in by.items():
        lines.append(f"by {column}:")
        for value, g in groups.items():
            text = f"  {value:<20} n={g['n']:<6} top-1 {g['top1']:.4f}  top-3 {g['top3']:.4f}"
            if "fixed" in g:
                text += (f"  till top-1 {g['till_top1']:.4f}; of the {g['till_wrong']} the till got wrong, "
                         f"{g['fixed']} right now")
            lines.append(text)
    return lines
