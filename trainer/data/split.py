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
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.errors import DataError
from trainer.data import hashing
from trainer.data.duplicates import DuplicatePair, duplicate_groups, duplicate_pairs
from trainer.data.manifest import ManifestRow, read_manifest, write_manifest
from trainer.data.sequences import block_size, guard_band, neighbours_across, sequence_blocks, sequences

SPLITS = ("train", "val", "test")


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
        target = {}
        for s in holdouts:
            t = round(n * fractions[s])
            if t == 0 and n > len(holdouts):
                t = 1
            target[s] = t
        count = Counter()
        for identity, _, size in members:
            fits = [s for s in holdouts if target[s] - count[s] >= size]
            split = max(fits, key=lambda s: (target[s] - count[s], s == "test")) if fits else "train"
            assignment[identity] = split
            count[split] += size
        # a split that wanted photos but got none (every group too big): give it the smallest train group
        for s in holdouts:
            if target[s] and not count[s]:
                train = [g for g in members if assignment[g[0]] == "train"]
                if not train:
                    continue
                smallest = min(train, key=lambda g: (g[2], _order_key(seed, g[0])))
                if count["train"] - smallest[2] >= 1:
                    assignment[smallest[0]] = s
                    count["train"] -= smallest[2]
                    count[s] += smallest[2]
    return assignment


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
    train always; ``guard.csv`` when ``guard`` left photos out). Rows keep their columns; ``split`` is set. Raises
    :class:`DataError` for bad fractions."""
    for name, value in (("val", val), ("test", test)):
        if not 0 <= value < 1:
            raise DataError(f"--{name} {value}: must be a fraction in [0, 1)")
    if val + test >= 1:
        raise DataError(f"--val {val} + --test {test} leave nothing for train")
    if guard < 0:
        raise DataError(f"--guard {guard}: must be 0 or more photos")
    rows = read_manifest(manifest)
    if not rows:
        raise DataError(f"{manifest}: no rows to split")
    row_facts = _facts(rows, workers, cache, progress)
    seqs = sequences([r.path for r in rows], [r.sku for r in rows])
    share = min((f for f in (val, test) if f > 0), default=0) if keep_sequences else 0
    pairs = duplicate_pairs([f.sha256 for f in row_facts], [f.phash for f in row_facts], phash_threshold)
    pairs += [DuplicatePair(a, b, "sequence", 0)
              for a, b in sequence_blocks(seqs, [block_size(len(q), share) for q in seqs])]
    components = duplicate_groups(len(rows), pairs)
    groups, member_of = _groups(components, rows, row_facts)
    assignment = assign_groups(groups, {"val": val, "test": test}, seed)
    split_of = [assignment[member_of[i]] for i in range(len(rows))]
    guarded = guard_band(seqs, split_of, guard)
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
    _write(result, Path(out), wanted)
    return result


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


def _write(result: SplitResult, out: Path, wanted: list[str]) -> None:
    def ordered(rows):
        return sorted(rows, key=lambda r: (r.sku, str(r.path)))

    for s in wanted:
        result.rows[s] = ordered(result.rows[s])
        result.files[s] = write_manifest(result.rows[s], out / f"{s}.csv")
    stale = out / "guard.csv"
    if result.guarded:
        result.files["guard"] = write_manifest(ordered(result.guarded), stale)
    elif stale.exists():
        stale.unlink()
