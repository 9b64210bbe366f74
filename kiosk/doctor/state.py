"""The kiosk's own files: its sales database, the audit key beside it, the gallery of products taught here and the
simulated terminal's ledger. Each one the kiosk would refuse to start on (garbage, cut short, a folder, another
program's database, a sales schema newer than this program, a file or folder it cannot write) is a FAIL naming it,
found before the store opens, with advice that fits: only a damaged or foreign file is to be restored or moved aside.
Everything is opened read-only: the doctor never creates, migrates or repairs what it checks; a file not there yet
is what a new till has (the kiosk makes it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, Context

__all__ = ["check_state", "state_advice"]

#: tables a sales database of any schema version has
SALES_TABLES = ("carts", "cart_lines", "sales")
READ_ONLY_ADVICE = ("mount it read-write, or let the kiosk's user write the file and its folder (the kiosk writes "
                    "there; a good file is not to be moved aside)")
WITNESS_ADVICE = ("keep the database (it holds sales): put the kiosk's own newer database (or its -wal file) back, "
                  "or move the witness aside to go on with this one (the kiosk records that in its audit log)")
NEWER_ADVICE = ("it was written by a newer release of this program: install that release (or a newer one) on this "
                "till; keep the database (it holds sales)")


#: how long the state check reads a database's pages (``quick_check``) before it lets the rest pass unread
CHECK_BUDGET_S = 5.0


def state_advice(ctx: Context) -> str:
    return ("restore the file from the kiosk's backup, or move it aside (the kiosk starts a new one; a sales database "
            "moved aside keeps its sales for head office and the tax records)")


def _tables(path: Path) -> tuple[set[str], int]:
    """The tables and ``user_version`` of the SQLite file at ``path``, opened read-only (as the store opens it for
    reading: immutable on a read-only mount). Its schema is read as the kiosk's first query reads it (a cut or
    foreign file fails here), then its pages by ``quick_check`` for at most :data:`CHECK_BUDGET_S` (a start must not
    wait on a years-old database: one not checked in time passes): zeroed pages are ``sqlite3.DatabaseError``."""
    from kiosk.sqlite_readonly import damage
    from kiosk.store import sales

    conn = sales.connect_readonly(path, timeout=5)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        broken = damage(conn, path, budget_s=CHECK_BUDGET_S)
        if broken:
            raise sqlite3.DatabaseError(broken.removeprefix(f"{path}: "))
        return tables, conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def _database(path: Path, what: str, wanted: tuple[str, ...] | set[str], newest: int | None = None
              ) -> tuple[str, str]:
    """``(a problem with the database at path, its advice)``: ``("", "")`` when it is fine or not there yet; an empty
    advice is the check's standing one (restore or move aside). ``newest``: the highest schema version it may have."""
    from kiosk.store import sales

    if not path.exists() and not path.is_symlink():
        return "", ""
    if not path.is_file():
        from kiosk.inputfiles import not_a

        return not_a(path, f"a {what}"), ""
    try:
        tables, version = _tables(path)
    except sqlite3.Error as exc:
        why = sales.read_only_reason(path)
        return (f"{path}: read-only ({why})", READ_ONLY_ADVICE) if why else (f"{path}: not a usable {what} ({exc})", "")
    missing = sorted(set(wanted) - tables)
    if tables and missing:
        return f"{path}: not a {what} (no table {', '.join(missing)})", ""
    if newest is not None and version > newest:
        kind = what.removesuffix(" database")  # "sales schema version 9 ...", as the kiosk says it
        return f"{path}: {kind} schema version {version} is newer than this program ({newest})", NEWER_ADVICE
    why = sales.read_only_reason(path)
    if why:
        return f"{path}: read-only ({why}): the kiosk cannot write its {what} there", READ_ONLY_ADVICE
    return "", ""


def _audit_key(store: Path, configured: str) -> str:
    from kiosk.errors import DataError
    from kiosk.store.audit import default_key_path, load_key

    path = Path(configured) if configured.strip() else default_key_path(store)
    try:
        load_key(path)
    except DataError as exc:
        return str(exc)
    return ""


def _witness(store: Path, configured: str) -> str:
    """Why the kiosk would refuse its sales database against the audit witness beside the key (rows cut off the
    log's end, another database put in its place, a witness edited or not one): "" when it fits or either is not
    there yet. Read-only: a witness behind the log is brought up to date by the kiosk, not here."""
    from kiosk.errors import DataError
    from kiosk.store import sales
    from kiosk.store.audit import default_key_path, load_key
    from kiosk.store.audit_witness import read_witness, refusal, witness_path

    key_path = Path(configured) if configured.strip() else default_key_path(store)
    try:
        key = load_key(key_path)
    except DataError:  # the key's own check says so
        return ""
    try:  # the witness before the log: the running kiosk commits first, then replaces it (it trails, never leads)
        doc = read_witness(witness_path(key_path))
    except DataError as exc:
        return f"{exc}: it witnesses the audit log of {store}"
    if key is None or doc is None or not store.is_file():
        return ""
    try:
        conn = sales.connect_readonly(store, timeout=5)
        try:
            last = conn.execute("SELECT seq FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()

            def hash_at(seq: int) -> str | None:
                row = conn.execute("SELECT hash FROM audit_log WHERE seq = ? ORDER BY id LIMIT 1", (seq,)).fetchone()
                return row[0] if row else None

            return refusal(store, witness_path(key_path), doc, key, False, last[0] if last else 0, hash_at) or ""
        finally:
            conn.close()
    except sqlite3.Error:  # not a sales database the kiosk can read: the database's own check says so
        return ""


def _ledger(uri: str) -> tuple[str, str]:
    target = uri.partition(":")[2].split("?", 1)[0] if uri.startswith("sim:") else ""
    return _database(Path(target), "terminal ledger", ("charges",)) if target else ("", "")


def check_state(ctx: Context) -> CheckResult:
    """The sales database, its audit key, the gallery and the terminal ledger: each opens as the kiosk will open it."""
    from kiosk.gallery.store import COLUMNS, DB_FILE
    from kiosk.store import SCHEMA_VERSION

    c = ctx.config
    store = Path(c.store)
    found = [_database(store, "sales database", SALES_TABLES, SCHEMA_VERSION), (_audit_key(store, c.audit_key), ""),
             (_witness(store, c.audit_key), WITNESS_ADVICE),
             _database(Path(c.gallery) / DB_FILE, "gallery", set(COLUMNS)) if c.gallery.strip() else ("", ""),
             _ledger(c.payment_terminal)]
    problems = [(p, fix or state_advice(ctx)) for p, fix in found if p]
    if problems:
        fixes = "; ".join(dict.fromkeys(fix for _, fix in problems))
        return CheckResult(FAIL, "state", "; ".join(p for p, _ in problems), fixes)
    parts = [f"{store}" + ("" if store.exists() else " (new: made at the first start)")]
    if c.gallery.strip():
        parts.append(f"gallery {c.gallery}")
    unused = _taught_unused(ctx, Path(c.gallery) / DB_FILE) if c.gallery.strip() else ""
    if unused:
        return CheckResult(WARN, "state", ", ".join(parts) + f" open; {unused}",
                           "roll forward to a model exported with gallery fusion (`checkout kiosk rollback` lists "
                           "the versions), or teach the products again under a newer model")
    return CheckResult(OK, "state", ", ".join(parts) + ": open as the kiosk will open them")


def _taught_unused(ctx: Context, gallery: Path) -> str:
    """Taught products the model the kiosk will run cannot suggest (a bundle without gallery fusion, e.g. an older
    one after a rollback), in words; ``""`` when there are none, or the model or gallery cannot be read (their own
    checks say so)."""
    from kiosk.bundle_format.openset import embedding_info
    from kiosk.doctor.model import read_model_manifest
    from kiosk.errors import BundleError

    if not gallery.is_file():
        return ""
    try:
        manifest = read_model_manifest(ctx)
        info = embedding_info(manifest)
    except (BundleError, OSError, ValueError):
        return ""
    if info is not None and info.fusion is not None:
        return ""
    try:
        conn = sqlite3.connect(f"{gallery.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            skus = [r[0] for r in conn.execute(
                "SELECT DISTINCT sku FROM enrollments WHERE withdrawn_at IS NULL ORDER BY sku")]
        finally:
            conn.close()
    except sqlite3.Error:
        return ""
    if not skus:
        return ""
    return (f"taught products are not suggested by model v{manifest.model_version}: it has no gallery fusion "
            f"({len(skus)} taught: {', '.join(skus[:5])}{' …' if len(skus) > 5 else ''}); teach them again under a "
            "newer model or roll forward")
