"""The kiosk's gallery: SKUs enrolled at this kiosk, their photos and embeddings, kept with the kiosk's state.

Layout of the gallery directory (``config.gallery``)::

    gallery.sqlite          enrollments, photos, embeddings per feature key (WAL, synchronous=FULL), and the
                            gallery's random id (``gallery_info``), made with it, sent with every enrollment
    photos/<sku>/<sha>.png  each enrolled photo, named by its content (lossless: re-embedding a new backbone sees
                            the same pixels); ``<sha>-<enrollment>.png`` when a withdrawn enrollment's row has that name
    empty-tray.png          the empty tray the running kiosk's trigger learnt last (refuses empty photos)

An enrollment is all or nothing: its photos are written and fsynced first under pending names
(``.<name>.<random>.tmp``, their folder fsynced too), its rows in one transaction, and only after the commit are the
photos renamed to their own names (one fsync of the folder after), so a kill or a power cut leaves either no
enrollment or a whole one. A pending photo a committed row wants (a kill between the commit and the renames) is put
in place at once, whatever its age, when its bytes have the row's sha256 (:meth:`Gallery.settle_pending`, at open
and before each packing round for head office); a pending file is removed only once 10 minutes old (another process
may be enrolling right now); nothing else is ever removed (a ``.png`` without a row may be a lost database's
photo: kept). A database found zero-length, or new while ``photos/`` holds files (lost, replaced), is said in one
line and the photos are kept; the new gallery gets a new id, so head office never joins its enrollment ids with the
old gallery's. Embeddings are stored per *feature key* (:func:`kiosk.recognition.fusion.feature_key`): a new bundle with
another backbone finds none under its key and re-embeds the stored photos once (:meth:`Gallery.snapshot`).

:meth:`Gallery.revision` changes with every enrollment or withdrawal, from this process or another (``PRAGMA
data_version``), and costs a few microseconds, so the recogniser asks it at every placement: a SKU enrolled with
``checkout sku enroll`` while the kiosk runs is suggested from the next placement on.

Enrollments wait for head office in ``sent_at IS NULL`` (:meth:`unsent`, :meth:`mark_sent`): the feedback outbox
carries them with the placements' feedback.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kiosk.bundle_format.atomic import AtomicFile, atomic_write, fsync_dir, shown
from kiosk.errors import UserError
from kiosk.sqlite_readonly import connect_readonly

__all__ = ["DB_FILE", "EMPTY_TRAY", "Enrollment", "Gallery", "GalleryError", "PHOTOS"]

log = logging.getLogger(__name__)
DB_FILE = "gallery.sqlite"
PHOTOS = "photos"
EMPTY_TRAY = "empty-tray.png"
SCHEMA_VERSION = 1


class GalleryError(UserError):
    """The gallery directory cannot be used (not a gallery database, a newer schema, unwritable)."""


class AlreadyTaught(GalleryError):
    """Every photo offered is held by an active enrollment of the SKU already (taught meanwhile, by another
    process): nothing stored; ``photos``: how many were offered."""

    def __init__(self, message: str, photos: int) -> None:
        super().__init__(message)
        self.photos = photos


@dataclass(frozen=True)
class Enrollment:
    enrollment_id: int
    sku: str
    created_at: str
    staff: str
    source: str
    photos: int
    refused: int = 0
    sent_at: str | None = None


def _schema(c: sqlite3.Connection) -> None:
    c.execute("""CREATE TABLE enrollments (
        enrollment_id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT NOT NULL, created_at TEXT NOT NULL,
        staff TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '', refused INTEGER NOT NULL DEFAULT 0,
        withdrawn_at TEXT, sent_at TEXT)""")
    c.execute("CREATE INDEX enrollments_sku ON enrollments(sku)")
    c.execute("""CREATE TABLE photos (
        photo_id INTEGER PRIMARY KEY AUTOINCREMENT,
        enrollment_id INTEGER NOT NULL REFERENCES enrollments(enrollment_id), sku TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, sharpness REAL)""")
    c.execute("CREATE INDEX photos_enrollment ON photos(enrollment_id)")
    c.execute("""CREATE TABLE embeddings (
        photo_id INTEGER NOT NULL REFERENCES photos(photo_id) ON DELETE CASCADE, feature_key TEXT NOT NULL,
        vector BLOB NOT NULL, PRIMARY KEY (photo_id, feature_key))""")


def _gallery_id(c: sqlite3.Connection, *, make: bool) -> str | None:
    """The gallery's random id; made (with its table) when ``make`` and there is none yet (a new gallery, or one
    made before galleries had ids)."""
    have = c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gallery_info'").fetchone()
    row = c.execute("SELECT value FROM gallery_info WHERE key = 'gallery_id'").fetchone() if have else None
    if row is not None or not make:
        return row[0] if row is not None else None
    with c:
        c.execute("BEGIN IMMEDIATE")
        c.execute("CREATE TABLE IF NOT EXISTS gallery_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        c.execute("INSERT OR IGNORE INTO gallery_info (key, value) VALUES ('gallery_id', ?)", (uuid.uuid4().hex,))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in the database file itself: a lost -wal does not take it
    return c.execute("SELECT value FROM gallery_info WHERE key = 'gallery_id'").fetchone()[0]


def _pending_target(name: str) -> str | None:
    """The photo name a pending file ``.<name>.png.<random>.tmp`` was written for (None: not a pending photo)."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    base = name[1:-4].rpartition(".")[0]
    return base if base.endswith(".png") else None


#: the columns each table must have for this kiosk to read it
COLUMNS = {"enrollments": {"enrollment_id", "sku", "created_at", "staff", "source", "refused", "withdrawn_at",
                           "sent_at"},
           "photos": {"photo_id", "enrollment_id", "sku", "path", "sha256", "sharpness"},
           "embeddings": {"photo_id", "feature_key", "vector"}}


def _check_schema(c: sqlite3.Connection) -> None:
    """A table or a column missing (a database edited by hand, restored from another program) is named, not found
    by the first query that needs it."""
    for table, wanted in COLUMNS.items():
        have = {r[1] for r in c.execute(f"PRAGMA table_info({table})")}
        if not have:
            raise sqlite3.DatabaseError(f"no table {table}")
        if wanted - have:
            raise sqlite3.DatabaseError(f"table {table} has no column {', '.join(sorted(wanted - have))}")


def _vector(blob: object) -> np.ndarray | None:
    """A stored embedding, or None where the row cannot be one (not bytes, a length that is no float32 vector,
    non-finite or all zero): such a photo is embedded again from its stored pixels."""
    if not isinstance(blob, bytes) or not blob or len(blob) % 4:
        return None
    v = np.frombuffer(blob, np.float32)
    return v if np.isfinite(v).all() and np.any(v) else None


def _common_length(vectors: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Only the vectors of the length most of them have (a row of another length is None: embedded again)."""
    lengths = Counter(len(v) for v in vectors if v is not None)
    if len(lengths) <= 1:
        return vectors
    common = lengths.most_common(1)[0][0]
    return [v if v is not None and len(v) == common else None for v in vectors]


def _photo_name(sku: str, digest: str, enrollment_id: int | None = None) -> str:
    """Where a photo is kept: named by its content, and by its enrollment when an earlier (withdrawn) enrollment's
    row holds that name already (a path is one row's)."""
    return f"{PHOTOS}/{sku}/{digest[:20]}" + (f"-{enrollment_id}" if enrollment_id is not None else "") + ".png"


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _existing(root: Path) -> Path:
    """``root``'s gallery database, or :class:`GalleryError` naming the folder when it holds none."""
    path = root / DB_FILE
    if not path.is_file():
        raise GalleryError(f"no gallery at {root}")
    return path


def _version(conn: sqlite3.Connection, root: Path) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise GalleryError(f"{root / DB_FILE}: gallery schema {version} is newer than this kiosk's ({SCHEMA_VERSION})")
    return version


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """``path`` read-only; immutable on a read-only mount (:mod:`kiosk.sqlite_readonly`)."""
    return connect_readonly(path, lambda p: _read_only_mount(p.parent))


class Gallery:
    """Open with :meth:`open`. Thread-safe: one connection behind a lock (the recogniser's thread, the staff screen
    and the updater's loader all use it)."""

    def __init__(self, root: Path, conn: sqlite3.Connection, clock: Callable[[], str] = _now) -> None:
        self.root, self._conn, self._clock = root, conn, clock
        self._lock = threading.RLock()
        self._changes = 0
        self.gallery_id: str | None = None  # the gallery's random id (None: an old gallery opened read-only)

    @classmethod
    def open(cls, root: str | Path, *, clock: Callable[[], str] = _now, create: bool = True) -> Gallery:
        """The gallery at ``root``, made there when ``create`` (the kiosk, ``checkout sku enroll``); without
        ``create`` a folder that holds no gallery is refused (:class:`GalleryError` "no gallery at ...") and
        nothing is made."""
        root = Path(root)
        if not create:
            _existing(root)
        db = root / DB_FILE
        try:
            zero = db.is_file() and db.stat().st_size == 0
            if create:
                (root / PHOTOS).mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = _version(conn, root)
            if version == 0:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    _schema(conn)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _check_schema(conn)
            gallery_id = _gallery_id(conn, make=True)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise GalleryError(f"{shown(db)}: not a usable gallery ({exc})") from None
        gallery = cls(root, conn, clock)
        gallery.gallery_id = gallery_id
        if zero or version == 0:
            gallery._started_anew("was empty (zero length: lost in a power cut?)" if zero else "is new")
        else:
            gallery.settle_pending()
        return gallery

    @classmethod
    def open_readonly(cls, root: str | Path) -> Gallery:
        """The existing gallery at ``root`` opened only to read (``checkout sku list``): nothing is made, written or
        removed, and a gallery on a read-only mount is read (opened immutable there, as the sales database's
        read-only commands do, unless its -wal journal holds changes not yet merged)."""
        root = Path(root)
        path = _existing(root)
        try:
            conn = _connect_readonly(path)
            try:
                if _version(conn, root) == 0:
                    raise sqlite3.DatabaseError("no gallery tables")
                _check_schema(conn)
                gallery_id = _gallery_id(conn, make=False)
            except BaseException:
                conn.close()
                raise
        except (OSError, sqlite3.DatabaseError) as exc:
            raise GalleryError(f"{shown(path)}: not a usable gallery ({exc})") from None
        conn.row_factory = sqlite3.Row
        gallery = cls(root, conn)
        gallery.gallery_id = gallery_id
        return gallery

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- what the recogniser asks ---------------------------------------------------------------------------------
    def revision(self) -> tuple[int, int]:
        """Changes whenever enrollments change, in this process (a counter) or another (``PRAGMA data_version``)."""
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0], self._changes

    def snapshot(self, feature_key: str, embed: Callable[[list[np.ndarray]], np.ndarray]):
        """The active enrollments' embeddings under ``feature_key`` (a
        :class:`~kiosk.recognition.fusion.GallerySnapshot`), re-embedding with ``embed`` the photos that have none
        under that key (a new backbone) and keeping the result."""
        from kiosk.recognition.fusion import GallerySnapshot

        with self._lock:
            rows = self._conn.execute(
                "SELECT p.photo_id, p.sku, p.path, e.vector FROM photos p JOIN enrollments n USING (enrollment_id)"
                " LEFT JOIN embeddings e ON e.photo_id = p.photo_id AND e.feature_key = ?"
                " WHERE n.withdrawn_at IS NULL ORDER BY p.sku, p.photo_id", (feature_key,)).fetchall()
            vectors = self._fill_missing(rows, feature_key, embed)
        keep = [i for i, v in enumerate(vectors) if v is not None]
        if not keep:
            return GallerySnapshot.empty()
        matrix = np.stack([vectors[i] for i in keep]).astype(np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        used = sorted({rows[i]["sku"] for i in keep})
        index = {s: i for i, s in enumerate(used)}
        return GallerySnapshot(used, np.asarray([index[rows[i]["sku"]] for i in keep], np.int64), matrix)

    def _fill_missing(self, rows, feature_key: str, embed) -> list[np.ndarray | None]:
        vectors = _common_length([_vector(r["vector"]) for r in rows])
        todo = [i for i, v in enumerate(vectors) if v is None]
        if not todo:
            return vectors
        log.info("gallery: embedding %d stored photo(s) for model %s", len(todo), feature_key)
        images = {i: self._read_photo(rows[i]["path"]) for i in todo}
        readable = [i for i in todo if images[i] is not None]
        for i in set(todo) - set(readable):
            log.warning("gallery: photo %r cannot be read; left out", rows[i]["path"])
        if readable:
            found = np.asarray(embed([images[i] for i in readable]), np.float32)
            with self._tx() as c:
                c.executemany("INSERT OR REPLACE INTO embeddings (photo_id, feature_key, vector) VALUES (?, ?, ?)",
                              [(rows[i]["photo_id"], feature_key, found[k].tobytes()) for k, i in enumerate(readable)])
            for k, i in enumerate(readable):
                vectors[i] = found[k]
        return _common_length(vectors)

    def _photo(self, stored: object) -> Path | None:
        """The file of a photo row: ``photos/<sku>/<name>.png`` inside the gallery, never a path that leaves it."""
        if not isinstance(stored, str) or not stored.startswith(f"{PHOTOS}/") or "\\" in stored:
            return None
        parts = stored.split("/")
        return self.root.joinpath(*parts) if ".." not in parts and "" not in parts else None

    def _read_photo(self, stored: object) -> np.ndarray | None:
        from kiosk.bundle_format.preprocess import read_image

        path = self._photo(stored)
        return read_image(path) if path is not None else None

    # -- enrolling ------------------------------------------------------------------------------------------------
    def taught(self, sku: str) -> set[str]:
        """The sha256 of every photo an active enrollment of ``sku`` holds (a photo taught already is not stored
        again)."""
        with self._lock:
            return self._taught(self._conn, sku)

    @staticmethod
    def _taught(c: sqlite3.Connection, sku: str) -> set[str]:
        return {r[0] for r in c.execute("SELECT p.sha256 FROM photos p JOIN enrollments n USING (enrollment_id)"
                                        " WHERE n.sku = ? AND n.withdrawn_at IS NULL", (sku,))}

    def add(self, sku: str, photos: list[bytes], embeddings: np.ndarray, feature_key: str, *, staff: str = "",
            source: str = "", refused: int = 0, sharpness: list[float] | None = None,
            before_commit: Callable[[int, int, int], None] | None = None) -> Enrollment:
        """Store one enrollment: ``photos`` (encoded PNG bytes) with their ``embeddings`` under ``feature_key``.
        Each distinct photo is stored once: a repeat within ``photos`` and a photo an active enrollment of ``sku``
        holds already are left out (:attr:`Enrollment.photos` counts what was stored). A photo a withdrawn
        enrollment holds is stored again, under its own name, for this one. Raises :class:`GalleryError` when no
        photo is left to store (no enrollment is made). ``before_commit(enrollment id, photos stored, photos
        refused)`` is called inside the enrollment's transaction, last (the kiosk's audit row of it): if it raises,
        nothing is stored."""
        if len(photos) != len(embeddings):
            raise ValueError("one embedding per photo")
        sharp = list(sharpness) if sharpness else [None] * len(photos)
        items: dict[str, tuple[bytes, np.ndarray, float | None]] = {}
        for data, vector, s in zip(photos, np.asarray(embeddings, np.float32), sharp):
            items.setdefault(hashlib.sha256(data).hexdigest(), (data, vector, s))
        (self.root / PHOTOS / sku).mkdir(parents=True, exist_ok=True)
        folder = self.root / PHOTOS / sku
        pending: dict[str, AtomicFile] = {}  # written and fsynced under pending names before the rows commit
        try:
            for digest, (data, _, _) in items.items():
                pending[digest] = AtomicFile(self.root / _photo_name(sku, digest))
                pending[digest].write(data)
            fsync_dir(folder)  # the pending names too: a power cut after the commit finds every photo whole
            enrollment_id, names = self._insert(sku, items, feature_key, staff, source, refused + len(photos),
                                                before_commit)
        except BaseException:
            for target in pending.values():
                target.discard()
            raise
        for digest, target in pending.items():  # after the commit: renames only (a kill here: settle_pending)
            if digest in names:
                target.path = self.root / names[digest]
                target.commit(sync_dir=False)
            else:
                target.discard()  # taught already: the stored file is the active enrollment's
        fsync_dir(folder)
        return self.enrollment(enrollment_id)

    def _insert(self, sku: str, items: dict, feature_key: str, staff: str, source: str, offered: int,
                before_commit: Callable[[int, int, int], None] | None = None) -> tuple[int, dict[str, str]]:
        """The enrollment's rows in one transaction: ``(enrollment id, {sha256: photo name})`` of the photos stored;
        ``before_commit`` last in it (see :meth:`add`)."""
        names: dict[str, str] = {}
        with self._tx() as c:
            taught = self._taught(c, sku)
            new = {d: item for d, item in items.items() if d not in taught}
            if not new:
                raise AlreadyTaught(f"{sku}: all {len(items)} photo(s) are taught here already (an active enrollment "
                                    "holds them); nothing stored", len(items))
            cur = c.execute("INSERT INTO enrollments (sku, created_at, staff, source, refused) VALUES (?, ?, ?, ?, ?)",
                            (sku, self._clock(), staff, source, offered - len(new)))
            enrollment_id = int(cur.lastrowid)
            for digest, (_, vector, s) in new.items():
                name = _photo_name(sku, digest)
                if c.execute("SELECT 1 FROM photos WHERE path = ?", (name,)).fetchone():  # a withdrawn one's
                    name = _photo_name(sku, digest, enrollment_id)
                names[digest] = name
                photo_id = c.execute("INSERT INTO photos (enrollment_id, sku, path, sha256, sharpness)"
                                     " VALUES (?, ?, ?, ?, ?)", (enrollment_id, sku, name, digest, s)).lastrowid
                c.execute("INSERT INTO embeddings (photo_id, feature_key, vector) VALUES (?, ?, ?)",
                          (photo_id, feature_key, vector.tobytes()))
            if before_commit is not None:
                before_commit(enrollment_id, len(new), offered - len(new))
            self._changes += 1
        return enrollment_id, names

    def withdraw(self, sku: str, *, before_commit: Callable[[int], None] | None = None) -> int:
        """Stop suggesting ``sku`` from the gallery (its photos stay for head office); returns enrollments withdrawn.
        ``before_commit(enrollments withdrawn)`` is called inside the transaction, last (the kiosk's audit row of
        it), only when something was withdrawn: if it raises, nothing is."""
        with self._tx() as c:
            cur = c.execute("UPDATE enrollments SET withdrawn_at = ? WHERE sku = ? AND withdrawn_at IS NULL",
                            (self._clock(), sku))
            if before_commit is not None and cur.rowcount:
                before_commit(cur.rowcount)
            self._changes += 1
        return cur.rowcount

    # -- reading -----------------------------------------------------------------------------------------------------
    def _enrollment(self, r: sqlite3.Row) -> Enrollment:
        count = self._conn.execute("SELECT COUNT(*) FROM photos WHERE enrollment_id = ?",
                                   (r["enrollment_id"],)).fetchone()[0]
        return Enrollment(r["enrollment_id"], r["sku"], r["created_at"], r["staff"], r["source"], int(count),
                          r["refused"], r["sent_at"])

    def enrollment(self, enrollment_id: int) -> Enrollment:
        with self._lock:
            r = self._conn.execute("SELECT * FROM enrollments WHERE enrollment_id = ?", (enrollment_id,)).fetchone()
            return self._enrollment(r)

    def enrollments(self, active_only: bool = True) -> list[Enrollment]:
        with self._lock:
            where = "WHERE withdrawn_at IS NULL" if active_only else ""
            rows = self._conn.execute(f"SELECT * FROM enrollments {where} ORDER BY enrollment_id").fetchall()
            return [self._enrollment(r) for r in rows]

    def enrolled_skus(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT DISTINCT sku FROM enrollments WHERE withdrawn_at IS NULL ORDER BY sku")]

    def vectors(self, feature_key: str, exclude_sku: str | None = None) -> tuple[list[str], np.ndarray]:
        """``(sku per row, vectors)`` stored under ``feature_key`` for the active enrollments (near-duplicate check)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT p.sku, e.vector FROM photos p JOIN enrollments n USING (enrollment_id) JOIN embeddings e"
                " ON e.photo_id = p.photo_id AND e.feature_key = ? WHERE n.withdrawn_at IS NULL AND p.sku IS NOT ?",
                (feature_key, exclude_sku)).fetchall()
        vectors = _common_length([_vector(r["vector"]) for r in rows])
        kept = [i for i, v in enumerate(vectors) if v is not None]
        if not kept:
            return [], np.zeros((0, 0), np.float32)
        return [rows[i]["sku"] for i in kept], np.stack([vectors[i] for i in kept])

    def photos_of(self, enrollment_id: int) -> list[Path]:
        with self._lock:
            rows = self._conn.execute("SELECT path FROM photos WHERE enrollment_id = ? ORDER BY photo_id",
                                      (enrollment_id,)).fetchall()
        return [p for p in (self._photo(r[0]) for r in rows) if p is not None]

    # -- head office -------------------------------------------------------------------------------------------------
    def unsent(self, limit: int = 100, skip: set[int] | frozenset[int] = frozenset()) -> list[Enrollment]:
        """Enrollments not sent to head office yet, oldest first, but those in ``skip`` (held back this round)."""
        with self._lock:
            marks = ", ".join("?" * len(skip))
            rows = self._conn.execute(f"SELECT * FROM enrollments WHERE sent_at IS NULL AND enrollment_id NOT IN"
                                      f" ({marks}) ORDER BY enrollment_id LIMIT ?", (*sorted(skip), limit)).fetchall()
            return [self._enrollment(r) for r in rows]

    def for_head_office(self, enrollment_id: int) -> tuple[dict, list[tuple[Path | None, str, float | None]]]:
        """One enrollment as head office gets it: its row (withdrawal included) and each photo's file (None where
        the row points outside the gallery), sha256 and sharpness."""
        with self._lock:
            row = dict(self._conn.execute("SELECT * FROM enrollments WHERE enrollment_id = ?",
                                          (enrollment_id,)).fetchone())
            photos = self._conn.execute("SELECT path, sha256, sharpness FROM photos WHERE enrollment_id = ?"
                                        " ORDER BY photo_id", (enrollment_id,)).fetchall()
        return row, [(self._photo(p["path"]), p["sha256"], p["sharpness"]) for p in photos]

    def mark_sent(self, enrollment_ids: list[int]) -> None:
        with self._tx() as c:
            c.executemany("UPDATE enrollments SET sent_at = ? WHERE enrollment_id = ?",
                          [(self._clock(), i) for i in enrollment_ids])

    # -- the empty tray ----------------------------------------------------------------------------------------------
    def save_empty_tray(self, image_bgr: np.ndarray) -> None:
        import cv2

        ok, data = cv2.imencode(".png", image_bgr)
        if ok:
            atomic_write(self.root / EMPTY_TRAY, data.tobytes())

    def empty_tray(self) -> np.ndarray | None:
        from kiosk.bundle_format.preprocess import read_image

        path = self.root / EMPTY_TRAY
        return read_image(path) if path.is_file() else None

    def _started_anew(self, why: str) -> None:
        """A database just made (or found zero-length) beside a photos folder: said in one line; no photo removed."""
        photos = [p for p in (self.root / PHOTOS).rglob("*") if p.is_file()]
        if why.startswith("is new") and not photos:
            return  # a new gallery in a new folder
        log.warning("gallery: %s %s: a new gallery (id %s) is started; the %d file(s) under %s are kept, not "
                    "deleted (re-enroll a product with `checkout sku enroll SKU --images %s`)",
                    shown(self.root / DB_FILE), why, self.gallery_id, len(photos), shown(self.root / PHOTOS),
                    shown(self.root / PHOTOS / "SKU"))

    def settle_pending(self, min_age_s: float = 600.0) -> None:
        """Pending photos (``.<name>.png.<random>.tmp``) a kill or a crash left. One a committed row wants (killed
        between the commit and the renames) is put in place at once, whatever its age, when its bytes have the
        row's sha256; one that does not match is not used, and its enrollment is named in one line. A pending file
        is removed only once old (another process may be enrolling, or renaming, right now); nothing else is ever
        removed (a ``.png`` without a row may be a lost database's). Run at open and before each packing round."""
        found = [(p, t) for p in (self.root / PHOTOS).glob("*/.*.tmp") if (t := _pending_target(p.name))]
        if not found:
            return
        with self._lock:
            rows = self._conn.execute("SELECT p.path, p.sha256, p.enrollment_id, n.sku FROM photos p"
                                      " JOIN enrollments n USING (enrollment_id)").fetchall()
        wanted: dict[str, list] = {}  # 'photos/<sku>/<first 20 of sha>' -> the rows named after it
        for r in rows:
            folder, _, name = str(r["path"]).rpartition("/")
            wanted.setdefault(f"{folder}/{name[:20]}", []).append(r)
        unmatched: dict[int, tuple[str, set[str]]] = {}
        placed: dict[tuple[int, str], int] = {}
        for path, target in found:
            stem = f"{path.parent.relative_to(self.root).as_posix()}/{target.removesuffix('.png')}"
            wants = [r for r in wanted.get(stem, []) if self._missing(r["path"])]
            self._settle(path, wants, min_age_s, unmatched, placed)
        for (enrollment_id, sku), n in sorted(placed.items()):
            log.warning("gallery: enrollment %d (%s): %d photo(s) put in place from their pending files (killed after "
                        "it was stored)", enrollment_id, sku, n)
        for enrollment_id, (sku, names) in sorted(unmatched.items()):
            still = sorted(n for n in names if self._missing(n))
            if still:
                log.warning("gallery: enrollment %d (%s): %d photo(s) missing and their pending file(s) do not match "
                            "the stored sha256 (cut short by a power cut?): not used; not sent to head office while "
                            "short (re-enroll the product with `checkout sku enroll`)", enrollment_id, sku, len(still))

    def _missing(self, stored: object) -> bool:
        path = self._photo(stored)
        return path is not None and not path.exists()

    def _settle(self, path: Path, wants: list, min_age_s: float, unmatched: dict, placed: dict) -> None:
        """Put pending photo ``path`` where the rows in ``wants`` (none has its file) want it, when it is their
        content; remove it once old."""
        try:
            old = time.time() - path.stat().st_mtime > min_age_s
            data = path.read_bytes() if wants else b""
        except OSError:
            return  # taken by the process that wrote it (renamed) or settled elsewhere
        digest = hashlib.sha256(data).hexdigest()
        try:
            for r in wants:
                if r["sha256"] == digest:
                    atomic_write(self._photo(r["path"]), data)
                    key = (r["enrollment_id"], r["sku"])
                    placed[key] = placed.get(key, 0) + 1
                else:
                    unmatched.setdefault(r["enrollment_id"], (r["sku"], set()))[1].add(r["path"])
            if old:
                path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("gallery: pending photo %s could not be settled: %s", shown(path), exc)
