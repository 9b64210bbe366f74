"""``checkout data check``: find what would hurt training in one or more manifests, and cleanse them.

Per photo: missing, empty (0 bytes), undecodable, truncated (JPEG without end marker / PNG without IEND),
tiny (shorter side below ``min_side``), checksum mismatch (the manifest's ``sha256`` column disagrees),
SKU unknown to the catalog. Across photos: exact duplicates (same sha256) and near-duplicates (64-bit DCT
pHash within ``phash_threshold`` bits), above all across manifests (train/val leakage), and copies labelled
with different SKUs. Per SKU: counts per manifest, imbalance, SKUs under ``min_per_sku``.

Writes into ``out``: ``report.md``, ``report.json``, ``<manifest>.clean.csv`` per input and ``quarantine.csv``
(path, reason, detail, manifest, sku). Photos are only read, never deleted or moved.

Cleansing policy: a photo with a file problem or an unknown SKU is quarantined. In a duplicate group the first
copy (manifests in the order given, then file order) is kept and the others are quarantined, so with
``check train.csv val.csv`` a leaked copy leaves val, not train; a group whose copies carry different SKUs is
quarantined entirely (nobody knows which label is right). A near pHash joins photos of one SKU (consecutive frames
count: leakage), but photos of different SKUs only when their pixels say they are one photo
(:func:`trainer.data.hashing.same_photo`): pHash is grey and coarse, so two products of one shape and brightness in
one place hash alike, and were quarantined both as "conflicting labels".
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from catalog.csv_io import formula_safe
from kiosk.bundle_format.atomic import atomic_open, atomic_write, check_output, shown
from kiosk.errors import DataError
from trainer.data import hashing
from trainer.data.duplicates import duplicate_groups, duplicate_pairs
from trainer.data.manifest import ManifestRow, check_out_folder, read_manifest, relative_path, write_manifest

log = logging.getLogger(__name__)

#: Quarantine reasons, in the order a photo is tested (the first that applies is recorded).
REASONS = ("missing", "empty", "undecodable", "truncated", "tiny", "checksum-mismatch", "unknown-sku",
           "conflicting-labels", "duplicate", "near-duplicate")


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds of ``checkout data check`` (defaults documented in ``trainer/data/README.md``)."""

    min_side: int = 64  #: shorter side in pixels below which a photo is "tiny"
    phash_threshold: int = hashing.DEFAULT_PHASH_THRESHOLD  #: Hamming distance (of 64) for near-duplicates
    min_per_sku: int = 10  #: SKUs with fewer clean photos (all manifests together) are flagged
    workers: int | None = None  #: hashing processes (None: CPU count, 0/1: in-process)
    cache: Path | None = None  #: SQLite hash cache (None: no cache)
    progress: bool = True


@dataclass(frozen=True)
class Quarantined:
    manifest: str
    path: Path
    sku: str
    reason: str
    detail: str


@dataclass
class CheckReport:
    """Everything ``report.json`` holds; :meth:`summary` is the short version printed by the CLI."""

    manifests: list[str]
    images: int
    clean: int
    quarantined: list[Quarantined]
    duplicate_groups: list[dict]
    class_counts: dict[str, dict[str, int]]  # manifest name -> sku -> clean count
    imbalance: dict
    unknown_skus: list[str]
    catalog_skus_without_photos: list[str]
    catalog: str | None
    catalog_reader: str | None
    options: dict
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)

    def reason_counts(self) -> dict[str, int]:
        counts = Counter(q.reason for q in self.quarantined)
        return {r: counts[r] for r in REASONS if counts[r]}

    @property
    def leakage_groups(self) -> list[dict]:
        return [g for g in self.duplicate_groups if g["cross_manifest"]]

    def to_json(self, base: Path) -> dict:
        d = asdict(self)
        d["quarantined"] = [
            {**asdict(q), "path": relative_path(q.path, base)} for q in self.quarantined
        ]
        d["reason_counts"] = self.reason_counts()
        d["leakage_groups"] = len(self.leakage_groups)
        return d

    def summary(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in self.reason_counts().items()) or "none"
        im = self.imbalance
        lines = [
            f"checked {self.images} photos in {len(self.manifests)} manifest(s) in {self.seconds:.1f} s: "
            f"{self.clean} clean, {len(self.quarantined)} quarantined ({reasons})",
            f"duplicate groups: {len(self.duplicate_groups)} ({len(self.leakage_groups)} across manifests = leakage)",
        ]
        if im.get("skus"):
            lines.append(f"SKUs: {im['skus']}, photos per SKU min {im['min']} ({im['min_sku']}) / max {im['max']} "
                         f"({im['max_sku']}), ratio {im['ratio']:.1f}; under {self.options['min_per_sku']}: "
                         f"{len(im['under_minimum'])}")
        if self.catalog:
            lines.append(f"SKUs unknown to the catalog: {len(self.unknown_skus)}")
        return "\n".join(lines)


def load_catalog_skus(path: str | os.PathLike) -> tuple[set[str], str]:
    """SKU ids (active or not) of the catalog SQLite file at ``path``, and how they were read.

    Through ``catalog.repository.Catalog`` when that module is there (it may migrate an old catalog's schema,
    as every catalog user does); otherwise straight from the ``skus`` table with :func:`read_skus_table`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: catalog not found")
    try:
        from catalog.repository import Catalog
    except ModuleNotFoundError as exc:
        if exc.name not in ("catalog", "catalog.repository"):
            raise
        return read_skus_table(path), "sqlite3 (catalog.repository not available)"
    with Catalog.open(path, create=False) as cat:
        return {s.sku for s in cat.all()}, "catalog.repository.Catalog"


def read_skus_table(path: str | os.PathLike) -> set[str]:
    """SKU ids from the ``skus`` table (``sku`` column) of an SQLite file, opened read-only."""
    path = Path(path)
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            columns = [r[1] for r in db.execute("PRAGMA table_info(skus)")]
            if not columns:
                raise DataError(f"{path}: no table 'skus' in the catalog")
            if "sku" not in columns:
                raise DataError(f"{path}: table 'skus' has no 'sku' column (columns: {', '.join(columns)})")
            return {str(r[0]) for r in db.execute("SELECT sku FROM skus") if r[0] is not None}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path}: not a readable SQLite catalog ({exc})") from None


def _manifest_names(paths: Sequence[Path]) -> list[str]:
    """Short unique names for the input manifests (file stem; parent folder added when stems collide)."""
    stems = [p.stem for p in paths]
    names = []
    for i, p in enumerate(paths):
        name = p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}-{p.stem}"
        if name in names:
            name = f"{i + 1}-{name}"
        names.append(name)
    return names


def _file_problem(row: ManifestRow, f: hashing.ImageFacts, options: CheckOptions) -> tuple[str, str] | None:
    if f.status != hashing.OK:
        return f.status, f.detail
    if f.min_side < options.min_side:
        return "tiny", f"{f.width}x{f.height} px, shorter side below {options.min_side}"
    if row.sha256 and row.sha256 != f.sha256:
        return "checksum-mismatch", f"manifest sha256 {row.sha256[:12]}…, file {f.sha256[:12]}…"
    return None


def run_check(
    manifests: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    catalog: str | os.PathLike | None = None,
    options: CheckOptions = CheckOptions(),
) -> CheckReport:
    """Check ``manifests`` together, write the report and cleansed manifests into ``out``; see module doc."""
    started = time.perf_counter()
    paths = [Path(m) for m in manifests]
    if not paths:
        raise DataError("no manifest given")
    check_out_folder(out)
    names = _manifest_names(paths)
    _check_outputs(paths, _output_paths(Path(out), names))
    items: list[tuple[int, ManifestRow]] = [(m, row) for m, p in enumerate(paths) for row in read_manifest(p)]
    catalog_skus, reader = load_catalog_skus(catalog) if catalog is not None else (None, None)
    item_facts = _inspect(items, options)
    problems = _file_problems(items, item_facts, catalog_skus, options)
    base = Path(out).resolve()
    groups_report = _judge_duplicates(items, item_facts, problems, names, base, options)
    quarantined = [Quarantined(names[m], row.path, row.sku, *problems[k])
                   for k, (m, row) in enumerate(items) if k in problems]
    counts = _class_counts(items, problems, names)
    with_photos = {sku for c in counts.values() for sku in c}
    report = CheckReport(
        manifests=[str(p) for p in paths], images=len(items), clean=len(items) - len(quarantined),
        quarantined=quarantined, duplicate_groups=groups_report, class_counts=counts,
        imbalance=_imbalance(counts, sorted({row.sku for _, row in items}), options),
        unknown_skus=sorted({row.sku for _, row in items if catalog_skus is not None and row.sku not in catalog_skus}),
        catalog_skus_without_photos=sorted(catalog_skus - with_photos) if catalog_skus is not None else [],
        catalog=str(catalog) if catalog else None, catalog_reader=reader,
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items() if k != "progress"},
        seconds=0.0,
    )
    _write_outputs(report, items, problems, names, base, started)
    return report


def _inspect(items: list[tuple[int, ManifestRow]], options: CheckOptions) -> list[hashing.ImageFacts]:
    """The facts (status, size, hashes) of every item's photo, through the hash cache when there is one."""
    cache = hashing.HashCache(options.cache) if options.cache else None
    try:
        facts = hashing.inspect_images([row.path for _, row in items], workers=options.workers, cache=cache,
                                       progress=options.progress)
    finally:
        if cache is not None:
            cache.close()
    return [facts[os.fspath(row.path)] for _, row in items]


def _file_problems(items: list[tuple[int, ManifestRow]], item_facts: list[hashing.ImageFacts],
                   catalog_skus: set[str] | None, options: CheckOptions) -> dict[int, tuple[str, str]]:
    """item number → (reason, detail) for photos with a file problem or a SKU the catalog lacks."""
    problems: dict[int, tuple[str, str]] = {}
    for k, ((_, row), f) in enumerate(zip(items, item_facts)):
        problem = _file_problem(row, f, options)
        if problem is None and catalog_skus is not None and row.sku not in catalog_skus:
            problem = ("unknown-sku", f"SKU {row.sku!r} is not in the catalog")
        if problem:
            problems[k] = problem
    return problems


def _judge_duplicates(items: list[tuple[int, ManifestRow]], item_facts: list[hashing.ImageFacts],
                      problems: dict[int, tuple[str, str]], names: list[str], base: Path,
                      options: CheckOptions) -> list[dict]:
    """Group the photos that are otherwise fine into duplicates, quarantine (in ``problems``) all but each group's
    first copy, or every copy when they carry different SKUs; the groups' report entries."""
    candidates = [k for k in range(len(items)) if k not in problems]
    thumbs: dict[int, object] = {}

    def one_photo(i: int, j: int, _distance: int) -> bool:
        """A near pHash joins photos labelled alike (consecutive frames: leakage); photos labelled differently only
        when they are one photo (two products of one shape in one place hash alike, and are not copies)."""
        a, b = candidates[i], candidates[j]
        if items[a][1].sku == items[b][1].sku:
            return True
        for k in (a, b):
            if k not in thumbs:
                thumbs[k] = hashing.thumbnail(items[k][1].path)
        return hashing.same_photo(thumbs[a], thumbs[b])

    pairs = duplicate_pairs([item_facts[k].sha256 for k in candidates], [item_facts[k].phash for k in candidates],
                            options.phash_threshold, confirm=one_photo)
    links: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # group's first member -> its joining pairs
    groups = [g for g in duplicate_groups(len(candidates), pairs) if len(g) >= 2]
    first = {i: g[0] for g in groups for i in g}
    for p in pairs:
        links[first[p.i]].append((candidates[p.i], candidates[p.j], p.distance))
    report = []
    for group in groups:
        members = [candidates[i] for i in group]  # already in manifest order, then file order
        report.append(_judge_group(members, items, item_facts, problems, names, base, sorted(links[group[0]])))
    return report


def _judge_group(members: list[int], items: list[tuple[int, ManifestRow]], item_facts: list[hashing.ImageFacts],
                 problems: dict[int, tuple[str, str]], names: list[str], base: Path,
                 links: list[tuple[int, int, int]]) -> dict:
    """Quarantine a group's copies (see :func:`_judge_duplicates`); its report entry: members and the pairs that
    joined them (one fewer than the members: the report grows with the photos, not with their pairs)."""
    skus = sorted({items[k][1].sku for k in members})
    keeper = members[0]
    kinds = {"exact" if item_facts[k].sha256 == item_facts[keeper].sha256 else "near" for k in members[1:]}
    if len(skus) > 1:
        for k in members:
            others = [f"{relative_path(items[o][1].path, base)} ({items[o][1].sku})" for o in members[:4] if o != k]
            more = len(members) - 1 - len(others)
            problems[k] = ("conflicting-labels", f"copies labelled {', '.join(skus[:10])}"
                           f"{f' and {len(skus) - 10} more' if len(skus) > 10 else ''}: {'; '.join(others)}"
                           f"{f' and {more} more' if more > 0 else ''}")
    else:
        for k in members[1:]:
            problems[k] = _duplicate_problem(k, keeper, items, item_facts, names, base)
    return {
        "kind": "exact" if kinds == {"exact"} else "near" if kinds == {"near"} else "mixed",
        "cross_manifest": len({items[k][0] for k in members}) > 1,
        "skus": skus,
        "members": [
            {"manifest": names[items[k][0]], "path": relative_path(items[k][1].path, base), "sku": items[k][1].sku,
             "sha256": item_facts[k].sha256, "phash": f"{item_facts[k].phash:016x}", "kept": k not in problems}
            for k in members
        ],
        "links": [
            {"a": relative_path(items[a][1].path, base), "b": relative_path(items[b][1].path, base), "distance": d}
            for a, b, d in links
        ],
    }


def _duplicate_problem(k: int, keeper: int, items: list[tuple[int, ManifestRow]],
                       item_facts: list[hashing.ImageFacts], names: list[str], base: Path) -> tuple[str, str]:
    f, kf = item_facts[k], item_facts[keeper]
    where = f"{relative_path(items[keeper][1].path, base)} in {names[items[keeper][0]]}"
    exact = f.sha256 == kf.sha256
    detail = f"same content as {where}" if exact else f"pHash distance {hashing.hamming(f.phash, kf.phash)} to {where}"
    if items[k][0] != items[keeper][0]:
        detail = f"LEAKAGE across {names[items[keeper][0]]}/{names[items[k][0]]}: {detail}"
    return ("duplicate" if exact else "near-duplicate", detail)


def _class_counts(items: list[tuple[int, ManifestRow]], problems: dict[int, tuple[str, str]],
                  names: list[str]) -> dict[str, dict[str, int]]:
    """Per manifest: SKU → clean photos."""
    counts: dict[str, dict[str, int]] = {}
    for m, name in enumerate(names):
        c = Counter(row.sku for k, (mm, row) in enumerate(items) if mm == m and k not in problems)
        counts[name] = dict(sorted(c.items()))
    return counts


def _imbalance(counts: dict[str, dict[str, int]], all_skus: list[str], options: CheckOptions) -> dict:
    total = Counter()
    for c in counts.values():
        total.update(c)
    imbalance: dict = {"skus": len(total)}
    if total:
        lo = min(total, key=lambda s: (total[s], s))
        hi = max(total, key=lambda s: (total[s], s))
        imbalance.update(min=total[lo], min_sku=lo, max=total[hi], max_sku=hi, ratio=total[hi] / total[lo],
                         mean=sum(total.values()) / len(total))
    imbalance["under_minimum"] = {s: total.get(s, 0) for s in all_skus if total.get(s, 0) < options.min_per_sku}
    if len(counts) > 1:
        imbalance["missing_from"] = {
            name: [s for s in sorted(total) if s not in c] for name, c in counts.items()
            if any(s not in c for s in total)
        }
    return imbalance


def _output_paths(out: Path, names: list[str]) -> list[Path]:
    """Every file ``data check`` writes into ``out``."""
    return [*(out / f"{name}.clean.csv" for name in names), out / "quarantine.csv", out / "report.json",
            out / "report.md"]


def _check_outputs(inputs: list[Path], outputs: list[Path]) -> None:
    """Before any work: no output may replace an input manifest (``check out/quarantine.csv --out out``), a
    folder, a device or a database (:func:`~kiosk.bundle_format.atomic.check_output`); an earlier report is
    replaced."""
    for path in outputs:
        check_output(path, force=True, option="--out", error=DataError)
        if not path.exists():
            continue
        for given in inputs:
            if given.exists() and os.path.samefile(path, given):
                raise DataError(f"--out {shown(path.parent)}: {path.name} there would replace the input manifest "
                                f"{shown(given)}; choose another --out folder (nothing written)")


def _write_outputs(report: CheckReport, items: list[tuple[int, ManifestRow]], problems: dict[int, tuple[str, str]],
                   names: list[str], base: Path, started: float) -> None:
    """The cleansed manifests, quarantine.csv, report.json and report.md into ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    for m, name in enumerate(names):
        clean_rows = [row for k, (mm, row) in enumerate(items) if mm == m and k not in problems]
        report.outputs[name] = str(write_manifest(clean_rows, base / f"{name}.clean.csv"))
    _write_quarantine(report.quarantined, base / "quarantine.csv")
    report.seconds = round(time.perf_counter() - started, 2)
    atomic_write(base / "report.json", json.dumps(report.to_json(base), indent=2, default=str) + "\n")
    atomic_write(base / "report.md", render_markdown(report, base))


def _write_quarantine(quarantined: Sequence[Quarantined], path: Path) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "reason", "detail", "manifest", "sku"])
        for q in quarantined:
            cells = formula_safe([q.reason, q.detail, q.manifest, q.sku])
            writer.writerow([relative_path(q.path, path.parent), *cells])


def render_markdown(report: CheckReport, base: Path) -> str:
    lines = ["# Data check", "", "```", report.summary(), "```", "",
             f"Manifests: {', '.join(report.manifests)}  ", f"Options: `{json.dumps(report.options)}`", ""]
    if report.catalog:
        lines += [f"Catalog: {report.catalog} (read with {report.catalog_reader})", ""]
    lines += ["## Quarantined", ""]
    if report.quarantined:
        lines += ["| path | reason | detail | manifest | sku |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {relative_path(q.path, base)} | {q.reason} | {q.detail} | {q.manifest} | {q.sku} |"
                  for q in report.quarantined]
    else:
        lines.append("Nothing.")
    lines += ["", "## Duplicate groups", ""]
    if report.duplicate_groups:
        for g in report.duplicate_groups:
            flag = "**LEAKAGE** " if g["cross_manifest"] else ""
            lines.append(f"- {flag}{g['kind']} ({', '.join(g['skus'])}): " + "; ".join(
                f"{m['manifest']}:{m['path']}{'' if m['kept'] else ' (quarantined)'}" for m in g["members"]))
    else:
        lines.append("None.")
    im = report.imbalance
    lines += ["", "## Photos per SKU (clean)", ""]
    if im.get("under_minimum"):
        lines.append(f"Under {report.options['min_per_sku']}: " +
                     ", ".join(f"{s} ({n})" for s, n in im["under_minimum"].items()))
        lines.append("")
    for name, missing in im.get("missing_from", {}).items():
        lines += [f"Missing from {name}: {', '.join(missing)}", ""]
    if report.unknown_skus:
        lines += [f"Unknown to the catalog: {', '.join(report.unknown_skus)}", ""]
    if report.catalog_skus_without_photos:
        lines += [f"Catalog SKUs without photos: {', '.join(report.catalog_skus_without_photos)}", ""]
    names = list(report.class_counts)
    skus = sorted({s for c in report.class_counts.values() for s in c})
    lines += ["| sku | " + " | ".join(names) + " | total |", "| --- |" + " ---: |" * (len(names) + 1)]
    for s in skus:
        row = [report.class_counts[n].get(s, 0) for n in names]
        lines.append(f"| {s} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    return "\n".join(lines) + "\n"
