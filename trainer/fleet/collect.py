"""``checkout feedback collect SRC --out DIR``: every store's feedback batches → one training manifest.

1. Read every ``feedback/<store>/<kiosk>/feedback-<sha256>.tar`` under SRC (a directory or an fsspec URL). A batch
   that is cut short, altered, renamed or holds one bad record is **reported by name and skipped whole**
   (:func:`kiosk.exchange.feedback.read_feedback_batch`): nothing of it is merged. With ``--kiosks DIR`` (the
   enrolled kiosks: ``DIR/<store>/<kiosk>.key``, as ``checkout audit enroll`` keeps them) a batch of a kiosk not
   enrolled there is skipped whole the same way.
2. Merge the records: per (store, kiosk, placement) the highest revision wins, then the latest ``updated_at`` (a
   label a kiosk corrected after it first sent it); the same record sent again in another batch is counted, not
   merged twice. Two records of one revision and time with different labels (a kiosk never sends them): the most
   trusted label wins; of equal trust, the placement is left for review. Each such conflict is reported.
   ``--since`` keeps placements from that date on.
3. Labelled records with a tray crop go to ``DIR/feedback.csv`` (``path,sku,source`` + provenance: ``store, kiosk,
   placement_id, bundle_version, predicted, score, chooser, trust, suggestion_rank, grams, paid, time, batch``), their
   crops to ``DIR/images/<store>/<kiosk>/<placement>.jpg``. Labels the catalog (``--catalog``) does not know are
   left out and named with their batch. The rest (removed, unknown, no crop, an unreadable crop, labels that
   cannot be settled) go to ``DIR/unlabelled.csv`` for review, each with its reason.
4. De-duplicate (:mod:`trainer.fleet.dedupe`): a duplicate is one photo sent twice -- the same bytes, or a near pHash
   (``--phash-threshold``) whose pixels agree, never two photos of one kiosk with different bytes. Against the
   existing training manifests (``--against``: a photo already trained on is left out, a different label of it
   named), and within the feedback (one row per photo: the most trusted label, then the latest, wins; a conflict is
   named). The summary says how many were merged and why, and how many near matches were kept as two photos.

5. Head office's labels (``DIR/labels.csv``, :mod:`trainer.fleet.labels`: the dashboard's Label page writes it) are
   taken up: a placement left for review that head office gave a SKU joins ``feedback.csv`` as a staff-trusted row
   (``source`` headoffice, ``chooser`` ``staff:<user>``) and leaves ``unlabelled.csv``; one it called not a product
   leaves it too and is counted, never trained on, as does one the store's staff called not a product at the till
   (chooser ``not-a-product:<staff>``) unless head office labelled it since. A label of a SKU the catalog
   (``--catalog``) does not know keeps its placement for review. Collect reads labels.csv and never writes it.

``DIR/report.json`` holds the whole account; the command prints its summary. Running it again gives the same output.
``DIR/collect.json`` records what a collect wrote there (each file's sha256, the manifest's rows): a later collect
into DIR replaces only those files as they were written, and never a manifest by one with fewer rows, unless
``force``; DIR may not be SRC or inside it (the kiosks' upload tree).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, shown
from kiosk.errors import DataError
from kiosk.exchange import BatchError, safe_segment
from kiosk.exchange.document import read_document
from kiosk.exchange.enrollment import KIND as ENROLLMENT
from kiosk.exchange.enrollment import join_enrollments, read_enrollment_batch
from kiosk.exchange.feedback import KIND, TRUST_RANK, read_feedback_batch
from kiosk.inputfiles import MB
from trainer.data.manifest import ManifestRow, check_out_folder, read_manifest, write_manifest
from trainer.fleet.location import HeadOffice

__all__ = ["CollectReport", "collect_feedback", "parse_since"]

log = logging.getLogger(__name__)
MANIFEST, UNLABELLED, REPORT = "feedback.csv", "unlabelled.csv", "report.json"
MARKER = "collect.json"  # what a collect wrote into --out: what a later one there may replace
SOURCE, ENROLLED, HEADOFFICE = "feedback", "enrolled", "headoffice"


@dataclass
class Found:
    """One merged record: where it came from and where its crop was written (None: none was sent). Crops go to disk
    as their batch is read, so a collect holds one batch's photos at a time, not the whole upload tree's."""

    store: str
    kiosk: str
    batch: str
    record: dict
    path: Path | None = None
    source: str = "feedback"

    @property
    def rank(self) -> tuple:
        return TRUST_RANK[self.record["trust"]], _updated(self.record), self.record["placement_id"]


@dataclass
class CollectReport:
    source: str
    out: str
    batches: int = 0
    skipped: list[dict] = field(default_factory=list)  # {"batch", "reason"}
    records: int = 0
    superseded: int = 0  # older revisions of a placement
    resent: int = 0  # a record sent again, unchanged, in another batch
    before_since: int = 0
    unknown_skus: dict[str, list[str]] = field(default_factory=dict)  # batch -> SKUs the catalog does not know
    catalog: str = ""  # the catalog the labels were checked against ("" = not checked)
    kiosks: str = ""  # the enrolled kiosks' folder the batches were checked against ("" = not checked)
    unreadable: list[dict] = field(default_factory=list)  # {"path", "reason", "batch"}
    duplicates: list[dict] = field(default_factory=list)  # {"path", "kind", "of", "why", "label", "of_label"}
    conflicts: list[dict] = field(default_factory=list)  # {"kind", "labels", "kept", "reason"}: one photo, 2 labels
    kept_as_two: dict[str, int] = field(default_factory=dict)  # near pHash matches that are two photos, by why
    rows: int = 0
    by_trust: dict[str, int] = field(default_factory=dict)
    unlabelled: int = 0
    manifest: str = ""
    enrollments: int = 0  # products taught at the kiosks: their batches read whole
    enrolled_photos: int = 0
    withdrawn: int = 0  # enrollments staff had withdrawn before they were sent: left out
    kept_apart: list[dict] = field(default_factory=list)  # {"batch", "reason"}: one enrollment id, two products
    labelled_at_headoffice: int = 0  # placements for review head office gave a SKU (labels.csv): in the manifest
    not_a_product: int = 0  # placements head office (or the store's staff) said are no product: left out of both

    def summary(self) -> str:
        lines = [f"{self.batches} batch(es) read from {shown(self.source)}, {len(self.skipped)} skipped; "
                 f"{self.records} placement(s) ({self.superseded} older revisions replaced, {self.resent} sent again, "
                 f"{self.before_since} before --since)"]
        if self.enrollments or self.withdrawn:
            lines.append(f"{self.enrollments} enrollment(s) taught at the kiosks: {self.enrolled_photos} photo(s) "
                         f"(source {ENROLLED}, trust staff); {self.withdrawn} withdrawn before sending, left out")
        if self.labelled_at_headoffice or self.not_a_product:
            lines.append(f"{self.labelled_at_headoffice} labelled at head office (source {HEADOFFICE}, trust staff); "
                         f"{self.not_a_product} not a product, left out")
        lines += [f"  skipped {shown(s['batch'])}: {shown(s['reason'])}" for s in self.skipped]
        lines += [f"  kept apart {shown(s['batch'])}: {shown(s['reason'])}" for s in self.kept_apart]
        lines += [f"  unknown SKUs in {b}: {', '.join(skus)}" for b, skus in sorted(self.unknown_skus.items())]
        if not self.catalog:
            lines.append("  labels not checked against a catalog (--catalog DB)")
        if not self.kiosks:
            lines.append("  kiosks not checked against the enrolled ones (--kiosks DIR)")
        lines += [f"  conflicting labels: {shown(c['reason'])}" for c in self.conflicts]
        lines += [f"  unreadable {shown(self._here(u['path']))} (batch {shown(u.get('batch', '?'))}): "
                  f"{shown(u['reason'])}" for u in self.unreadable]
        lines.append(f"{self.rows} row(s) in {shown(self.manifest)} (" + ", ".join(
            f"{t} {n}" for t, n in sorted(self.by_trust.items(), key=lambda kv: -TRUST_RANK[kv[0]])) +
            f"); {self._merged()}; {len(self.unreadable)} unreadable, {self.unlabelled} for review in {UNLABELLED}")
        return "\n".join(lines)

    def _here(self, path: str) -> str:
        """``path`` under --out as written there (images/<store>/<kiosk>/…)."""
        return path.removeprefix(str(Path(self.out).resolve()) + "/").removeprefix(self.out.rstrip("/") + "/")

    def _merged(self) -> str:
        """How many photos were merged into another row or left out as trained on, and why; the near matches kept."""
        exact = sum(1 for d in self.duplicates if d["kind"] == "within" and d.get("why", "").startswith("same bytes"))
        within = sum(1 for d in self.duplicates if d["kind"] == "within")
        against = len(self.duplicates) - within
        apart = ", ".join(f"{n} {why}" for why, n in sorted(self.kept_as_two.items()))
        return (f"{within} duplicate(s) merged into one row ({exact} same bytes, {within - exact} one photo "
                f"re-encoded), {against} already trained on (--against) left out; "
                f"{sum(self.kept_as_two.values())} near pHash match(es) kept as two photos ({apart or 'none'})")


def parse_since(text: str | None) -> datetime | None:
    """``--since``: a date (``2026-12-01``) or an ISO time; naive ones are taken as UTC."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"--since {text!r}: not a date (YYYY-MM-DD) or an ISO time") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def enrolled_kiosks(folder: Path | None) -> set[tuple[str, str]] | None:
    """``--kiosks DIR``: the (store, kiosk) folders of the kiosks enrolled there (``DIR/<store>/<kiosk>.key``, the
    registry ``checkout audit enroll`` fills; the key itself is the audit's business); None: not checked."""
    if folder is None:
        return None
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise DataError(f"--kiosks {shown(folder)}: {what} (the enrolled kiosks: <store>/<kiosk>.key)")
    found = {(p.parent.name, p.stem) for p in folder.glob("*/*.key") if p.is_file()}
    if not found:
        raise DataError(f"--kiosks {shown(folder)}: no enrolled kiosk there (no <store>/<kiosk>.key); "
                        "`checkout audit enroll` puts them there")
    return found


def _whole_batches(ho: HeadOffice, kind: str, read, report: CollectReport,
                   enrolled: set[tuple[str, str]] | None = None):
    """``(key, batch)`` of every whole batch of ``kind``; one out of place, of a kiosk not ``enrolled`` (when given),
    cut short, altered or holding a bad record is named in ``report.skipped`` and skipped whole."""
    keys, misplaced = ho.batches(kind)
    report.batches += len(keys) + len(misplaced)
    report.skipped += misplaced
    for key, store_dir, kiosk_dir in keys:
        if enrolled is not None and (store_dir, kiosk_dir) not in enrolled:
            report.skipped.append({"batch": key, "reason": f"kiosk {store_dir}/{kiosk_dir} is not enrolled (no "
                                                           f"{store_dir}/{kiosk_dir}.key in --kiosks): not read"})
            log.warning("skipped %s: kiosk %s/%s is not enrolled", key, store_dir, kiosk_dir)
            continue
        try:
            batch = read(ho.read(key), key.rsplit("/", 1)[-1], where=key, filed_under=(store_dir, kiosk_dir))
        except (BatchError, OSError, MemoryError) as exc:
            report.skipped.append({"batch": key, "reason": str(exc).removeprefix(f"{key}: ")})
            log.warning("skipped %s", exc)
            continue
        yield key, batch


def _read_all(ho: HeadOffice, report: CollectReport, out: Path, since: datetime | None,
              enrolled: set[tuple[str, str]] | None = None) -> tuple[dict[tuple[str, str, str], Found], list]:
    """Every whole batch's records, newest revision per placement, its crop written under ``out`` as its batch is
    read (a later revision's replaces it); broken batches named and skipped whole; ``since``: placements from then.
    Returns the merged records and ``(Found, reason)`` of placements whose labels cannot be settled (for review)."""
    merged: dict[tuple[str, str, str], Found] = {}
    rivals: dict[tuple[str, str, str], list[Found]] = {}  # same revision and time as the merged one, another label
    before: set[tuple[str, str, str]] = set()
    for key, batch in _whole_batches(ho, KIND, read_feedback_batch, report, enrolled):
        store, kiosk = batch.meta["store_id"], batch.meta["kiosk_id"]
        for rec in batch.records:
            k = (store, kiosk, rec["placement_id"])
            if since is not None and _time(rec["placed_at"]) < since:
                before.add(k)
                continue
            old = merged.get(k)
            order = None if old is None else _order(rec, old.record)
            if old is None or order > 0:
                report.superseded += old is not None
                merged[k] = Found(store, kiosk, key, rec)
                rivals.pop(k, None)
                _put_image(merged[k], batch.files.get(rec["image"]) if rec["image"] else None, out, old)
            elif order < 0:
                report.superseded += 1
            elif rec["label"] in {f.record["label"] for f in [old, *rivals.get(k, [])]}:
                report.resent += 1  # the same record again (another cut of the kiosk's outbox)
            else:
                rivals.setdefault(k, []).append(Found(store, kiosk, key, rec, old.path))
    review = [r for k, rs in sorted(rivals.items()) if (r := _settle_revision(merged, k, rs, report))]
    report.records = len(merged) + len(review)
    report.before_since = len(before - set(merged) - {(f.store, f.kiosk, f.record["placement_id"]) for f, _ in review})
    return merged, review


def _order(rec: dict, old: dict) -> int:
    """1 when ``rec`` is a later version of a placement than ``old`` (a higher revision, then a later
    ``updated_at``), -1 when an earlier one, 0 when of the same revision and time."""
    a, b = (rec["revision"], _updated(rec)), (old["revision"], _updated(old))
    return (a > b) - (a < b)


def _settle_revision(merged: dict, k: tuple[str, str, str], rivals: list[Found], report: CollectReport):
    """One placement sent as two records of one revision and time with different labels (a kiosk never does): the
    most trusted label wins; of equal trust nobody knows, and the placement is taken out of ``merged`` for review
    (returned as ``(Found, reason)``). Either way reported in ``report.conflicts``."""
    every = sorted([merged[k], *rivals], key=lambda f: (TRUST_RANK[f.record["trust"]], f.batch), reverse=True)
    labels = sorted({str(f.record["label"]) for f in every})
    told = "; ".join(f"{f.record['label']} ({f.record['trust']}, batch {f.batch.rsplit('/', 1)[-1][:21]}…)"
                     for f in every)
    where = f"{k[0]}/{k[1]}/{k[2]} revision {every[0].record['revision']}"
    top = [f for f in every if f.record["trust"] == every[0].record["trust"]]
    if len({f.record["label"] for f in top}) > 1:
        merged.pop(k)
        reason = f"{where} sent with labels of equal trust at the same time: {told}; left out for review"
        report.conflicts.append({"kind": "revision", "placement": list(k), "labels": labels, "kept": None,
                                 "reason": reason})
        return every[0], reason
    merged[k] = Found(k[0], k[1], every[0].batch, every[0].record, merged[k].path)
    report.conflicts.append({"kind": "revision", "placement": list(k), "labels": labels,
                             "kept": every[0].record["label"],
                             "reason": f"{where} sent with different labels at the same time: {told}; kept "
                                       f"{every[0].record['label']} (the most trusted)"})
    return None


def _read_enrollments(ho: HeadOffice, report: CollectReport, out: Path,
                      enrolled: set[tuple[str, str]] | None = None) -> list[Found]:
    """Every enrollment's photos (its whole batches joined: the parts of one, or one sent again; each photo once) as
    staff-trusted records of their SKU, written under ``out`` as their batch is read; withdrawn ones counted, left
    out."""
    found: list[Found] = []
    photos: dict[tuple[str, str], Path] = {}  # (batch, sha256) -> where the photo was written

    def whole():
        for key, batch in _whole_batches(ho, ENROLLMENT, read_enrollment_batch, report, enrolled):
            if batch.meta["withdrawn_at"] is None:
                m = batch.meta
                for r in batch.records:
                    where = _image_path(out, m["store_id"], m["kiosk_id"], _enrolled(m, r), r["image"])
                    _write_once(where, batch.files[r["image"]])
                    photos[(key, r["sha256"])] = where
            yield key, batch

    used: set[Path] = set()
    for e in join_enrollments(whole(), report.kept_apart):
        m = e.meta
        if m["withdrawn_at"] is not None:
            report.withdrawn += 1
            continue
        report.enrollments += 1
        for rec in e.records:
            placement = _enrolled(m, rec)
            record = {"placement_id": placement, "revision": 1, "placed_at": m["created_at"],
                      "updated_at": m["created_at"], "image": rec["image"], "top_k": [], "recognised_sku": None,
                      "model_version": None, "grams": None, "chooser": f"staff:{m['staff']}" if m["staff"] else
                      "staff", "suggestion_rank": None, "label": m["sku"], "trust": "staff", "paid": None}
            key = e.carried_by[rec["sha256"]]
            found.append(Found(m["store_id"], m["kiosk_id"], key, record, photos[(key, rec["sha256"])],
                               source=ENROLLED))
            used.add(photos[(key, rec["sha256"])])
    report.enrolled_photos = len(found)
    for path in set(photos.values()) - used:  # a part of an enrollment withdrawn in another part
        path.unlink(missing_ok=True)
    return found


def _enrolled(meta: dict, rec: dict) -> str:
    """The placement id an enrollment's photo is collected as."""
    return f"enrolled-{meta['enrollment_id']}-{rec['sha256'][:12]}"


def _usable(found: list[Found], known: set[str] | None,
            report: CollectReport) -> tuple[list[Found], list[tuple[Found, str]]]:
    """``(labelled with a crop and a known SKU, the rest with why)``; unknown SKUs are named with their batch."""
    labelled, rest = [], []
    for f in found:
        label = f.record["label"]
        if label is not None and known is not None and label not in known:
            skus = report.unknown_skus.setdefault(f.batch, [])
            if label not in skus:
                skus.append(label)
            rest.append((f, f"SKU {label} is not in the catalog"))
        elif label is not None and f.path is not None:
            labelled.append(f)
        else:
            rest.append((f, "no label" if label is None else "no crop kept"))
    return labelled, rest


def _take_labels(review: list[tuple[Found, str]], labels: dict, known: set[str] | None,
                 report: CollectReport, new: tuple = ()) -> tuple[list[Found], list[tuple[Found, str]]]:
    """``(placements for review head office gave a SKU, as staff-trusted records; the rest still for review)``; those
    it called not a product are counted and dropped. A label of a SKU the catalog lacks (``new``: ``(SKUs of
    new-products.csv, the command that imports them)``, for the reason), or of a placement without a crop, leaves it
    for review, saying why."""
    from trainer.fleet.labels import NOT_A_PRODUCT, chooser_of

    new_skus, command = new or (set(), "")

    taken, rest = [], []
    for f, why in review:
        label = labels.get(_where(f))
        if label is None and f.record["label"] is None and f.record["chooser"].startswith(f"{NOT_A_PRODUCT}:"):
            report.not_a_product += 1  # the store's staff said so at the till (kiosk.services.not_recognised)
        elif label is None:
            rest.append((f, why))
        elif label.verdict == NOT_A_PRODUCT:
            report.not_a_product += 1
        elif known is not None and label.sku not in known:
            rest.append((f, f"{why}; head office's label {label.sku} " + (
                f"is a new product: `{command}` first" if label.sku in new_skus else "is not in the catalog")))
        elif f.path is None:
            rest.append((f, f"{why}; head office labelled it {label.sku}, but no crop was kept"))
        else:
            record = {**f.record, "label": label.sku, "trust": "staff", "chooser": chooser_of(label.labelled_by),
                      "updated_at": label.labelled_at, "suggestion_rank": None}
            taken.append(Found(f.store, f.kiosk, f.batch, record, f.path, source=HEADOFFICE))
    return taken, rest


def _image_path(out: Path, store: str, kiosk: str, placement: str, member: str) -> Path:
    return out / "images" / safe_segment(store) / safe_segment(kiosk) / f"{placement}{Path(member).suffix or '.jpg'}"


def _write_once(path: Path, data: bytes) -> None:
    """``data`` at ``path``, left alone when it is there already (a rerun rewrites nothing)."""
    if not (path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)


def _put_image(f: Found, data: bytes | None, out: Path, replaced: Found | None) -> None:
    """``f``'s crop written now, while its batch is held; the crop of the revision it ``replaced`` gone if it
    has none."""
    f.path = None if data is None else _image_path(out, f.store, f.kiosk, f.record["placement_id"], f.record["image"])
    if f.path is not None:
        _write_once(f.path, data)
    elif replaced is not None and replaced.path is not None:
        replaced.path.unlink(missing_ok=True)


def _row(f: Found) -> ManifestRow:
    r = f.record
    top = r["top_k"][0] if r["top_k"] else None
    extra = {"store": f.store, "kiosk": f.kiosk, "placement_id": r["placement_id"],
             "bundle_version": "" if r["model_version"] is None else str(r["model_version"]),
             "predicted": r["recognised_sku"] or "", "score": "" if top is None else f"{float(top[1]):.4f}",
             "chooser": r["chooser"], "trust": r["trust"],
             "suggestion_rank": "" if r["suggestion_rank"] is None else str(r["suggestion_rank"]),
             "grams": "" if r["grams"] is None else str(r["grams"]), "paid": "yes" if r.get("paid") else "no",
             "time": r["placed_at"], "batch": f.batch.rsplit("/", 1)[-1]}
    return ManifestRow(path=f.path.resolve(), sku=r["label"], source=f.source, extra=extra)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _written_before(out: Path) -> dict:
    """What an earlier collect recorded in ``out/collect.json`` (``{}``: none did, or the record does not read)."""
    try:
        doc = read_document(out / MARKER, 256 * MB, "a collect record")
    except FileNotFoundError:
        return {}
    except DataError as exc:  # damaged (nested 100,000 deep was a RecursionError): its files count as not ours
        log.warning("%s", exc)
        return {}
    return doc if isinstance(doc, dict) and isinstance(doc.get("files"), dict) else {}


def _check_out(src: str, out: Path, force: bool) -> dict:
    """Refuse, before any work, an ``out`` that is not a folder, SRC or inside it, or holding files of ours
    that no collect wrote there (or that changed since), unless ``force``. Returns the earlier collect's record."""
    check_out_folder(out)
    if "://" not in src:
        here, there = Path(src).resolve(), out.resolve()
        if there == here or here in there.parents:
            raise DataError(f"--out {shown(out)}: inside SRC {shown(src)} (the kiosks' upload tree); choose a folder "
                            f"outside it")
    before = _written_before(out)
    if force:
        return before
    for name in (MANIFEST, UNLABELLED, REPORT, "images"):
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        if name == "images" and before:
            continue
        if not path.is_file() or before.get("files", {}).get(name) != _sha256(path):
            raise DataError(f"--out {shown(out)}: {name} there was not written by `checkout feedback collect` (or "
                            f"changed since: {MARKER} does not record it); choose another folder, or --force")
    return before


def collect_feedback(src: str, out: Path, *, since: datetime | None = None, against: list[Path] = (),
                     catalog: Path | None = None, phash_threshold: int = 4, workers: int | None = None,
                     cache=None, progress: bool = True, force: bool = False,
                     kiosks: Path | None = None) -> CollectReport:
    """See the module docstring. Returns the report (also written to ``out/report.json``)."""
    from trainer.data.check import load_catalog_skus
    from trainer.fleet.dedupe import dedupe
    from trainer.fleet.labels import read_labels
    from trainer.fleet.new_products import import_command, read_new_products

    out = Path(out)
    before = _check_out(str(src), out, force)
    known = load_catalog_skus(catalog)[0] if catalog is not None else None  # every input checked before a write
    labels = read_labels(out)
    new = (set(read_new_products(out)), import_command(out)) if known is not None else ()
    base = [r for m in against for r in read_manifest(m)]
    registry = enrolled_kiosks(None if kiosks is None else Path(kiosks))
    report = CollectReport(str(src), str(out), manifest=str(out / MANIFEST), kiosks=str(kiosks or ""))
    ho = HeadOffice(src)
    out.mkdir(parents=True, exist_ok=True)
    # images/ claimed before its first photo: a run that fails or is killed after this is rerun without --force
    atomic_write(out / MARKER, json.dumps({"source": str(src), "rows": before.get("rows", 0),
                                           "files": before.get("files", {})}, indent=2) + "\n")
    merged, unsettled = _read_all(ho, report, out, since, registry)
    enrolled = _read_enrollments(ho, report, out, registry)
    if since is not None:
        keep = [f for f in enrolled if _time(f.record["placed_at"]) >= since]
        for f in enrolled:
            if f.path is not None and f not in keep:
                f.path.unlink(missing_ok=True)
        report.before_since, enrolled = report.before_since + len(enrolled) - len(keep), keep
    report.catalog = str(catalog or "")
    labelled, rest = _usable(sorted([*merged.values(), *enrolled], key=_where), known, report)
    taken, rest = _take_labels([*rest, *unsettled], labels, known, report, new)
    deduped = dedupe(sorted([*labelled, *taken], key=_where), base, report, phash_threshold=phash_threshold,
                     workers=workers, cache=cache, progress=progress)
    kept, rest = deduped.kept, sorted([*rest, *deduped.review], key=lambda fr: (_where(fr[0]), fr[1]))
    rows = [_row(f) for f in kept]
    if not force and len(rows) < before.get("rows", 0):
        raise DataError(f"--out {shown(out)}: {MANIFEST} there holds {before['rows']} row(s), this collect {len(rows)} "
                        f"(a narrower --since?); not replaced: choose another folder, or --force")
    write_manifest(rows, out / MANIFEST)
    _write_unlabelled(rest, out / UNLABELLED)
    report.rows, report.unlabelled = len(rows), len(rest)
    report.labelled_at_headoffice = sum(f.source == HEADOFFICE for f in kept)
    for f in kept:
        report.by_trust[f.record["trust"]] = report.by_trust.get(f.record["trust"], 0) + 1
    atomic_write(out / REPORT, json.dumps(asdict(report), indent=2, sort_keys=True) + "\n")
    files = {name: _sha256(out / name) for name in (MANIFEST, UNLABELLED, REPORT)}
    atomic_write(out / MARKER, json.dumps({"source": str(src), "rows": len(rows), "files": files}, indent=2) + "\n")
    return report


def _where(f: Found) -> tuple[str, str, str]:
    return f.store, f.kiosk, f.record["placement_id"]


def _time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _updated(record: dict) -> datetime:
    """When a record was last changed, as a time (kiosks write different offsets: ``…+05:30`` and ``…Z`` compare
    as instants, not as text); an empty ``updated_at`` means never since ``placed_at``."""
    return _time(record["updated_at"] or record["placed_at"])


def _write_unlabelled(found: list[tuple[Found, str]], path: Path) -> None:
    """Placements without a usable label, for review: what the model said, what happened and why the placement is
    not in the manifest."""
    import csv

    from catalog.csv_io import formula_safe
    from kiosk.bundle_format.atomic import atomic_open

    columns = ["path", "store", "kiosk", "placement_id", "predicted", "chooser", "last_sku", "label", "time", "batch",
               "reason"]
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for f, why in found:
            r = f.record
            where = f.path.relative_to(path.parent).as_posix() if f.path else ""
            writer.writerow(formula_safe([where, f.store, f.kiosk, r["placement_id"], r["recognised_sku"] or "",
                                          r["chooser"], r.get("last_sku") or "", r["label"] or "", r["placed_at"],
                                          f.batch.rsplit("/", 1)[-1], why]))
