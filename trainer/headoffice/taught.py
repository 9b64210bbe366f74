"""``checkout report taught SRC [--channel DIR] [--catalog DB] [--new-products FILE]`` and the dashboard's Taught
page: the products staff taught at the kiosks (the ``enrollment`` batches, :mod:`kiosk.exchange.enrollment`), read
from the head-office location the kiosks upload to — what head office looks at before the next retrain adds them to
the model.

Per SKU: the stores and kiosks that taught it, how many enrollments and photos (withdrawn ones counted apart, their
photos not), when it was first and last taught, and which groups' published release already knows it (the labels in
the channel's bundle archive; "–" without a channel), its catalog row as the store created it (name, sold by, price,
GST: the newest one sent) and whether head office's catalog (``--catalog``) has it. ``--new-products FILE`` writes
the taught products head office's catalog lacks as a catalog CSV (``checkout catalog import FILE``); a row that
would not import is named and left out. Per enrollment: who taught it where and when, its photos. A batch that is
cut short, altered or holds a bad record is named and skipped whole, as ``feedback collect`` skips it. An enrollment
a kiosk sent as several batches (its parts, :mod:`kiosk.exchange.enrollment`) or sent again is one enrollment here,
each photo counted once; parts not arrived yet are said.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.exchange import BatchError
from kiosk.exchange.enrollment import KIND, join_enrollments, read_enrollment_batch
from trainer.fleet.location import HeadOffice

__all__ = ["THUMBNAILS", "Taught", "TaughtReport", "format_taught", "new_products", "released_labels",
           "taught_photos", "taught_report"]

log = logging.getLogger(__name__)
MAX_MANIFEST = 4 * 1024 * 1024  # a bundle's manifest.json is a few KiB; more is not one
THUMBNAILS = 4  # photos per enrollment the Taught page shows


@dataclass(frozen=True)
class Taught:
    """One enrollment as head office received it."""

    batch: str  # the (first) batch's file name (sha256-named: unique, stable)
    store: str
    kiosk: str
    enrollment_id: int
    sku: str
    photos: int
    staff: str
    source: str
    created_at: str
    withdrawn_at: str | None
    refused: int
    product: dict | None = None  # the SKU's catalog row at the kiosk (CSV text), when it sent one
    missing_parts: int = 0  # batches of its photos not arrived yet (an enrollment sent in parts)


@dataclass
class TaughtSku:
    sku: str
    stores: list[str] = field(default_factory=list)
    kiosks: int = 0
    enrollments: int = 0
    withdrawn: int = 0
    photos: int = 0  # of enrollments not withdrawn: what a retrain gets
    first_at: str = ""
    last_at: str = ""
    released_in: list[str] | None = None  # groups whose published release knows the SKU (None: no channel read)
    product: dict | None = None  # the newest catalog row a kiosk sent with it
    in_catalog: bool | None = None  # head office's catalog has the SKU (None: no catalog given)


@dataclass
class TaughtReport:
    source: str
    skus: list[TaughtSku]
    enrollments: list[Taught]  # newest first
    skipped: list[dict]
    channel: str = ""
    channel_problems: list[str] = field(default_factory=list)
    catalog: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _read(ho: HeadOffice) -> tuple[list[Taught], list[dict]]:
    """Every enrollment its whole batches carry (the parts of one joined), and the batches skipped."""
    keys, skipped = ho.batches(KIND)

    def whole():
        for key, store_dir, kiosk_dir in keys:
            try:
                yield key, read_enrollment_batch(ho.read(key), key.rsplit("/", 1)[-1], where=key,
                                                 filed_under=(store_dir, kiosk_dir))
            except (BatchError, OSError, MemoryError) as exc:
                skipped.append({"batch": key, "reason": str(exc).removeprefix(f"{key}: ")})

    out = []
    for e in join_enrollments(whole()):
        m = e.meta
        out.append(Taught(e.batches[0].rsplit("/", 1)[-1], m["store_id"], m["kiosk_id"], m["enrollment_id"], m["sku"],
                          len(e.records), m["staff"], m["source"], m["created_at"], m["withdrawn_at"], m["refused"],
                          m.get("product"), e.missing))
    return out, skipped


def released_labels(channel: str | Path | None) -> tuple[dict[str, set[str]], list[str]]:
    """``({group: SKU ids its published release knows}, problems)`` from the channel's index and bundle archives."""
    from trainer.headoffice.dashboard import channel_groups

    if not channel:
        return {}, []
    root, groups, problem = channel_groups(channel)
    if groups is None:
        return {}, [problem]
    labels, problems = {}, []
    for group, entry in sorted(groups.items()):
        try:
            labels[group] = _archive_labels(_inside(root, str(entry["archive"])))
        except (OSError, ValueError, KeyError, TypeError, tarfile.TarError) as exc:
            problems.append(f"group {group}: release v{entry.get('model_version', '?')}: {exc}")
    return labels, problems


def _inside(root: Path, name: str) -> Path:
    """The channel's file ``name``, refused when it lies outside the channel folder (``../…``, an absolute path)."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"archive {name!r} is outside the channel folder")
    return path


def _archive_labels(path: Path) -> set[str]:
    with tarfile.open(path, "r") as tar:
        member = tar.getmember("manifest.json")
        if not member.isfile() or member.size > MAX_MANIFEST:
            raise ValueError(f"{path.name}: manifest.json is not a small file")
        try:  # NaN is let through: releases exported before best.json was strict carry it in their metrics
            labels = json.loads(tar.extractfile(member).read().decode("utf-8"))["labels"]
        except RecursionError:  # nested 100,000 deep: it stopped the whole report
            raise ValueError(f"{path.name}: manifest.json nested too deeply to read") from None
    if not isinstance(labels, list):
        raise ValueError(f"{path.name}: manifest.json has no list of labels")
    return {str(x) for x in labels}


def _when(t: Taught) -> datetime:
    """When it was taught, comparable across kiosks' offsets (a time without one is taken as UTC)."""
    at = datetime.fromisoformat(t.created_at.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _per_sku(rows: list[Taught], released: dict[str, set[str]], have_channel: bool) -> list[TaughtSku]:
    skus: dict[str, TaughtSku] = {}
    kiosks: dict[str, set[tuple[str, str]]] = {}
    for t in sorted(rows, key=_when):
        s = skus.setdefault(t.sku, TaughtSku(t.sku, first_at=t.created_at))
        s.enrollments += 1
        s.product = t.product or s.product  # the newest row sent
        if t.withdrawn_at is not None:
            s.withdrawn += 1
            continue
        s.photos += t.photos
        s.last_at = t.created_at
        kiosks.setdefault(t.sku, set()).add((t.store, t.kiosk))
        if t.store not in s.stores:
            s.stores.append(t.store)
    for s in skus.values():
        s.kiosks = len(kiosks.get(s.sku, ()))
        s.released_in = sorted(g for g, known in released.items() if s.sku in known) if have_channel else None
    return sorted(skus.values(), key=lambda s: (-s.kiosks, -s.photos, s.sku))


def taught_report(src: str, channel: str | Path | None = None, catalog: str | Path | None = None) -> TaughtReport:
    rows, skipped = _read(HeadOffice(src))
    released, problems = released_labels(channel)
    enrollments = sorted(rows, key=lambda t: (_when(t), t.batch), reverse=True)
    skus = _per_sku(rows, released, bool(channel) and (bool(released) or not problems))
    if catalog is not None:
        from trainer.data.check import load_catalog_skus

        known = load_catalog_skus(catalog)[0]
        for s in skus:
            s.in_catalog = s.sku in known
    return TaughtReport(str(src), skus, enrollments, skipped, str(channel or ""), problems, str(catalog or ""))


def new_products(report: TaughtReport) -> tuple[list[dict[str, str]], list[str]]:
    """``(catalog CSV rows, problems)``: the newest row of each taught product (not withdrawn everywhere) that head
    office's catalog lacks (all of them without ``--catalog``); a row that would not import is named, left out."""
    from catalog.model import CSV_COLUMNS, parse_sku_fields, sku_to_fields, validate_sku

    rows, problems = [], []
    for s in report.skus:
        if s.in_catalog or s.withdrawn == s.enrollments:
            continue
        if s.product is None:
            problems.append(f"{s.sku}: no kiosk sent its catalog row (taught before kiosks sent them)")
            continue
        sku, errors = parse_sku_fields({k: v for k, v in s.product.items() if k in CSV_COLUMNS})
        errors = errors or (validate_sku(sku) if sku is not None else [])
        if errors or sku is None:
            problems.append(f"{s.sku}: its catalog row would not import ({'; '.join(map(str, errors[:3]))})")
            continue
        rows.append(sku_to_fields(sku))
    return rows, problems


def taught_photos(src: str, batch: str, limit: int = THUMBNAILS) -> list[bytes]:
    """The first ``limit`` photos of the enrollment batch named ``batch`` (a name from the listing, never a path),
    read and checked once; [] when there is no such whole batch."""
    ho = HeadOffice(src)
    keys, _skipped = ho.batches(KIND)
    for key, store_dir, kiosk_dir in keys:
        if key.rsplit("/", 1)[-1] != batch:
            continue
        try:
            got = read_enrollment_batch(ho.read(key), batch, where=key, filed_under=(store_dir, kiosk_dir))
        except (BatchError, OSError):
            return []
        return [got.files[r["image"]] for r in got.records[:limit]]
    return []


def format_taught(report: TaughtReport) -> str:
    lines = [f"{len(report.skus)} product(s) taught at the kiosks, {len(report.enrollments)} enrollment(s) in "
             f"{report.source}; {len(report.skipped)} batch(es) skipped"]
    lines += [f"  skipped {s['batch']}: {s['reason']}" for s in report.skipped]
    lines += [f"  {e.sku} (enrollment {e.enrollment_id} at {e.store}/{e.kiosk}): {e.missing_parts} batch(es) of its "
              "photos not arrived yet" for e in report.enrollments if e.missing_parts]
    lines += [f"  channel: {p}" for p in report.channel_problems]
    if not report.skus:
        return "\n".join(lines)
    out = io.StringIO()
    out.write(f"{'SKU':<28} {'name':<24} {'stores':<20} {'kiosks':>6} {'photos':>6} {'withdrawn':>9}  "
              f"{'last taught':<16}  {'catalog':<8} release\n")
    for s in report.skus:
        release = ("unknown" if report.channel else "–") if s.released_in is None else (", ".join(s.released_in)
                                                                                          or "not yet")
        known = "–" if s.in_catalog is None else ("yes" if s.in_catalog else "missing")
        name = (s.product or {}).get("name", "–")[:24]
        out.write(f"{s.sku:<28} {name:<24} {', '.join(s.stores) or '–':<20} {s.kiosks:>6} {s.photos:>6} "
                  f"{s.withdrawn:>9}  {(s.last_at or '–')[:16].replace('T', ' '):<16}  {known:<8} {release}\n")
    return "\n".join(lines) + "\n" + out.getvalue().rstrip()
