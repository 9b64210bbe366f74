"""Feedback crops against themselves and against photos already trained on: the same sha256/pHash check as
``checkout data check`` (:mod:`trainer.data.hashing`, :mod:`trainer.data.duplicates`)."""

from __future__ import annotations

import logging

from trainer.data.check import CheckOptions
from trainer.data.manifest import ManifestRow

__all__ = ["dedupe"]

log = logging.getLogger(__name__)


def dedupe(found: list, base: list[ManifestRow], report, *, phash_threshold: int, workers: int | None = None,
           cache=None, progress: bool = True) -> list:
    """The ``found`` (``trainer.fleet.collect.Found`` with ``path`` set) to keep: readable, no copy of a ``base``
    photo, and of each group of near-identical crops the best (trust, then newest). ``report`` gets the rest."""
    from trainer.data import hashing
    from trainer.data.duplicates import duplicate_groups, duplicate_pairs

    if not found:
        return []
    paths = [str(r.path) for r in base] + [str(f.path) for f in found]
    facts = hashing.inspect_images(paths, workers=workers, cache=cache, progress=progress,
                                   desc="hashing feedback")
    n_base = len(base)
    items = [facts[p] for p in paths]
    floor = CheckOptions().min_side  # what `checkout data check` calls tiny: no photo to learn from
    for k in range(n_base, len(items)):
        if not items[k].ok:
            report.unreadable.append({"path": paths[k], "reason": items[k].detail or items[k].status})
        elif items[k].min_side < floor:
            report.unreadable.append({"path": paths[k], "reason": f"tiny: {items[k].width}x{items[k].height} px, "
                                                                  f"shorter side below {floor}"})
    readable = [k for k in range(n_base, len(items)) if items[k].ok and items[k].min_side >= floor]
    lost = [paths[k] for k in range(n_base) if not items[k].ok]
    if lost:
        log.warning("%d photo(s) of --against cannot be read and are not compared (first: %s)", len(lost), lost[0])
    index = [k for k in range(n_base) if items[k].ok] + readable
    pairs = duplicate_pairs([items[k].sha256 for k in index], [items[k].phash for k in index], phash_threshold)
    keep: set[int] = set(readable)
    for group in duplicate_groups(len(index), pairs):
        members = [index[g] for g in group]
        ours = [k for k in members if k >= n_base]
        if len(members) < 2 or not ours:
            continue
        theirs = [k for k in members if k < n_base]
        best = max(ours, key=lambda k: found[k - n_base].rank) if not theirs else None
        for k in ours:
            if k == best:
                continue
            keep.discard(k)
            report.duplicates.append({"path": paths[k], "kind": "against" if theirs else "within",
                                      "of": paths[theirs[0]] if theirs else paths[best]})
    return [found[k - n_base] for k in sorted(keep)]
