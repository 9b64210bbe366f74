"""The kiosk's own SQLite file: the open cart, closed sales with their receipts, staff corrections.

Durability contract (what the UI relies on):

* WAL journal with ``synchronous=FULL``: a method that changes data returns only after its
  transaction is committed and the WAL is fsynced. The UI shows a line only after
  :meth:`SalesStore.add_unit` / :meth:`SalesStore.add_weighed` returned it.
* After a crash or power cut, :meth:`SalesStore.open_cart` gives back exactly the committed
  lines, in order. An add that was interrupted is either fully there or not at all.
* :meth:`SalesStore.pay` closes a cart once: in ONE transaction it takes the next receipt
  number from a monotonic counter, builds the receipt from the stored lines, stores its text
  and JSON and marks the cart closed. The ``sales.cart_id`` column is UNIQUE and ``pay`` first
  looks for an existing sale, so a second call, or a retry after a crash, returns the same sale
  and never creates a second one.

Every add / remove / void is also written to ``line_events`` (an audit log that removal does
not erase). Staff corrections of the recogniser go to ``corrections``, which the trainer reads
with :func:`read_corrections`.

Card payments go through payment intents (:mod:`kiosk.store.payments`: the idempotency key is committed before
the terminal is asked, the approval the moment it returns, and the sale from the approved intent); while one is
in progress the cart cannot change. Receipts are recorded when shown and when reprinted
(:mod:`kiosk.store.receipts`); wrong staff PINs are counted per staff id (:mod:`kiosk.store.pin_lockout`).
Each placement's feedback record (photo, top-k, who chose what, the label's trust) is kept in ``feedback``
(:mod:`kiosk.store.feedback`), brought up to date in the same transaction as the line it becomes or leaves.
A line a staff correction or price override added names the line it ``replaces`` and is listed in its place.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from kiosk.domain.cart import Cart, CartError, CartLine, new_line_id
from kiosk.domain.pricing import SoldBy
from kiosk.domain.receipt import Receipt, StoreInfo
from kiosk.domain.store_time import in_zone
from kiosk.errors import UserError
from kiosk.sqlite_readonly import connect_readonly as _connect_readonly
from kiosk.store.audit import AuditMixin, NewKey, migrate_audit
from kiosk.store.feedback import FeedbackMixin, migrate_feedback
from kiosk.store.payments import PaymentsMixin, migrate_payments_and_receipts
from kiosk.store.pin_lockout import PinLockoutMixin, migrate_pin_lockout
from kiosk.store.receipts import ReceiptsMixin
from kiosk.store.staff import (
    StaffAccountsMixin,
    migrate_staff_accounts,
    migrate_staff_name_key,
    migrate_staff_seal,
)

__all__ = ["SalesStore", "Sale", "AuditRow", "Correction", "LineProvenance", "StoreError", "read_corrections",
           "SCHEMA_VERSION", "READ_ONLY_FIX", "connect_readonly", "read_only_reason", "unusable"]


#: ``(kind, actor, detail)``: an audit row a line change writes in its own transaction (a staff action's row, with who
#: approved it): the change and the row that says who made it and why commit together or not at all
AuditRow = tuple[str, str, dict[str, Any]]


class StoreError(UserError, RuntimeError):
    """The sales file cannot be used as asked (unknown cart, newer schema, not a database)."""


def _now() -> datetime:
    return datetime.now().astimezone()


def _zone_stated(tz: tzinfo | None) -> dict[str, str]:
    """``{"zone": name}`` for a sale's audit row when the store's zone has an IANA name: head office dates this
    kiosk's rows in the zone its newest sale states, as the kiosk dates them in its zone now
    (:mod:`trainer.headoffice.takings`); none without one (each row's own offset is its day there)."""
    name = getattr(tz, "key", None)
    return {"zone": name} if isinstance(name, str) and name else {}


def _zoned(clock: Callable[[], datetime], tz: tzinfo | None) -> Callable[[], datetime]:
    """``clock`` read in the store's zone ``tz`` (None: as it reads)."""
    if tz is None:
        return clock

    def store_clock() -> datetime:
        t = clock()
        if t.tzinfo is None:
            raise StoreError("the store's clock must return timezone-aware datetimes")
        return t.astimezone(tz)

    return store_clock


# -- schema: one function per migration, tracked in PRAGMA user_version ----------------------
def _001_initial(c: sqlite3.Connection) -> None:
    c.execute("""
        CREATE TABLE carts (
            cart_id TEXT PRIMARY KEY NOT NULL,
            opened_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
            closed_at TEXT
        )""")
    # at most one open cart per kiosk
    c.execute("CREATE UNIQUE INDEX carts_one_open ON carts(status) WHERE status = 'open'")
    c.execute("""
        CREATE TABLE cart_lines (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            line_id TEXT NOT NULL UNIQUE,
            cart_id TEXT NOT NULL REFERENCES carts(cart_id),
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            sold_by TEXT NOT NULL CHECK (sold_by IN ('unit', 'weight')),
            unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
            gst_bp INTEGER NOT NULL,
            qty INTEGER CHECK (qty IS NULL OR qty > 0),
            net_grams INTEGER CHECK (net_grams IS NULL OR net_grams > 0),
            total INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            voided_at TEXT,
            voided_by TEXT,
            CHECK ((sold_by = 'unit' AND qty IS NOT NULL AND net_grams IS NULL)
                OR (sold_by = 'weight' AND net_grams IS NOT NULL AND qty IS NULL))
        )""")
    c.execute("CREATE INDEX cart_lines_cart ON cart_lines(cart_id, seq)")
    c.execute("""
        CREATE TABLE line_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            cart_id TEXT NOT NULL,
            line_id TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('add', 'remove', 'void')),
            at TEXT NOT NULL,
            by TEXT NOT NULL DEFAULT '',
            line_json TEXT NOT NULL
        )""")
    c.execute("CREATE TABLE receipt_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_no INTEGER NOT NULL)")
    c.execute("INSERT INTO receipt_counter (id, last_no) VALUES (1, 0)")
    c.execute("""
        CREATE TABLE sales (
            receipt_seq INTEGER PRIMARY KEY,
            receipt_no TEXT NOT NULL UNIQUE,
            cart_id TEXT NOT NULL UNIQUE REFERENCES carts(cart_id),
            closed_at TEXT NOT NULL,
            gross INTEGER NOT NULL,
            round_off INTEGER NOT NULL,
            total INTEGER NOT NULL,
            payment_method TEXT NOT NULL,
            payment_ref TEXT NOT NULL DEFAULT '',
            receipt_text TEXT NOT NULL,
            receipt_json TEXT NOT NULL
        )""")
    c.execute("""
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            recognised_sku TEXT,
            corrected_sku TEXT NOT NULL,
            image_path TEXT NOT NULL DEFAULT '',
            who TEXT NOT NULL,
            at TEXT NOT NULL,
            cart_id TEXT,
            line_id TEXT
        )""")


def _002_line_provenance(c: sqlite3.Connection) -> None:
    # where a line came from, written in the same transaction as the line (no side file to lose)
    c.execute("""
        CREATE TABLE line_provenance (
            line_id TEXT PRIMARY KEY NOT NULL,
            placement_id TEXT,
            image_path TEXT NOT NULL DEFAULT '',
            recognised_sku TEXT,
            top_k TEXT NOT NULL DEFAULT '[]',
            model_version INTEGER,
            scale_grams INTEGER,
            chooser TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        )""")


def _003_payments_and_receipts(c: sqlite3.Connection) -> None:
    migrate_payments_and_receipts(c)


def _004_staff_pin_lockout(c: sqlite3.Connection) -> None:
    migrate_pin_lockout(c)


def _005_feedback(c: sqlite3.Connection) -> None:
    migrate_feedback(c)


def _006_audit(c: sqlite3.Connection) -> None:
    # staff accounts, and the tamper-evident audit log (kiosk.store.audit)
    migrate_staff_accounts(c)
    migrate_audit(c)


def _007_line_replaces(c: sqlite3.Connection) -> None:
    # a staff correction / price override: the line it stands in for (listed in that line's place)
    c.execute("ALTER TABLE cart_lines ADD COLUMN replaces TEXT")


def _008_staff_seal(c: sqlite3.Connection) -> None:
    # each staff account row's MAC under the audit key (sealed at the first open with the key: kiosk.store.staff)
    migrate_staff_seal(c)



def _009_staff_name_key(c: sqlite3.Connection) -> None:
    # staff names compared as a reader sees them (NFKC, case-folded, invisibles dropped), unique
    # (kiosk.domain.staff_names)
    migrate_staff_name_key(c)


def _010_line_weighing(c: sqlite3.Connection) -> None:
    # how a weighed line was weighed: the scale's gross and the tare chosen then (a bag, a container), so a staff
    # correction to another SKU nets the same load with that SKU's forced tare (kiosk.services.cart_lines.weighed_line)
    have = {r[1] for r in c.execute("PRAGMA table_info(cart_lines)")}  # a file set back to an older version keeps them
    if "gross_grams" not in have:
        c.execute("ALTER TABLE cart_lines ADD COLUMN gross_grams INTEGER"
                  " CHECK (gross_grams IS NULL OR gross_grams > 0)")
    if "chosen_tare_grams" not in have:
        c.execute("ALTER TABLE cart_lines ADD COLUMN chosen_tare_grams INTEGER"
                  " CHECK (chosen_tare_grams IS NULL OR chosen_tare_grams >= 0)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_001_initial, _002_line_provenance,
                                                                _003_payments_and_receipts, _004_staff_pin_lockout,
                                                                _005_feedback, _006_audit, _007_line_replaces,
                                                                _008_staff_seal, _009_staff_name_key,
                                                                _010_line_weighing)
SCHEMA_VERSION = len(MIGRATIONS)


READ_ONLY_FIX = ("the kiosk writes every sale there: mount it read-write, or let the kiosk's user write the file and "
                 "its folder (do not move a good database aside)")


def read_only_reason(path: Path) -> str:
    """Why the sales database at ``path`` cannot be written here ("" when it can, or when that cannot be told): a
    read-only mount, or the file's or its folder's mode."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    except OSError:  # no folder yet (a new store) or none to look at: the open says what is wrong
        return ""
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is read-only"
    return ""


def unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    """The one line for a sales database SQLite refused: read-only, busy, or not usable (only the last suggests a
    damaged or foreign file)."""
    name, text = getattr(exc, "sqlite_errorname", "") or "", str(exc)
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in text or "unable to open" in text:
        why = read_only_reason(path) or ("SQLite can only read it" if "readonly" in text else "")
        if why:
            return StoreError(f"{path}: read-only ({why}): {READ_ONLY_FIX}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return StoreError(f"{path}: the sales database is busy: another program holds it ({text}); try again")
    return StoreError(f"{path}: not a usable sales database ({text})")


def _switch_to_wal(conn: sqlite3.Connection, wait_s: float = 10.0) -> str:
    """``PRAGMA journal_mode = WAL``, waiting for another process that holds a new file (two tills' first start): SQLite
    answers "locked" there at once, without its busy timeout."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    mode = _switch_to_wal(conn)
    if mode.lower() != "wal":
        raise StoreError(f"{path}: cannot switch to WAL journal (got {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect_readonly(path: Path, *, timeout: float = 10.0) -> sqlite3.Connection:
    """``path`` opened read-only (nothing is written); immutable on a read-only mount (:mod:`kiosk.sqlite_readonly`)."""
    return _connect_readonly(path, lambda p: bool(read_only_reason(p)), timeout=timeout)


def _check_version(have: int, path: Path, *, readonly: bool = False) -> None:
    if have > SCHEMA_VERSION:
        raise StoreError(f"{path}: sales schema version {have} is newer than this program ({SCHEMA_VERSION})")
    if readonly and have < SCHEMA_VERSION:
        raise StoreError(f"{path}: sales schema version {have} is older than this program ({SCHEMA_VERSION}); the "
                         f"kiosk brings it up to date when it next starts (a command that only reads changes nothing)")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date, one migration per transaction. The version is read again inside each
    transaction: another process (a second till command, the kiosk's first start) may have migrated meanwhile."""
    while True:
        have = conn.execute("PRAGMA user_version").fetchone()[0]
        _check_version(have, path)
        if have == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] == have:
                MIGRATIONS[have](conn)
                conn.execute(f"PRAGMA user_version = {have + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _open_for_writing(path: Path) -> sqlite3.Connection:
    why = read_only_reason(path)
    if why:
        raise StoreError(f"{path}: read-only ({why}): {READ_ONLY_FIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path)
        try:
            _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise unusable(path, exc) from exc
    return conn


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"{path}: no sales database there")
    try:
        conn = connect_readonly(path)
        try:
            _check_version(conn.execute("PRAGMA user_version").fetchone()[0], path, readonly=True)
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise unusable(path, exc) from exc
    conn.row_factory = sqlite3.Row
    return conn


@dataclass(frozen=True, slots=True)
class Sale:
    """A closed sale: receipt number (monotonic ``receipt_seq``), totals and the stored receipt."""

    receipt_seq: int
    receipt_no: str
    cart_id: str
    closed_at: datetime
    gross: int
    round_off: int
    total: int
    payment_method: str
    payment_ref: str
    receipt_text: str
    receipt_json: str

    def receipt(self) -> Receipt:
        return Receipt.from_json(self.receipt_json)

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> Sale:
        return cls(r["receipt_seq"], r["receipt_no"], r["cart_id"], datetime.fromisoformat(r["closed_at"]),
                   r["gross"], r["round_off"], r["total"], r["payment_method"], r["payment_ref"],
                   r["receipt_text"], r["receipt_json"])


@dataclass(frozen=True, slots=True)
class LineProvenance:
    """Where a cart line came from: the placement photo, what the recogniser said (``top_k``: ``(sku, score)``
    pairs, best first), the model version, the scale's grams at that moment and who chose the SKU
    (``auto``, ``shopper``, ``search``, ``staff`` …). Stored with the line, in the line's transaction.
    ``shown``: the suggestions as the screen showed them (which one a shopper tapped goes to the feedback record)."""

    placement_id: str | None = None
    image_path: str = ""
    recognised_sku: str | None = None
    top_k: tuple[tuple[str, float], ...] = ()
    model_version: int | None = None
    scale_grams: int | None = None
    chooser: str = ""
    shown: tuple[str, ...] = ()

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> LineProvenance:
        top_k = tuple((str(sku), float(score)) for sku, score in json.loads(r["top_k"] or "[]"))
        return cls(r["placement_id"], r["image_path"], r["recognised_sku"], top_k, r["model_version"],
                   r["scale_grams"], r["chooser"])


@dataclass(frozen=True, slots=True)
class Correction:
    """Staff said the item the recogniser called ``recognised_sku`` is really ``corrected_sku``."""

    id: int
    recognised_sku: str | None
    corrected_sku: str
    image_path: str
    who: str
    at: datetime
    cart_id: str | None = None
    line_id: str | None = None

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> Correction:
        return cls(r["id"], r["recognised_sku"], r["corrected_sku"], r["image_path"], r["who"],
                   datetime.fromisoformat(r["at"]), r["cart_id"], r["line_id"])


def _line_from_row(r: sqlite3.Row) -> CartLine:
    return CartLine(line_id=r["line_id"], sku=r["sku"], name=r["name"], sold_by=SoldBy(r["sold_by"]),
                    unit_price=r["unit_price"], gst_bp=r["gst_bp"], qty=r["qty"], net_grams=r["net_grams"],
                    voided=r["voided_at"] is not None, replaces=r["replaces"])


class SalesStore(PaymentsMixin, ReceiptsMixin, PinLockoutMixin, FeedbackMixin, AuditMixin,
                 StaffAccountsMixin):
    """Open with :meth:`open`; every public method that writes commits before it returns.

    Every time it writes is on the store's clock: ``clock`` read in the store's time zone, ``tz`` or else
    ``store_info.timezone`` (the kiosk's ``store_timezone``); with neither, as the clock reads (the default clock:
    the process's local zone). Days (:meth:`receipts_on`, :meth:`takings`) are calendar days in :attr:`zone`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, kiosk_id: str = "K1",
                 store_info: StoreInfo | None = None, clock: Callable[[], datetime] = _now,
                 audit_key: str | Path | None = None, new_key: NewKey = "rekey", tz: tzinfo | None = None) -> None:
        self._conn = conn
        self.path = path
        self.kiosk_id = kiosk_id
        self.store_info = store_info or StoreInfo(kiosk_id=kiosk_id)
        self._raw_clock = clock
        self._clock_zone: tzinfo | None = None
        self.use_zone(tz if tz is not None else self.store_info.timezone)
        self._lock = threading.RLock()
        self._init_audit(audit_key, new_key)  # the audit log's key file (beside the store unless named)
        if self._audit_key:
            self._seal_staff_accounts()  # rows from before seals, when they are what the audit log says

    @classmethod
    def open(cls, path: str | Path, *, kiosk_id: str = "K1", store_info: StoreInfo | None = None,
             clock: Callable[[], datetime] = _now, audit_key: str | Path | None = None, readonly: bool = False,
             new_key: NewKey = "rekey", tz: tzinfo | None = None) -> SalesStore:
        """Open (and make or migrate) the sales database at ``path``. ``readonly``: an existing database as it is,
        nothing written, no audit key read or made (a newer or older schema is refused). ``new_key`` says what to
        do when the audit key file is not there (:meth:`AuditMixin._init_audit`): the kiosk's ``"rekey"``, or
        ``"if-log-empty"`` / ``"no"`` for tools that must not re-key a kiosk's log. ``tz``: the store's time zone
        (else ``store_info``'s)."""
        path = Path(path)
        conn = _open_readonly(path) if readonly else _open_for_writing(path)
        try:
            return cls(conn, path, kiosk_id=kiosk_id, store_info=store_info, clock=clock, audit_key=audit_key,
                       new_key="none" if readonly else new_key, tz=tz)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SalesStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def use_zone(self, tz: tzinfo | None) -> None:
        """Write and count days in the time zone ``tz`` from now on (None: as the clock reads)."""
        self.tz = tz
        self._clock = _zoned(self._raw_clock, tz)

    @property
    def zone(self) -> tzinfo | None:
        """The time zone whose calendar days the reports count: :attr:`tz`; else the zone of a clock given to the
        store (tests); else None, the process's local zone (the default clock's)."""
        if self.tz is not None or self._raw_clock is _now:
            return self.tz
        if self._clock_zone is None:
            self._clock_zone = self._raw_clock().tzinfo
        return self._clock_zone

    def _time(self) -> str:
        t = self._clock()
        if t.tzinfo is None:
            raise StoreError("the store's clock must return timezone-aware datetimes")
        return t.isoformat()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._witness_due = None
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._audit_committed()  # then the audit log's witness, outside the file (kiosk.store.audit_witness)

    # -- carts ---------------------------------------------------------------------------
    def _open_cart_id(self, c: sqlite3.Connection, *, create: bool) -> str | None:
        row = c.execute("SELECT cart_id FROM carts WHERE status = 'open'").fetchone()
        if row:
            return row[0]
        if not create:
            return None
        cart_id = new_line_id()
        c.execute("INSERT INTO carts (cart_id, opened_at, status) VALUES (?, ?, 'open')", (cart_id, self._time()))
        return cart_id

    def _load_cart(self, c: sqlite3.Connection, cart_id: str) -> Cart:
        row = c.execute("SELECT status FROM carts WHERE cart_id = ?", (cart_id,)).fetchone()
        if row is None:
            raise StoreError(f"no cart {cart_id!r} in {self.path}")
        lines = [_line_from_row(r) for r in c.execute(
            "SELECT * FROM cart_lines WHERE cart_id = ? ORDER BY seq", (cart_id,))]
        return Cart(cart_id, lines, closed=row["status"] == "closed")

    def open_cart(self) -> Cart:
        """The open cart as committed (creating an empty one when there is none)."""
        with self._lock:
            cart_id = self._open_cart_id(self._conn, create=False)
            if cart_id is None:
                with self._tx() as c:
                    cart_id = self._open_cart_id(c, create=True)
            return self._load_cart(self._conn, cart_id)

    def cart(self, cart_id: str) -> Cart:
        """Any cart, open or closed, as stored."""
        with self._lock:
            return self._load_cart(self._conn, cart_id)

    # -- lines ---------------------------------------------------------------------------
    def add_line(self, line: CartLine, provenance: LineProvenance | None = None, *, by: str = "",
                 weighed: tuple[int, int] | None = None, removes: str | None = None,
                 audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """Append a prepared line to the open cart; returns once committed.

        ``provenance`` (where the line came from) is committed in the same transaction as the line; so is
        ``weighed``, a weighed line's ``(gross grams, chosen tare grams)`` (:meth:`weighing_of`), and the removal
        of line ``removes`` (the shopper chose another item for the same placement: never both, never neither),
        and ``audit_with``, the rows of the action that put it there (staff let a held item on: ``by`` them).
        Retrying with the same ``line_id`` (after a crash, say) is harmless: if that line is
        already stored with the same content it is returned, never added twice.
        """
        if line.voided:
            raise CartError("cannot add a voided line")
        with self._tx() as c:
            existing = c.execute("SELECT * FROM cart_lines WHERE line_id = ?", (line.line_id,)).fetchone()
            if existing is not None:
                stored = _line_from_row(existing)
                if stored != line:
                    raise CartError(f"line id {line.line_id!r} is already used for a different line")
                return stored
            cart_id = self._open_cart_id(c, create=True)
            self._refuse_during_payment(c, cart_id)
            if removes is not None:
                self._remove_in(c, removes, by or "shopper")
            self._insert_line(c, cart_id, line, provenance, by, weighed)
            self._audit_rows_in(c, audit_with)
        return line

    def _insert_line(self, c: sqlite3.Connection, cart_id: str, line: CartLine, provenance: LineProvenance | None,
                     by: str, weighed: tuple[int, int] | None) -> None:
        """Inside a write transaction: ``line`` appended to ``cart_id``, its event, provenance and feedback."""
        now = self._time()
        gross, chosen = weighed if weighed is not None and line.net_grams is not None else (None, None)
        c.execute(
            "INSERT INTO cart_lines (line_id, cart_id, sku, name, sold_by, unit_price, gst_bp, qty, net_grams,"
            " total, added_at, replaces, gross_grams, chosen_tare_grams) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            (line.line_id, cart_id, line.sku, line.name, line.sold_by.value, line.unit_price, line.gst_bp,
             line.qty, line.net_grams, line.total, now, line.replaces, gross, chosen),
        )
        self._event(c, cart_id, line, "add", now, by)
        if provenance is not None:
            self._put_provenance(c, line.line_id, provenance, now)
            self._feedback_line(c, line, provenance, cart_id, now)

    def weighing_of(self, line_id: str) -> tuple[int, int] | None:
        """A weighed line's ``(gross grams, chosen tare grams)`` as weighed (``None``: not stored, e.g. a unit line,
        a scanned label's weight, or a line from before they were kept)."""
        with self._lock:
            row = self._conn.execute("SELECT gross_grams, chosen_tare_grams FROM cart_lines WHERE line_id = ?",
                                     (line_id,)).fetchone()
        if row is None or row[0] is None or row[1] is None:
            return None
        return int(row[0]), int(row[1])

    def replace_line(self, line_id: str, new: CartLine, provenance: LineProvenance | None = None, *, by: str,
                     weighed: tuple[int, int] | None = None, correction: dict | None = None,
                     audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """Staff: ``new`` (its ``replaces`` set to ``line_id``) takes the place of ``line_id``, which is voided — in
        ONE transaction with both line events, their audit rows, ``correction`` (the keyword arguments of
        :meth:`record_correction`, when this is a correction) and ``audit_with``: after a crash or an error the bill
        holds the old line or the new one, never both and never neither, and never one without its rows."""
        new = replace(new, replaces=line_id)
        if new.voided:
            raise CartError("cannot add a voided line")
        with self._tx() as c:
            cart_id, _row = self._open_line(c, line_id)
            if c.execute("SELECT 1 FROM cart_lines WHERE line_id = ?", (new.line_id,)).fetchone() is not None:
                raise CartError(f"line id {new.line_id!r} is already used")
            self._insert_line(c, cart_id, new, provenance, by, weighed)
            self._void_in(c, line_id, by)
            if correction is not None:
                self._put_correction(c, who=by, cart_id=cart_id, line_id=line_id, **correction)
            self._audit_rows_in(c, audit_with)
        return new

    def _audit_rows_in(self, c: sqlite3.Connection, rows: Sequence[AuditRow]) -> None:
        """Inside a write transaction: ``rows`` (what the caller says about the change it makes there)."""
        for kind, actor, detail in rows:
            self._audit(c, kind, actor, dict(detail))

    @staticmethod
    def _put_provenance(c: sqlite3.Connection, line_id: str, p: LineProvenance, at: str) -> None:
        c.execute(
            "INSERT OR REPLACE INTO line_provenance (line_id, placement_id, image_path, recognised_sku, top_k,"
            " model_version, scale_grams, chooser, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (line_id, p.placement_id, str(p.image_path or ""), p.recognised_sku,
             json.dumps([[sku, round(float(score), 6)] for sku, score in p.top_k]), p.model_version,
             p.scale_grams, p.chooser, at))

    def provenance(self, line_id: str) -> LineProvenance | None:
        """Where line ``line_id`` came from (``None``: a line added without one, e.g. by an older version)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM line_provenance WHERE line_id = ?", (line_id,)).fetchone()
        return LineProvenance._from_row(row) if row else None

    def restore_provenance(self, entries: dict[str, LineProvenance]) -> int:
        """Store provenance for lines that have none yet (an upgrade from the JSONL side file); returns how many."""
        added = 0
        with self._tx() as c:
            for line_id, p in entries.items():
                if c.execute("SELECT 1 FROM line_provenance WHERE line_id = ?", (line_id,)).fetchone() is None:
                    self._put_provenance(c, line_id, p, self._time())
                    added += 1
        return added

    def add_unit(self, sku: str, name: str, unit_price: int, gst_bp: int, qty: int = 1) -> CartLine:
        return self.add_line(CartLine.unit(sku, name, unit_price, gst_bp, qty))

    def add_weighed(self, sku: str, name: str, price_per_kg: int, gst_bp: int, net_grams: int) -> CartLine:
        return self.add_line(CartLine.weighed(sku, name, price_per_kg, gst_bp, net_grams))

    def _open_line(self, c: sqlite3.Connection, line_id: str) -> tuple[str, sqlite3.Row]:
        row = c.execute(
            "SELECT l.*, k.status FROM cart_lines l JOIN carts k USING (cart_id) WHERE l.line_id = ?", (line_id,)
        ).fetchone()
        if row is None:
            raise CartError(f"no line {line_id!r} in the open cart")
        if row["status"] != "open":
            raise CartError(f"line {line_id!r} belongs to a closed sale")
        return row["cart_id"], row

    def remove_line(self, line_id: str, *, by: str = "", audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """Take a line out of the open cart (the audit log keeps it), with ``audit_with`` in the same transaction.
        Returns the removed line. A voided line is refused: it stays as the record of what it was."""
        with self._tx() as c:
            line = self._remove_in(c, line_id, by)
            self._audit_rows_in(c, audit_with)
            return line

    def _remove_in(self, c: sqlite3.Connection, line_id: str, by: str) -> CartLine:
        """Inside a write transaction: line ``line_id`` out of the open cart (its event, audit row, feedback)."""
        cart_id, row = self._open_line(c, line_id)
        self._refuse_during_payment(c, cart_id)
        if row["voided_at"] is not None:  # the record of the line a void or a staff change took off the bill
            raise CartError(f"line {line_id!r} is voided")
        line = _line_from_row(row)
        c.execute("DELETE FROM cart_lines WHERE line_id = ?", (line_id,))
        now = self._time()
        self._event(c, cart_id, line, "remove", now, by)
        self._feedback_unline(c, line_id, "removed", now)
        return line

    def void_line(self, line_id: str, *, by: str = "", audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """Void a line: it stays in the cart for audit but counts for nothing; ``audit_with`` in the same
        transaction."""
        with self._tx() as c:
            line = self._void_in(c, line_id, by)
            self._audit_rows_in(c, audit_with)
            return line

    def _void_in(self, c: sqlite3.Connection, line_id: str, by: str) -> CartLine:
        """Inside a write transaction: void line ``line_id`` of the open cart (its event, audit row, feedback)."""
        cart_id, row = self._open_line(c, line_id)
        self._refuse_during_payment(c, cart_id)
        if row["voided_at"] is not None:
            raise CartError(f"line {line_id!r} is already voided")
        now = self._time()
        c.execute("UPDATE cart_lines SET voided_at = ?, voided_by = ? WHERE line_id = ?", (now, by, line_id))
        line = _line_from_row(row)
        self._event(c, cart_id, line, "void", now, by)
        self._feedback_unline(c, line_id, "voided", now)
        return replace(line, voided=True)

    def _event(self, c: sqlite3.Connection, cart_id: str, line: CartLine, event: str, at: str, by: str = "") -> None:
        c.execute("INSERT INTO line_events (cart_id, line_id, event, at, by, line_json) VALUES (?, ?, ?, ?, ?, ?)",
                  (cart_id, line.line_id, event, at, by, json.dumps(line.to_dict(), sort_keys=True)))
        self._audit(c, f"line.{event}", by or "shopper", {"cart_id": cart_id, **line.to_dict()})

    def line_events(self, cart_id: str) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(
                "SELECT id, line_id, event, at, by, line_json FROM line_events WHERE cart_id = ? ORDER BY id",
                (cart_id,))]

    # -- sales ---------------------------------------------------------------------------
    def pay(self, cart_id: str, *, method: str = "cash", payment_ref: str = "") -> Sale:
        """Close the cart as a sale, once. Idempotent: a repeated call returns the first sale.

        Raises :class:`CartError` for an empty cart and :class:`StoreError` for an unknown one.
        """
        with self._tx() as c:
            return self._close_cart(c, cart_id, method, payment_ref)

    def _close_cart(self, c: sqlite3.Connection, cart_id: str, method: str, payment_ref: str) -> Sale:
        """Inside a write transaction: the cart's sale (made now, with the next receipt number, unless it exists)."""
        row = c.execute("SELECT * FROM sales WHERE cart_id = ?", (cart_id,)).fetchone()
        if row is not None:
            return Sale._from_row(row)
        cart = self._load_cart(c, cart_id)
        if cart.closed:  # cannot happen: a cart is closed only together with its sale
            raise StoreError(f"cart {cart_id} is closed but has no sale")
        cart.close()
        seq = c.execute("UPDATE receipt_counter SET last_no = last_no + 1 WHERE id = 1 RETURNING last_no"
                        ).fetchone()[0]
        receipt_no = f"{self.kiosk_id}-{seq:06d}"
        now = self._clock()
        receipt = Receipt.from_cart(cart, receipt_no, now, store=self.store_info, payment_method=method)
        b = receipt.bill
        c.execute(
            "INSERT INTO sales (receipt_seq, receipt_no, cart_id, closed_at, gross, round_off, total,"
            " payment_method, payment_ref, receipt_text, receipt_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, receipt_no, cart_id, now.isoformat(), b.gross, b.round_off, b.total, method, payment_ref,
             receipt.to_text(), receipt.to_json()),
        )
        c.execute("UPDATE carts SET status = 'closed', closed_at = ? WHERE cart_id = ?", (now.isoformat(), cart_id))
        row = c.execute("SELECT * FROM sales WHERE cart_id = ?", (cart_id,)).fetchone()
        self._audit(c, "sale.closed", "kiosk", {"cart_id": cart_id, "receipt_no": receipt_no, "gross": b.gross,
                                                "round_off": b.round_off, "total": b.total, "method": method,
                                                "payment_ref": payment_ref, "lines": len(cart.lines),
                                                "closed_at": now.isoformat(),  # the receipt's time (and day)
                                                **_zone_stated(self.zone)})
        return Sale._from_row(row)

    close_sale = pay
    _sale_from_row = staticmethod(Sale._from_row)

    def sale_for_cart(self, cart_id: str) -> Sale | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM sales WHERE cart_id = ?", (cart_id,)).fetchone()
        return Sale._from_row(row) if row else None

    def sale(self, receipt_no: str) -> Sale | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM sales WHERE receipt_no = ?", (receipt_no,)).fetchone()
        return Sale._from_row(row) if row else None

    def last_sale(self) -> Sale | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM sales ORDER BY receipt_seq DESC LIMIT 1").fetchone()
        return Sale._from_row(row) if row else None

    def sales(self, *, since_seq: int = 0) -> list[Sale]:
        with self._lock:
            return [Sale._from_row(r) for r in self._conn.execute(
                "SELECT * FROM sales WHERE receipt_seq > ? ORDER BY receipt_seq", (since_seq,))]

    # -- corrections ---------------------------------------------------------------------
    def record_correction(self, recognised_sku: str | None, corrected_sku: str, image_path: str | Path, who: str,
                          *, when: datetime | None = None, cart_id: str | None = None,
                          line_id: str | None = None, approved_by: str = "") -> Correction:
        """Store one staff correction of the recogniser (read by the next training run); ``approved_by``: the
        supervisor whose approval it needed ("" when none), in its audit row."""
        with self._tx() as c:
            return self._put_correction(c, recognised_sku, corrected_sku, image_path, who, when=when, cart_id=cart_id,
                                        line_id=line_id, approved_by=approved_by)

    def _put_correction(self, c: sqlite3.Connection, recognised_sku: str | None, corrected_sku: str,
                        image_path: str | Path, who: str, *, when: datetime | None = None, cart_id: str | None = None,
                        line_id: str | None = None, approved_by: str = "") -> Correction:
        """Inside a write transaction: one correction row and its audit row (see :meth:`record_correction`)."""
        if not corrected_sku:
            raise ValueError("a correction needs the corrected SKU")
        if not who:
            raise ValueError("a correction needs who made it (staff id)")
        at = (when or self._clock())
        if at.tzinfo is None:
            raise ValueError("correction time must be timezone-aware")
        at = in_zone(at, self.tz)
        cur = c.execute(
            "INSERT INTO corrections (recognised_sku, corrected_sku, image_path, who, at, cart_id, line_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (recognised_sku, corrected_sku, str(image_path), who, at.isoformat(), cart_id, line_id))
        row = c.execute("SELECT * FROM corrections WHERE id = ?", (cur.lastrowid,)).fetchone()
        self._audit(c, "staff.correction", who, {"recognised_sku": recognised_sku, "corrected_sku": corrected_sku,
                                                 "cart_id": cart_id, "line_id": line_id, "approved_by": approved_by})
        return Correction._from_row(row)

    def corrections(self, *, since_id: int = 0) -> list[Correction]:
        with self._lock:
            return [Correction._from_row(r) for r in self._conn.execute(
                "SELECT * FROM corrections WHERE id > ? ORDER BY id", (since_id,))]

    # -- maintenance ---------------------------------------------------------------------
    def integrity_check(self) -> str:
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]


def read_corrections(path: str | Path, *, since_id: int = 0) -> list[Correction]:
    """Staff corrections from a kiosk's sales file, opened read-only (for the trainer).

    Pass the last ``id`` already used as ``since_id`` to read only new ones.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no sales file")
    conn = connect_readonly(path)
    conn.row_factory = sqlite3.Row
    try:
        return [Correction._from_row(r) for r in conn.execute(
            "SELECT * FROM corrections WHERE id > ? ORDER BY id", (since_id,))]
    finally:
        conn.close()
