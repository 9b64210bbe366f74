"""The kiosk's SKU catalog: a SQLite file read and written through sqlite-utils.

Barcodes are one GTIN however many leading zeros they are written with (``0012345678905`` = ``012345678905``): a
lookup finds either spelling and an update refuses to give one GTIN to two SKUs. Manual search bounds what it is
given (:data:`MAX_SEARCH_CHARS`, :data:`MAX_SEARCH_WORDS`) and never raises: odd input finds nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from catalog.model import Sku, gtin14, validate_sku
from catalog.schema import MIGRATIONS, Migration, current_version, migrate
from kiosk.errors import CatalogError

__all__ = ["Catalog", "Sku"]

_CHUNK = 500
MAX_SEARCH_CHARS = 100  # what a shopper can type on the kiosk's keyboard, with room to spare
MAX_SEARCH_WORDS = 8
MAX_SEARCH_RESULTS = 100
IMAGE_DIR = "images"  # where a catalog file keeps its photos (catalog.images copies them there)
log = logging.getLogger(__name__)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog:
    """SKUs, their barcodes and PLUs. Open with :meth:`open`; use as a context manager to close."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        db.conn.create_function("casefold", 1, lambda s: s.casefold() if isinstance(s, str) else s,
                                deterministic=True)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True,
             migrations: Sequence[tuple[str, Migration]] = MIGRATIONS) -> Catalog:
        """Open (or create) the catalog file and bring its schema up to date."""
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
            db = Database(path)
            db.execute("PRAGMA foreign_keys = ON")
            db.enable_wal()
            migrate(db, migrations)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{path}: not a usable catalog database ({exc})") from exc
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

    def _select(
        self, where: str = "1", params: Sequence = (), order: str = "sku", limit: int | None = None
    ) -> list[Sku]:
        sql = f"SELECT * FROM skus WHERE {where} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else "")
        rows = [dict(r) for r in self.db.query(sql, params)]
        codes = self._barcodes_for([r["sku"] for r in rows])
        return [
            Sku(sku=r["sku"], name=r["name"], group=r["group_name"], sold_by=r["sold_by"], price_paise=r["price_paise"],
                gst_bp=r["gst_bp"], hsn=r["hsn"], plu=r["plu"], barcodes=tuple(codes[r["sku"]]),
                unit_weight_min_g=r["unit_weight_min_g"], unit_weight_max_g=r["unit_weight_max_g"],
                active=bool(r["active"]), image=r["image"])
            for r in rows
        ]

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
    def upsert(self, sku: Sku) -> None:
        self.upsert_many([sku])

    def upsert_many(self, skus: Sequence[Sku]) -> int:
        """Insert or replace these SKUs (and their barcode lists) in ONE transaction: all or nothing.

        Raises :class:`CatalogError` naming the SKU for an invalid record, or for a PLU or barcode
        that another SKU already uses; nothing is written then.
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
        except sqlite3.IntegrityError as exc:
            raise CatalogError(f"catalog update refused, nothing written: {self._explain(skus, exc)}") from exc
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
        with self.db.atomic():
            self.db.execute("UPDATE skus SET active = ?, updated_at = ? WHERE sku = ?",
                            [int(active), datetime.now(timezone.utc).isoformat(timespec="seconds"), sku])

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
