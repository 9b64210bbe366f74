"""``checkout data split``: stratified, leakage-free train/val/test splits of one manifest.

* **Groups, not photos, are assigned.** Photos are joined by union-find over exact duplicates (sha256) and
  near-duplicates (pHash within the threshold), so every copy of a photo lands in the same split.
* **Stratified per SKU.** For each SKU (a group counts for its majority SKU) the val and test targets are
  ``round(n * fraction)``, at least 1 when the SKU has a photo to spare for each requested split; groups are
  taken greedily into the split with the largest remaining deficit they fit in, the rest go to train.
* **Reproducible and order-independent.** A group's identity is its smallest sha256 (path when unreadable);
  groups are ordered by ``sha256(seed:identity)``, so the same seed and the same photos give the same split
  whatever the order of the manifest's lines.

* **Shooting sequences stay together** (``sequences``, on by default): numbered photos of one folder and SKU are
  cut into runs of consecutive shots (:mod:`trainer.data.sequences`), each run one group, so a held-out split takes
  whole runs instead of every other frame of a burst. What is left at the runs' edges is printed (held-out photos
  with a training photo next to them), and ``guard`` leaves the training photos next to a held-out run out of
  training (``guard.csv``).

The manifest's ``group`` column (e.g. the coarse class) is carried along but not used for grouping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write
from kiosk.errors import DataError
from trainer.data import hashing
from trainer.data.duplicates import DuplicatePair, duplicate_groups, duplicate_pairs
from trainer.data.manifest import ManifestRow, check_out_folder, read_manifest, write_manifest
from trainer.data.sequences import block_size, guard_band, neighbours_across, sequence_blocks, sequences

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
MARKER = "split.json"  # written beside a split's manifests: what a later split into the same folder may replace


@dataclass
class SplitResult:
    """Rows per split, the duplicate groups used, and the files written."""

    rows: dict[str, list[ManifestRow]]
    groups: int
    multi_photo_groups: int
    unreadable: int
    files: dict[str, Path] = field(default_factory=dict)
    neighbours: dict[str, tuple[int, int]] = field(default_factory=dict)  # held-out split: (next to train, photos)
    guarded: list[ManifestRow] = field(default_factory=list)  # left out of training by the guard band
    warnings: list[str] = field(default_factory=list)  # SKUs not split as asked (also logged)

    def counts(self) -> dict[str, dict]:
        return {s: {"images": len(r), "skus": len({x.sku for x in r})} for s, r in self.rows.items()}

    def table(self) -> str:
        """Per-split counts as printed by the CLI."""
        all_skus = {x.sku for r in self.rows.values() for x in r}
        lines = [f"{'split':<6} {'images':>7} {'skus':>5}  skus without photos"]
        for s, r in self.rows.items():
            skus = {x.sku for x in r}
            lines.append(f"{s:<6} {len(r):>7} {len(skus):>5}  {len(all_skus - skus)}")
        lines.append(f"{self.groups} groups ({self.multi_photo_groups} with several photos kept together)")
        for s, (touching, total) in self.neighbours.items():
            lines.append(f"{s}: {touching} of {total} photos have a training photo shot next to them")
        if self.guarded:
            lines.append(f"{len(self.guarded)} training photo(s) next to a held-out run left out (guard.csv)")
        if self.unreadable:
            lines.append(f"{self.unreadable} unreadable photo(s) grouped by content only: run `checkout data check`")
        return "\n".join(lines)


def _order_key(seed: int, identity: str) -> str:
    return hashlib.sha256(f"{seed}:{identity}".encode()).hexdigest()


def assign_groups(
    groups: list[tuple[str, str, int]], fractions: dict[str, float], seed: int
) -> dict[str, str]:
    """Split for each group: ``groups`` are ``(identity, sku, size)``; ``fractions`` maps val/test to a share.

    Pure function of its arguments (order of ``groups`` does not matter). See the module doc for the rule.
    """
    holdouts = [s for s in ("test", "val") if fractions.get(s, 0) > 0]
    by_sku: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for g in groups:
        by_sku[g[1]].append(g)
    assignment: dict[str, str] = {}
    for sku in sorted(by_sku):
        members = sorted(by_sku[sku], key=lambda g: (_order_key(seed, g[0]), g[0]))
        n = sum(size for _, _, size in members)
        target = sku_targets(n, fractions)
        count = Counter()
        for identity, _, size in members:
            fits = [s for s in holdouts if target[s] - count[s] >= size]
            split = max(fits, key=lambda s: (target[s] - count[s], s == "test")) if fits else "train"
            assignment[identity] = split
            count[split] += size
        # a split that wanted photos but got none (every group too big): give it the smallest train group, when
        # that overshoots its target by at most one photo and leaves train a photo
        for s in holdouts:
            if target[s] and not count[s]:
                train = [g for g in members if assignment[g[0]] == "train"]
                if not train:
                    continue
                smallest = min(train, key=lambda g: (g[2], _order_key(seed, g[0])))
                if smallest[2] <= target[s] + 1 and count["train"] - smallest[2] >= 1:
                    assignment[smallest[0]] = s
                    count["train"] -= smallest[2]
                    count[s] += smallest[2]
    return assignment


def sku_targets(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Photos each held-out split takes of a SKU of ``n`` photos: ``round(n * share)``, at least 1 when the SKU has
    a photo to spare for every held-out split."""
    holdouts = [s for s in ("test", "val") if fractions.get(s, 0) > 0]
    target = {}
    for s in holdouts:
        t = round(n * fractions[s])
        target[s] = 1 if t == 0 and n > len(holdouts) else t
    return target


def off_target(rows: dict[str, list[ManifestRow]], fractions: dict[str, float]) -> str:
    """One warning line when the split is not what was asked: the held-out share overall more than 2 points off
    (SKUs too small for the share: each held-out split takes at least 1 photo of them) or a SKU with photos to spare
    that a held-out split got none of (photos that must stay together); '' otherwise. Names the SKUs whose
    held-out splits did not get ``round(n * share)`` photos."""
    per: dict[str, Counter] = defaultdict(Counter)
    for s, split_rows in rows.items():
        for r in split_rows:
            per[r.sku][s] += 1
    holdouts = [s for s in ("val", "test") if fractions.get(s, 0) > 0]
    off, empty = [], False
    for sku, count in sorted(per.items()):
        n = sum(count.values())
        if any(count[s] != round(n * fractions[s]) for s in holdouts):
            off.append(f"{sku} ({n} photos: " + "/".join(str(count[s]) for s in ("train", *holdouts)) + ")")
        targets = sku_targets(n, fractions)
        empty = empty or any(targets[s] and not count[s] for s in holdouts)
    total = sum(len(r) for r in rows.values())
    held = sum(len(rows.get(s, [])) for s in holdouts)
    asked = sum(fractions[s] for s in holdouts)
    if not off or (abs(held / total - asked) <= 0.02 and not empty):
        return ""
    shown = ", ".join(off[:5]) + (f" and {len(off) - 5} more" if len(off) > 5 else "")
    return (f"{len(off)} of {len(per)} SKU(s) could not be split as asked (too few photos for the share: each "
            f"held-out split takes at least 1; or photos that must stay together): held out {held} of {total} "
            f"photos ({held / total:.0%}) instead of {asked:.0%}; train/{'/'.join(holdouts)}: {shown}")


def split_manifest(
    manifest: str | os.PathLike,
    out: str | os.PathLike,
    *,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
    phash_threshold: int = hashing.DEFAULT_PHASH_THRESHOLD,
    keep_sequences: bool = True,
    guard: int = 0,
    workers: int | None = None,
    cache: str | os.PathLike | None = None,
    progress: bool = True,
) -> SplitResult:
    """Split ``manifest`` into ``out/train.csv``, ``out/val.csv`` and ``out/test.csv`` (the ones with a share > 0;
    train always; ``guard.csv`` when ``guard`` left photos out) and ``out/split.json`` (what was split, how). Rows keep
    their columns; ``split`` is set. Raises :class:`DataError` for bad fractions, an ``out`` that is not a folder or
    holds the input or a manifest an earlier split did not write, and a guard that leaves a SKU nothing to train on.
    A val/test/guard manifest of an earlier split into ``out`` that this split does not write is removed."""
    fractions = _check_options(val, test, guard)
    out = Path(out)
    _check_out(Path(manifest), out)
    rows = read_manifest(manifest)
    if not rows:
        raise DataError(f"{manifest}: no rows to split")
    row_facts = _facts(rows, workers, cache, progress)
    seqs = sequences([r.path for r in rows], [r.sku for r in rows])
    share = min((f for f in (val, test) if f > 0), default=0) if keep_sequences else 0
    pairs = duplicate_pairs([f.sha256 for f in row_facts], [f.phash for f in row_facts], phash_threshold)
    pairs += [DuplicatePair(a, b, "sequence", 0)
              for a, b in sequence_blocks(seqs, _block_sizes(seqs, rows, fractions, share))]
    components = duplicate_groups(len(rows), pairs)
    groups, member_of = _groups(components, rows, row_facts)
    assignment = assign_groups(groups, fractions, seed)
    split_of = [assignment[member_of[i]] for i in range(len(rows))]
    guarded = guard_band(seqs, split_of, guard)
    _check_guard(rows, split_of, guarded, guard)
    for i in guarded:
        split_of[i] = "guard"
    wanted = ["train"] + [s for s, f in (("val", val), ("test", test)) if f > 0]
    result = SplitResult(
        rows={s: [] for s in wanted}, groups=len(groups),
        multi_photo_groups=sum(1 for c in components if len(c) > 1),
        unreadable=sum(1 for f in row_facts if f.phash is None),
        neighbours={s: neighbours_across(seqs, split_of, s) for s in wanted[1:] if seqs},
    )
    for i, row in enumerate(rows):
        target = result.guarded if i in guarded else result.rows[split_of[i]]
        target.append(row.with_(split=split_of[i]))
    warning = off_target(result.rows, fractions)
    if warning:
        result.warnings.append(warning)
        log.warning("%s", warning)
    _write(result, out, wanted, {"manifest": str(Path(manifest).resolve()), "val": val, "test": test,
                                 "seed": seed, "sequences": keep_sequences, "guard": guard})
    return result


def _check_options(val: float, test: float, guard: int) -> dict[str, float]:
    for name, value in (("val", val), ("test", test)):
        if not 0 <= value < 1:
            raise DataError(f"--{name} {value}: must be a fraction in [0, 1)")
    if val + test >= 1:
        raise DataError(f"--val {val} + --test {test} leave nothing for train")
    if guard < 0:
        raise DataError(f"--guard {guard}: must be 0 or more photos")
    return {"val": val, "test": test}


def _check_out(manifest: Path, out: Path) -> None:
    """Refuse, before any work, an ``out`` that is not a folder, or whose manifests would replace the input or a
    manifest that no earlier split wrote there (no ``split.json`` beside it)."""
    check_out_folder(out)
    written_by_split = (out / MARKER).is_file()
    for name in (*SPLITS, "guard"):
        path = out / f"{name}.csv"
        if not path.exists():
            continue
        if manifest.exists() and os.path.samefile(path, manifest):
            raise DataError(f"--out {out}: {path.name} there is the manifest being split: choose another folder")
        if not written_by_split:
            raise DataError(f"--out {out}: {path} exists and was not written by `checkout data split` (no {MARKER} "
                            f"there): choose another folder, or move it away")


def _block_sizes(seqs: list[list[int]], rows: list[ManifestRow], fractions: dict[str, float],
                 share: float) -> list[int]:
    """Run length per sequence: :func:`block_size`, but never more photos than the SKU's smallest held-out target
    (a run a held-out split cannot take would fall to train, or overshoot the share)."""
    per_sku = Counter(r.sku for r in rows)
    sizes = []
    for q in seqs:
        targets = [t for t in sku_targets(per_sku[rows[q[0]].sku], fractions).values() if t > 0]
        sizes.append(min(block_size(len(q), share), max(1, min(targets, default=1))))
    return sizes


def _check_guard(rows: list[ManifestRow], split_of: list[str], guarded: set[int], guard: int) -> None:
    """Refuse a guard band that leaves a SKU which had training photos without any."""
    before = {rows[i].sku for i, s in enumerate(split_of) if s == "train"}
    after = {rows[i].sku for i, s in enumerate(split_of) if s == "train" and i not in guarded}
    lost = sorted(before - after)
    if lost:
        shown = ", ".join(lost[:5]) + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
        raise DataError(f"--guard {guard} leaves {len(lost)} of {len(before)} SKU(s) without a training photo "
                        f"({shown}): use a smaller --guard")


def _facts(rows: list[ManifestRow], workers: int | None, cache, progress: bool) -> list:
    hash_cache = hashing.HashCache(cache) if cache else None
    try:
        facts = hashing.inspect_images([r.path for r in rows], workers=workers, cache=hash_cache,
                                       progress=progress)
    finally:
        if hash_cache is not None:
            hash_cache.close()
    return [facts[os.fspath(r.path)] for r in rows]


def _groups(components: list[list[int]], rows: list[ManifestRow], row_facts: list):
    """``(identity, majority sku, size)`` per component and each row's component identity."""
    groups: list[tuple[str, str, int]] = []
    member_of: dict[int, str] = {}
    for comp in components:
        identity = min(row_facts[i].sha256 or f"path:{rows[i].path}" for i in comp)
        skus = Counter(rows[i].sku for i in comp)
        sku = min(skus, key=lambda s: (-skus[s], s))
        groups.append((identity, sku, len(comp)))
        for i in comp:
            member_of[i] = identity
    return groups, member_of


def _write(result: SplitResult, out: Path, wanted: list[str], how: dict) -> None:
    """The manifests (each atomically), then the removal of an earlier split's val/test/guard manifests this split
    does not write, then ``split.json``: never a stale manifest beside new ones."""
    def ordered(rows):
        return sorted(rows, key=lambda r: (r.sku, str(r.path)))

    for s in wanted:
        result.rows[s] = ordered(result.rows[s])
        result.files[s] = write_manifest(result.rows[s], out / f"{s}.csv")
    if result.guarded:
        result.files["guard"] = write_manifest(ordered(result.guarded), out / "guard.csv")
    for name in (*SPLITS, "guard"):
        stale = out / f"{name}.csv"
        if name not in result.files and stale.exists():
            stale.unlink()
    counts = {s: len(r) for s, r in result.rows.items()} | {"guard": len(result.guarded)}
    atomic_write(out / MARKER, json.dumps({**how, "files": sorted(f"{s}.csv" for s in result.files),
                                           "photos": counts}, indent=2) + "\n")
