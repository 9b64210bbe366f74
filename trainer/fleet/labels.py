"""Head office's labels for what the stores could not label: ``DIR/labels.csv`` beside the ``DIR/unlabelled.csv`` of
``checkout feedback collect … --out DIR``.

One row per labelled placement (``store, kiosk, placement_id, path, sku, verdict, labelled_by, labelled_at``): a
catalog SKU (verdict ``sku``), or no SKU and verdict ``not-a-product`` (a hand, an empty tray, a bag). Labelling a
placement again replaces its row; :func:`set_labels` labels many at once, all or nothing. The file is written whole
and atomically under an ``flock`` on ``DIR/.labels.csv.lock``, so two head-office users labelling at once never lose
each other's row; every cell goes through :func:`catalog.csv_io.formula_safe`. A later collect into DIR takes the
labels up (a ``sku`` one as a staff-trusted row of ``feedback.csv``, source ``headoffice``; a ``not-a-product`` one
counted and left out) and never writes this file. No torch, no web framework: the dashboard's Label page and the
tests call it alike.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, shown
from kiosk.errors import DataError, UserError
from kiosk.exchange.fields import SKU_RE
from kiosk.inputfiles import MB, read_bounded

__all__ = ["COLUMNS", "LABELS", "Label", "catalog_names", "chooser_of", "locked", "read_labels", "read_unlabelled",
           "set_label", "set_labels", "unlabelled_index"]

LABELS, UNLABELLED = "labels.csv", "unlabelled.csv"
COLUMNS = ["store", "kiosk", "placement_id", "path", "sku", "verdict", "labelled_by", "labelled_at"]
SKU, NOT_A_PRODUCT = "sku", "not-a-product"
VERDICTS = (SKU, NOT_A_PRODUCT)
MAX_CSV = 256 * MB
_NOT_CHOOSER = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Label:
    store: str
    kiosk: str
    placement_id: str
    path: str
    sku: str
    verdict: str
    labelled_by: str
    labelled_at: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.store, self.kiosk, self.placement_id


def chooser_of(user: str) -> str:
    """The ``chooser`` a head-office label carries into ``feedback.csv``: ``staff:<user>`` (characters the exchange
    format's chooser does not allow become ``-``), ``staff`` for a name with none left."""
    name = _NOT_CHOOSER.sub("-", user).strip("-")[:64]
    return f"staff:{name}" if name else "staff"


def _csv_rows(path: Path, what: str) -> list[list[str]]:
    """Every row of the CSV file ``path`` (``what`` it should be, for the one-line error), formula cells restored."""
    from catalog.csv_io import restore_formula

    try:
        text = read_bounded(path, MAX_CSV, what, text=True, error=DataError).decode("utf-8")
        return [[restore_formula(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except UnicodeDecodeError:
        raise DataError(f"{shown(path)}: not UTF-8 text ({what})") from None
    except csv.Error as exc:
        raise DataError(f"{shown(path)}: not a CSV file ({what}): {exc}") from None


def read_labels(folder: str | Path) -> dict[tuple[str, str, str], Label]:
    """``folder/labels.csv`` by (store, kiosk, placement): ``{}`` when there is none; a damaged one is a
    :class:`DataError` naming the file and line."""
    path = Path(folder) / LABELS
    try:
        rows = _csv_rows(path, "head office's labels")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot read head office's labels ({exc.strerror or exc})") from None
    if not rows or rows[0] != COLUMNS:
        raise DataError(f"{shown(path)} line 1: the header is not {','.join(COLUMNS)}")
    labels = {}
    for line, row in enumerate(rows[1:], start=2):
        problem = _row_problem(row)
        if problem:
            raise DataError(f"{shown(path)} line {line}: {problem}")
        label = Label(*row)
        labels[label.key] = label
    return labels


def _row_problem(row: list[str]) -> str:
    """Why ``row`` is not a label ("": it is one)."""
    if len(row) != len(COLUMNS):
        return f"{len(row)} cells, {len(COLUMNS)} expected ({','.join(COLUMNS)})"
    label = Label(*row)
    if not all(label.key) or not label.labelled_by:
        return "store, kiosk, placement_id and labelled_by may not be empty"
    if label.verdict not in VERDICTS:
        return f"verdict {label.verdict[:40]!r} is not one of {', '.join(VERDICTS)}"
    if (label.verdict == SKU) != bool(SKU_RE.match(label.sku)) or (label.verdict == NOT_A_PRODUCT and label.sku):
        return f"sku {label.sku[:70]!r} does not fit verdict {label.verdict}"
    try:
        datetime.fromisoformat(label.labelled_at)
    except ValueError:
        return f"labelled_at {label.labelled_at[:40]!r} is not an ISO time"
    return ""


#: the columns of collect's unlabelled.csv that head office's tools read
NEEDED = ("path", "store", "kiosk", "placement_id")


def read_unlabelled(folder: str | Path) -> list[dict[str, str]]:
    """The rows of ``folder/unlabelled.csv`` (collect's placements for review) as dicts, formula cells restored; a
    :class:`DataError` naming the file (and line) when it is missing, not UTF-8 CSV, lacks collect's columns or holds
    a row of another length (damaged: no row is skipped without a word)."""
    path = Path(folder) / UNLABELLED
    try:
        rows = _csv_rows(path, "collect's placements for review")
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot read it ({exc.strerror or exc}); `checkout feedback collect SRC "
                        f"--out {shown(folder)}` writes it") from None
    if not rows or not set(NEEDED) <= set(rows[0]):
        raise DataError(f"{shown(path)} line 1: not the header `checkout feedback collect` writes (it has "
                        f"{', '.join(NEEDED)})")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise DataError(f"{shown(path)} line {line}: {len(row)} cells, the header has {len(rows[0])} (damaged)")
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def catalog_names(path: str | Path) -> dict[str, str]:
    """SKU id → product name of the catalog SQLite file at ``path`` (the names "" when only the ``skus`` table's ids
    can be read), as ``checkout feedback collect --catalog`` reads its SKUs."""
    from trainer.data.check import load_catalog_skus

    skus, how = load_catalog_skus(path)
    if how != "catalog.repository.Catalog":
        return dict.fromkeys(sorted(skus), "")
    from catalog.repository import Catalog

    with Catalog.open(path, create=False) as cat:
        return {s.sku: s.name for s in sorted(cat.all(), key=lambda s: s.sku)}


@contextmanager
def locked(folder: Path, name: str = LABELS):
    """Held while ``folder/name`` (labels.csv) is read and replaced: one writer at a time, across threads and
    processes."""
    import fcntl
    import os

    fd = os.open(folder / f".{name}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def set_label(folder: str | Path, store: str, kiosk: str, placement_id: str, *, sku: str = "", verdict: str = SKU,
              user: str, known: Collection[str] | None = None, now: datetime | None = None,
              rows: Mapping[tuple[str, str, str], dict[str, str]] | None = None) -> Label:
    """Record ``user``'s label of a placement of ``folder/unlabelled.csv`` in ``folder/labels.csv`` (replacing its
    earlier one): ``sku`` (a valid SKU id; one of ``known`` when given, the catalog's) or ``verdict``
    ``not-a-product``. Refused in one line (:class:`UserError`): a placement not for review there, a bad SKU.
    ``rows``: :func:`unlabelled_index` of the folder when the caller has it (else it is read)."""
    return set_labels(folder, [(store, kiosk, placement_id)], sku=sku, verdict=verdict, user=user, known=known,
                      now=now, rows=rows)[0]


def set_labels(folder: str | Path, keys: Iterable[tuple[str, str, str]], *, sku: str = "", verdict: str = SKU,
               user: str, known: Collection[str] | None = None, now: datetime | None = None,
               rows: Mapping[tuple[str, str, str], dict[str, str]] | None = None) -> list[Label]:
    """:func:`set_label` for each placement ``keys`` names (store, kiosk, placement_id), all or nothing: the label
    and every placement are checked first, and the first refused is a :class:`UserError` naming it with nothing
    written; then labels.csv is read and replaced once. With ``known``, the new products of
    ``folder/new-products.csv`` (:mod:`trainer.fleet.new_products`) are known too."""
    from trainer.fleet.new_products import read_new_products

    folder = Path(folder)
    known = None if known is None else {*known, *read_new_products(folder)}
    keys = list(dict.fromkeys(keys))
    sku = sku.strip() if verdict == SKU else ""
    index = unlabelled_index(folder) if rows is None else rows
    found = [_check(folder, key, sku, verdict, known, index) for key in keys]
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    made = [Label(*key, row["path"], sku, verdict, user, when) for key, row in zip(keys, found)]
    if made:
        with locked(folder):
            labels = read_labels(folder)
            labels.update((label.key, label) for label in made)
            _write(folder / LABELS, labels)
    return made


def unlabelled_index(folder: str | Path) -> dict[tuple[str, str, str], dict[str, str]]:
    """The rows of ``folder/unlabelled.csv`` by (store, kiosk, placement_id) (the first of a placement listed twice)."""
    index: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in read_unlabelled(folder):
        index.setdefault((row["store"], row["kiosk"], row["placement_id"]), row)
    return index


def _check(folder: Path, key: tuple[str, str, str], sku: str, verdict: str, known: Collection[str] | None,
           rows: Mapping[tuple[str, str, str], dict[str, str]]) -> dict[str, str]:
    """The unlabelled.csv row of placement ``key``, once the label ``sku``/``verdict`` is found fit for it."""
    where = "/".join(key)
    if verdict not in VERDICTS:
        raise UserError(f"verdict {verdict[:40]!r}: one of {', '.join(VERDICTS)}")
    row = rows.get(key)
    if row is None:
        raise UserError(f"placement {shown(where)[:200]} is not for review in {shown(folder / UNLABELLED)}")
    if verdict == SKU:
        if not sku:
            raise UserError(f"placement {shown(where)}: enter a SKU, or say it is not a product")
        if not SKU_RE.match(sku):
            raise UserError(f"SKU {sku[:70]!r} is not a SKU id (lower-case letters, digits, . _ -; up to 64)")
        if known is not None and sku not in known:
            raise UserError(f"SKU {sku} is not in the catalog: add it there first (`checkout catalog import`)")
        if not row["path"]:
            raise UserError(f"placement {shown(where)}: no crop was kept, nothing to train on; it can only be marked "
                            "not a product")
    return row


def _write(path: Path, labels: dict[tuple[str, str, str], Label]) -> None:
    from catalog.csv_io import formula_safe

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for key in sorted(labels):
        writer.writerow(formula_safe(astuple(labels[key])))
    try:
        atomic_write(path, buf.getvalue())
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot write head office's labels ({exc.strerror or exc})") from None
