"""The kiosk's SKU catalog: a SQLite file read and written through sqlite-utils.

Barcodes are one GTIN however many leading zeros they are written with (``0012345678905`` = ``012345678905``): a
lookup finds either spelling and an update refuses to give one GTIN to two SKUs. Manual search bounds what it is
given (:data:`MAX_SEARCH_CHARS`, :data:`MAX_SEARCH_WORDS`) and never raises: odd input finds nothing.

A file is trusted no further than it is checked: :meth:`Catalog.open` opens only a catalog (its tables, columns and
keys, no view or trigger) and writes nothing to a file it only reads; every row read is checked with
:func:`~catalog.model.validate_sku` (the rules a CSV import enforces), and one that breaks a rule is never sold (left
out, or, :attr:`Catalog.strict`, an error naming its SKU and column).
"""

from __future__ import annotations

import logging
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from catalog.model import FieldError, Sku, gtin14, validate_sku
from catalog.schema import MIGRATIONS, Migration, check_columns, check_objects, current_version, migrate
from kiosk.errors import CatalogError

__all__ = ["Catalog", "Sku", "bad_rows_message", "db_error", "row_problem"]

_CHUNK = 500
MAX_SEARCH_CHARS = 100  # what a shopper can type on the kiosk's keyboard, with room to spare
MAX_SEARCH_WORDS = 8
MAX_SEARCH_RESULTS = 100
IMAGE_DIR = "images"  # where a catalog file keeps its photos (catalog.images copies them there)
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another program's write transaction before giving up
MAX_ROWS_SHOWN = 5  # bad rows named in one error message
MAX_VALUE_SHOWN = 40  # characters of a bad cell's repr in a message
log = logging.getLogger(__name__)


def _connect(path: Path, *, read_only: bool = False, **kw: object) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, **kw)
    return sqlite3.connect(str(path), **kw)


def db_error(where: object, exc: sqlite3.Error) -> CatalogError:
    """A SQLite error on the catalog ``where`` as one line saying what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return CatalogError(f"{where}: the catalog is being written by another program; try again (nothing was "
                            "written)")
    if "readonly" in text or "read-only" in text:
        return CatalogError(f"{where}: the catalog is read-only here (no write permission on the file or its "
                            f"folder): nothing was written ({text})")
    return CatalogError(f"{where}: not a usable catalog database ({text})")


def _prepare(db: Database, path: Path, *, create: bool, migrations: Sequence[tuple[str, Migration]],
             read_only: bool) -> None:
    """Check that ``db`` is a catalog (reads only), then migrate it (writes only when a migration is due)."""
    db.execute("PRAGMA foreign_keys = ON")
    version = current_version(db)
    if version == 0:
        names = [n for n in db.table_names() if n != "schema_version" and not n.startswith("sqlite_")]
        if not create or names:
            why = "schema_version is empty" if "schema_version" in db.table_names() else "no schema_version table"
            holds = f"; it holds {', '.join(names[:5])}" if names else ""
            raise CatalogError(f"{path}: not a catalog ({why}){holds}; nothing was written to it")
    check_objects(db, str(path))
    if read_only:
        if version <= len(migrations):
            check_columns(db, str(path))
        return
    if create or version < len(migrations):
        db.enable_wal()  # a writer: readers go on reading while it writes
    migrate(db, migrations)
    check_columns(db, str(path))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_SHOWN else f"{text[:MAX_VALUE_SHOWN]}…"


def row_problem(s: Sku, errs: Sequence[FieldError]) -> str:
    """A catalog row's broken rules as one line, in the file's column names and values."""
    cells = []
    for e in errs:
        column, value = {"group": ("group_name", e.value), "gst_percent": ("gst_bp", s.gst_bp)}.get(
            e.column, (e.column, e.value))
        cells.append(f"column {column} value {_shown(value)}: {e.reason}")
    return f"SKU {_shown(s.sku)}: {'; '.join(cells)}"


def bad_rows_message(where: object, problems: Sequence[str], *, lead: str = "") -> str:
    shown = " | ".join(problems[:MAX_ROWS_SHOWN])
    more = f" | and {len(problems) - MAX_ROWS_SHOWN} more" if len(problems) > MAX_ROWS_SHOWN else ""
    return (f"{where or 'catalog'}: {lead}{len(problems)} SKU row(s) break the catalog's rules and cannot be sold: "
            f"{shown}{more} (import a corrected CSV with `checkout catalog import`)")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog:
    """SKUs, their barcodes and PLUs. Open with :meth:`open`; use as a context manager to close."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        #: False (the kiosk): a row that breaks a catalog rule is left out of every lookup, logged once; True
        #: (``catalog show``, ``export``): reading it is a :class:`CatalogError` naming its SKU and column
        self.strict = False
        self._left_out: set[object] = set()
        db.conn.create_function("casefold", 1, lambda s: s.casefold() if isinstance(s, str) else s,
                                deterministic=True)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, migrations: Sequence[tuple[str, Migration]] = MIGRATIONS,
             shared: bool = False, read_only: bool = False) -> Catalog:
        """Open (or, with ``create``, create) the catalog file and bring its schema up to date.

        Only a catalog is opened: a file with a ``schema_version`` table (with ``create``, also a new or empty
        database), holding the tables and columns the code reads and no view or trigger (:func:`check_objects`,
        :func:`check_columns`); anything else is a :class:`CatalogError` and the file is left as it was. Reading
        writes nothing, so a read-only file can be read: the journal is switched to WAL only by a writer
        (``create``) or a due migration. ``shared``: one connection any thread may use (the kiosk serialises
        access). ``read_only``: a ``mode=ro`` connection and no migration (``checkout doctor``).
        """
        path = Path(path)
        if not create and not path.is_file():
            raise CatalogError(
                f"{path}: no catalog there (create one with `checkout catalog import FILE.csv --db {path}`)"
            )
        if not create and path.stat().st_size == 0:  # SQLite would take it for a new database and write a schema
            raise CatalogError(f"{path}: an empty file, not a catalog (a copy cut short? create one with `checkout "
                               f"catalog import FILE.csv --db {path}`)")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = _connect(path, read_only=read_only and not create, timeout=BUSY_TIMEOUT_S,
                            check_same_thread=not shared)
        except sqlite3.Error as exc:
            raise db_error(path, exc) from exc
        try:
            db = Database(conn)
            _prepare(db, path, create=create, migrations=migrations, read_only=read_only and not create)
        except sqlite3.Error as exc:
            conn.close()
            raise db_error(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return current_version(self.db)

    # -- reading -------------------------------------------------------------------------
    def _barcodes_for(self, skus: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s: [] for s in skus}
        for i in range(0, len(skus), _CHUNK):
            chunk = list(skus[i:i + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for code, sku in self.db.execute(
                f"SELECT barcode, sku FROM barcodes WHERE sku IN ({marks}) ORDER BY sku, position", chunk
            ):
                out[sku].append(code)
        return out

    def _rows(
        self, where: str = "1", params: Sequence = (), order: str = "sku", limit: int | None = None
    ) -> list[tuple[Sku, list[FieldError]]]:
        """Each row as a :class:`Sku` with the catalog rules it breaks (a file written around the table's
        constraints can hold any value in any column)."""
        sql = f"SELECT * FROM skus WHERE {where} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else "")
        rows = [dict(r) for r in self.db.query(sql, params)]
        codes = self._barcodes_for([r["sku"] for r in rows])
        out = []
        for r in rows:
            active = r["active"]
            s = Sku(sku=r["sku"], name=r["name"], group=r["group_name"], sold_by=r["sold_by"],
                    price_paise=r["price_paise"], gst_bp=r["gst_bp"], hsn=r["hsn"], plu=r["plu"],
                    barcodes=tuple(codes[r["sku"]]), unit_weight_min_g=r["unit_weight_min_g"],
                    unit_weight_max_g=r["unit_weight_max_g"],
                    active=bool(active) if type(active) is int and active in (0, 1) else active, image=r["image"])
            out.append((s, validate_sku(s)))
        return out

    def _select(
        self, where: str = "1", params: Sequence = (), order: str = "sku", limit: int | None = None
    ) -> list[Sku]:
        """The rows that keep every catalog rule; the others are left out (logged once each), or, when
        :attr:`strict`, a :class:`CatalogError` naming them."""
        good, bad = [], []
        for s, errs in self._rows(where, params, order, limit):
            if not errs:
                good.append(s)
                continue
            bad.append(row_problem(s, errs))
            if s.sku not in self._left_out and not self.strict:
                self._left_out.add(s.sku)
                log.warning("%s: %s; left out", self.path or "catalog", bad[-1])
        if bad and self.strict:
            raise CatalogError(bad_rows_message(self.path, bad))
        return good

    def bad_rows(self) -> list[str]:
        """One line per SKU row that breaks a catalog rule, naming its SKU and column(s): rows the kiosk does not
        sell (empty: every row is good). The caller reports them: lookups then leave them out without a warning."""
        bad = [(s, errs) for s, errs in self._rows() if errs]
        self._left_out.update(s.sku for s, _ in bad)
        return [row_problem(s, errs) for s, errs in bad]

    def find(self, sku: str) -> Sku | None:
        found = self._select("sku = ?", [sku])
        return found[0] if found else None

    def get(self, sku: str) -> Sku:
        """The SKU with this id; :class:`CatalogError` when there is none."""
        found = self.find(sku)
        if found is None:
            raise CatalogError(f"unknown SKU {sku!r}" + (f" in {self.path}" if self.path else ""))
        return found

    def by_plu(self, plu: str) -> Sku | None:
        found = self._select("plu = ?", [str(plu).strip()])
        return found[0] if found else None

    def by_barcode(self, code: str) -> Sku | None:
        """The SKU with this barcode, in whichever GTIN length it was written (8, 12, 13 or 14 digits)."""
        forms = gtin_spellings(str(code).strip())
        marks = ",".join("?" * len(forms))
        row = self.db.execute(f"SELECT sku FROM barcodes WHERE barcode IN ({marks}) ORDER BY barcode LIMIT 1",
                              forms).fetchone()
        return self.find(row[0]) if row else None

    def lookup(self, code: str) -> Sku | None:
        """A SKU by id, PLU or barcode (in that order): what a cashier might type."""
        code = code.strip()
        return self.find(code) or self.find(code.lower()) or self.by_plu(code) or self.by_barcode(code)

    def search(self, text: str, *, limit: int = 20, include_inactive: bool = False) -> list[Sku]:
        """Manual search on the kiosk: PLU prefix (digits) and name/group words (case-insensitive).

        Results: exact PLU, then PLU prefix matches, then exact barcode, then names starting
        with the text, then other name/group matches; each group sorted by name. The text is cut to
        :data:`MAX_SEARCH_CHARS` printable characters and :data:`MAX_SEARCH_WORDS` words; whatever it holds, the
        search returns a list (empty when it finds nothing or the database refuses the query).
        """
        text = search_text(text)
        limit = max(1, min(int(limit), MAX_SEARCH_RESULTS))
        if not text:
            return []
        try:
            return self._search(text, limit, include_inactive)
        except (sqlite3.Error, ValueError, OverflowError) as exc:  # a locked or odd database: no results, no crash
            log.warning("catalog search for %d characters failed: %s", len(text), exc)
            return []

    def _search(self, text: str, limit: int, include_inactive: bool) -> list[Sku]:
        active = "" if include_inactive else "active = 1 AND "
        results: dict[str, Sku] = {}

        def take(skus: Iterable[Sku]) -> None:
            for s in skus:
                if len(results) < limit:
                    results.setdefault(s.sku, s)

        if text.isascii() and text.isdigit():
            take(self._select(f"{active}plu = ?", [text]))
            take(self._select(f"{active}plu LIKE ? ESCAPE '\\'", [_like_escape(text) + "%"], order="plu", limit=limit))
            hit = self.by_barcode(text)
            if hit and (hit.active or include_inactive):
                take([hit])
        words = text.casefold().split()
        take(self._select(f"{active}casefold(name) LIKE ? ESCAPE '\\'", [_like_escape(text.casefold()) + "%"],
                          order="name COLLATE NOCASE", limit=limit))
        cond = " AND ".join("instr(casefold(name || ' ' || group_name || ' ' || sku), ?) > 0" for _ in words)
        take(self._select(f"{active}{cond}", words, order="name COLLATE NOCASE", limit=limit))
        return list(results.values())[:limit]

    def list_active(self) -> list[Sku]:
        return self._select("active = 1", order="name COLLATE NOCASE")

    def all(self) -> list[Sku]:
        return self._select()

    def __iter__(self) -> Iterator[Sku]:
        return iter(self.all())

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM skus").fetchone()[0]

    # -- writing -------------------------------------------------------------------------
    def upsert(self, sku: Sku, *, before_commit: Callable[[], None] | None = None) -> None:
        self.upsert_many([sku], before_commit=before_commit)

    def upsert_many(self, skus: Sequence[Sku], *, before_commit: Callable[[], None] | None = None) -> int:
        """Insert or replace these SKUs (and their barcode lists) in ONE transaction: all or nothing.

        Raises :class:`CatalogError` naming the SKU for an invalid record, or for a PLU or barcode
        that another SKU already uses; nothing is written then. ``before_commit()`` is called inside that
        transaction, last (the kiosk's audit row of a catalog row staff made): if it raises, nothing is written.
        """
        skus = list(skus)
        problems = []
        for s in skus:
            problems += [f"SKU {s.sku!r}: {e}" for e in validate_sku(s)]
        ids = [s.sku for s in skus]
        if len(set(ids)) != len(ids):
            problems.append("the same SKU id appears twice in one update")
        problems += self._stored_image_problems(skus) + self._gtin_conflicts(skus)
        if problems:
            raise CatalogError("; ".join(problems))
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        theirs = False
        try:
            with self.db.atomic():
                for i in range(0, len(ids), _CHUNK):  # free PLUs and barcodes first, so they can move between SKUs
                    chunk = ids[i:i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    self.db.execute(f"UPDATE skus SET plu = NULL WHERE sku IN ({marks})", chunk)
                    self.db.execute(f"DELETE FROM barcodes WHERE sku IN ({marks})", chunk)
                self.db["skus"].upsert_all(
                    [{"sku": s.sku, "name": s.name, "group_name": s.group, "sold_by": s.sold_by,
                      "price_paise": s.price_paise, "gst_bp": s.gst_bp, "hsn": s.hsn, "plu": s.plu,
                      "unit_weight_min_g": s.unit_weight_min_g, "unit_weight_max_g": s.unit_weight_max_g,
                      "active": int(s.active), "image": s.image, "updated_at": now} for s in skus],
                    pk="sku",
                )
                self.db["barcodes"].insert_all(
                    [
                        {"barcode": code, "sku": s.sku, "position": pos}
                        for s in skus
                        for pos, code in enumerate(s.barcodes)
                    ]
                )
                if before_commit is not None:
                    theirs = True  # an error from here on is the caller's (its own database's), not the catalog's
                    before_commit()
                    theirs = False
        except sqlite3.IntegrityError as exc:
            if theirs:
                raise
            raise CatalogError(f"catalog update refused, nothing written: {self._explain(skus, exc)}") from exc
        except sqlite3.DatabaseError as exc:  # another program's write lock, a read-only file: all rolled back
            if theirs:
                raise
            raise db_error(self.path or "catalog", exc) from exc
        return len(skus)

    def _stored_image_problems(self, skus: Sequence[Sku]) -> list[str]:
        """A catalog file keeps its photos in its own ``images/`` folder: a relative path must lead there."""
        if self.path is None:
            return []
        return [f"SKU {s.sku!r}: column image value {s.image!r}: a stored photo must be under {IMAGE_DIR}/ beside "
                f"the catalog (`checkout catalog import` copies it there)" for s in skus
                if s.image and not s.image.startswith("/") and not s.image.startswith(f"{IMAGE_DIR}/")]

    def _gtin_conflicts(self, skus: Sequence[Sku]) -> list[str]:
        """Barcodes this update gives to one SKU that another SKU holds, in any GTIN length (same GTIN-14)."""
        ids = {s.sku for s in skus}
        owner = {gtin14(code): (sku, code) for code, sku in self.db.execute("SELECT barcode, sku FROM barcodes")
                 if sku not in ids}
        problems = []
        for s in skus:
            for code in s.barcodes:
                other, written = owner.setdefault(gtin14(code), (s.sku, code))
                if other != s.sku:
                    same = f" (the same GTIN as {written})" if written != code else ""
                    problems.append(f"barcode {code} of {s.sku!r} already belongs to {other!r}{same}")
        return problems

    def _explain(self, skus: Sequence[Sku], exc: sqlite3.IntegrityError) -> str:
        """Name the PLU / barcode another SKU holds (after a rolled-back write)."""
        ids = {s.sku for s in skus}
        for s in skus:
            if s.plu:
                row = self.db.execute("SELECT sku FROM skus WHERE plu = ?", [s.plu]).fetchone()
                if row and row[0] not in ids:
                    return f"PLU {s.plu} of {s.sku!r} already belongs to {row[0]!r}"
            for code in s.barcodes:
                row = self.db.execute("SELECT sku FROM barcodes WHERE barcode = ?", [code]).fetchone()
                if row and row[0] not in ids:
                    return f"barcode {code} of {s.sku!r} already belongs to {row[0]!r}"
        return str(exc)

    def set_active(self, sku: str, active: bool) -> None:
        self.get(sku)
        try:
            with self.db.atomic():
                self.db.execute("UPDATE skus SET active = ?, updated_at = ? WHERE sku = ?",
                                [int(active), datetime.now(timezone.utc).isoformat(timespec="seconds"), sku])
        except sqlite3.DatabaseError as exc:
            raise db_error(self.path or "catalog", exc) from exc

    def owners(self) -> tuple[dict[str, str], dict[str, str]]:
        """``({plu: sku}, {barcode: sku})`` over the whole catalog (for conflict checks before an import)."""
        plus = {p: s for p, s in self.db.execute("SELECT plu, sku FROM skus WHERE plu IS NOT NULL")}
        codes = {c: s for c, s in self.db.execute("SELECT barcode, sku FROM barcodes")}
        return plus, codes


def gtin_spellings(code: str) -> list[str]:
    """Every length (8, 12, 13, 14 digits) in which this GTIN can be written: the same number with leading zeros."""
    if not (code.isascii() and code.isdigit()) or len(code) > 14:
        return [code]
    core = code.lstrip("0") or "0"
    return [code, *(core.zfill(n) for n in (8, 12, 13, 14) if len(core) <= n and core.zfill(n) != code)]


def search_text(text: object) -> str:
    """What search looks for: printable NFC text, at most :data:`MAX_SEARCH_CHARS` characters and
    :data:`MAX_SEARCH_WORDS` words (a lone surrogate, a control character or a 50,000-character word is cut)."""
    if not isinstance(text, str):
        return ""
    head = text[:4 * MAX_SEARCH_CHARS]
    text = "".join(ch if ch == " " or unicodedata.category(ch)[0] not in "CZ" else " " for ch in head)
    text = unicodedata.normalize("NFC", text)[:MAX_SEARCH_CHARS]
    return " ".join(text.split()[:MAX_SEARCH_WORDS])
