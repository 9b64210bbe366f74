"""Feedback crops against themselves and against photos already trained on: a duplicate is **one photo** sent twice.

* Same bytes (sha256): one photo, wherever it came from.
* A near pHash (within ``--phash-threshold``, as ``checkout data check``) is only a candidate: pHash is grey and
  coarse, so two products of one shape and brightness in one place on a tray, or one product put down twice, hash
  alike. Two photos from one kiosk (its placements, its taught photos) are never one photo unless their bytes are the
  same: the kiosk encodes each photo once, so it never sends a re-encoded copy of its own. Any other near pair is one
  photo only when their pixels agree (:func:`trainer.data.hashing.same_photo`: a re-encoded, resized or brightened
  copy, e.g. a crop already in a training set).

Of one photo sent more than once one row is kept. When its copies carry different labels the rule is: the most
trusted label wins (staff > barcode > shopper > auto), and between equally trusted ones the latest (``updated_at``):
the latest staff correction wins. Two labels of equal trust at the same instant cannot be settled: the photo is left
out for review. A photo already trained on (``--against``) is left out; a label of it that differs from the training
manifest's is reported (collect does not change a training manifest). Every merge, conflict and near match kept
apart is in the report, with why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from trainer.data.check import CheckOptions
from trainer.data.manifest import ManifestRow

__all__ = ["ONE_KIOSK", "PIXELS_DIFFER", "Deduped", "dedupe"]

log = logging.getLogger(__name__)
#: why a near pHash match was kept as two photos (``CollectReport.kept_as_two``)
ONE_KIOSK, PIXELS_DIFFER = "one kiosk's two photos", "pixels differ"
RULE = "most trusted label, then the latest (updated_at)"


@dataclass
class Deduped:
    """What :func:`dedupe` decided: the ``Found`` to keep, and those left out for review with why."""

    kept: list = field(default_factory=list)
    review: list[tuple] = field(default_factory=list)  # (Found, reason)


class _Photos:
    """The candidates' facts and thumbnails (made only for near matches), and the judge of a near match."""

    def __init__(self, paths: list[str], facts: dict, owners: list, report) -> None:
        from trainer.data import hashing

        self.hashing, self.paths, self.owners, self.report = hashing, paths, owners, report
        self.items = [facts[p] for p in paths]
        self._thumbs: dict[int, object] = {}

    def thumb(self, k: int):
        if k not in self._thumbs:
            self._thumbs[k] = self.hashing.thumbnail(self.paths[k])
        return self._thumbs[k]

    def one_photo(self, a: int, b: int) -> bool:
        """Whether items ``a`` and ``b`` (near in pHash, not the same bytes) are one photo; counts the ones that are
        not, by why."""
        oa, ob = self.owners[a], self.owners[b]
        if oa is None and ob is None:  # two photos of --against: their own business, never ours to join
            return False
        if oa is not None and ob is not None and oa == ob:
            why = ONE_KIOSK
        elif self.hashing.same_photo(self.thumb(a), self.thumb(b)):
            return True
        else:
            why = PIXELS_DIFFER
        self.report.kept_as_two[why] = self.report.kept_as_two.get(why, 0) + 1
        return False

    def why(self, k: int, of: int) -> str:
        """Why item ``k`` is a copy of item ``of``."""
        if self.items[k].sha256 == self.items[of].sha256:
            return "same bytes (sha256)"
        distance = self.hashing.hamming(self.items[k].phash, self.items[of].phash)
        diff = self.hashing.pixel_difference(self.thumb(k), self.thumb(of))
        return f"one photo re-encoded: pHash distance {distance}, pixels within {diff:.0f} of 255"


def dedupe(found: list, base: list[ManifestRow], report, *, phash_threshold: int, workers: int | None = None,
           cache=None, progress: bool = True) -> Deduped:
    """Of ``found`` (``trainer.fleet.collect.Found`` with ``path`` set): the readable ones, no copy of a ``base``
    photo, one per photo (see the module notes). ``report`` (a ``CollectReport``) gets the rest, with why."""
    from trainer.data import hashing
    from trainer.data.duplicates import duplicate_groups, duplicate_pairs

    result = Deduped()
    if not found:
        return result
    paths = [str(r.path) for r in base] + [str(f.path) for f in found]
    facts = hashing.inspect_images(paths, workers=workers, cache=cache, progress=progress, desc="hashing feedback")
    n_base = len(base)
    photos = _Photos(paths, facts, [None] * n_base + [(f.store, f.kiosk) for f in found], report)
    readable = _readable(photos, found, n_base, report, result)
    lost = [paths[k] for k in range(n_base) if not photos.items[k].ok]
    if lost:
        log.warning("%d photo(s) of --against cannot be read and are not compared (first: %s)", len(lost), lost[0])
    index = [k for k in range(n_base) if photos.items[k].ok] + readable
    pairs = duplicate_pairs([photos.items[k].sha256 for k in index], [photos.items[k].phash for k in index],
                            phash_threshold, confirm=lambda i, j, _d: photos.one_photo(index[i], index[j]))
    keep: set[int] = set(readable)
    for group in duplicate_groups(len(index), pairs):
        members = [index[g] for g in group]
        ours = [k for k in members if k >= n_base]
        if len(members) < 2 or not ours:
            continue
        theirs = [k for k in members if k < n_base]
        if theirs:
            _against(photos, found, base, ours, theirs, n_base, report)
            keep -= set(ours)
        else:
            keep -= _settle(photos, found, ours, n_base, report, result)
    result.kept = [found[k - n_base] for k in sorted(keep)]
    return result


def _readable(photos: _Photos, found: list, n_base: int, report, result: Deduped) -> list[int]:
    """The items of ``found`` whose crop can be learnt from; the others named (with their batch) and left for
    review."""
    floor = CheckOptions().min_side  # what `checkout data check` calls tiny: no photo to learn from
    readable = []
    for k in range(n_base, len(photos.items)):
        item, f = photos.items[k], found[k - n_base]
        if not item.ok:
            why = item.detail or item.status
        elif item.min_side < floor:
            why = f"tiny: {item.width}x{item.height} px, shorter side below {floor}"
        else:
            readable.append(k)
            continue
        report.unreadable.append({"path": photos.paths[k], "reason": why, "batch": f.batch})
        result.review.append((f, f"unreadable crop: {why}"))
    return readable


def _label(f) -> str:
    """A record's label, how far it is trusted, when it was given and where (store/kiosk/placement)."""
    r = f.record
    return f"{r['label']} ({r['trust']}, {r['updated_at'] or r['placed_at']}, {f.store}/{f.kiosk}/{r['placement_id']})"


def _settle(photos: _Photos, found: list, ours: list[int], n_base: int, report, result: Deduped) -> set[int]:
    """One photo sent as several records: the one row kept by the rule, the rest reported; every copy left out when
    two labels of equal trust and time disagree. Returns the items left out."""
    ranked = sorted(ours, key=lambda k: found[k - n_base].rank, reverse=True)
    best, labels = ranked[0], sorted({found[k - n_base].record["label"] for k in ours})
    top = [k for k in ranked if found[k - n_base].rank[:2] == found[best - n_base].rank[:2]]
    if len({found[k - n_base].record["label"] for k in top}) > 1:  # no rule settles it
        reason = (f"one photo with labels of equal trust at the same time: "
                  f"{'; '.join(_label(found[k - n_base]) for k in top)}")
        report.conflicts.append({"kind": "photo", "paths": [photos.paths[k] for k in ranked], "labels": labels,
                                 "kept": None, "reason": reason})
        result.review += [(found[k - n_base], reason) for k in ranked]
        return set(ours)
    keeper = found[best - n_base]
    for k in ranked[1:]:
        f = found[k - n_base]
        report.duplicates.append({"path": photos.paths[k], "kind": "within", "of": photos.paths[best],
                                  "why": photos.why(k, best), "label": f.record["label"],
                                  "of_label": keeper.record["label"]})
    if len(labels) > 1:
        others = [_label(found[k - n_base]) for k in ranked[1:] if found[k - n_base].record["label"] !=
                  keeper.record["label"]]
        report.conflicts.append({"kind": "photo", "paths": [photos.paths[k] for k in ranked], "labels": labels,
                                 "kept": keeper.record["label"],
                                 "reason": f"one photo: kept {_label(keeper)} over {'; '.join(others)} ({RULE})"})
    return set(ranked[1:])


def _against(photos: _Photos, found: list, base: list[ManifestRow], ours: list[int], theirs: list[int],
             n_base: int, report) -> None:
    """Feedback photos already trained on: each left out, and named when its label differs from the training
    manifest's."""
    trained = sorted({base[k].sku for k in theirs})
    for k in ours:
        f = found[k - n_base]
        report.duplicates.append({"path": photos.paths[k], "kind": "against", "of": photos.paths[theirs[0]],
                                  "why": photos.why(k, theirs[0]), "label": f.record["label"],
                                  "of_label": base[theirs[0]].sku})
        if f.record["label"] not in trained or len(trained) > 1:
            report.conflicts.append({
                "kind": "against", "paths": [photos.paths[k], photos.paths[theirs[0]]],
                "labels": sorted({*trained, f.record["label"]}), "kept": None,
                "reason": f"already trained on as {', '.join(trained)} ({photos.paths[theirs[0]]}); this feedback "
                          f"says {_label(f)}: left out, the training manifest is not changed (correct it there if "
                          f"the feedback is right)"})
