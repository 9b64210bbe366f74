"""The kiosk's own files: its sales database, the audit key beside it, the gallery of products taught here and the
simulated terminal's ledger. Each one the kiosk would refuse to start on (garbage, cut short, a folder, another
program's database) is a FAIL naming it, found before the store opens. Everything is opened read-only: the doctor
never creates, migrates or repairs what it checks; a file not there yet is what a new till has (the kiosk makes it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from kiosk.doctor.core import FAIL, OK, CheckResult, Context

__all__ = ["check_state", "state_advice"]

#: tables a sales database of any schema version has
SALES_TABLES = ("carts", "cart_lines", "sales")


def state_advice(ctx: Context) -> str:
    return ("restore the file from the kiosk's backup, or move it aside (the kiosk starts a new one; a sales database "
            "moved aside keeps its sales for head office and the tax records)")


def _tables(path: Path) -> set[str]:
    """The tables of the SQLite file at ``path``, opened read-only. Its schema is read as the kiosk's first query
    reads it (a cut or foreign file fails here); the rows are not scanned: a start must not wait on a years-old
    database, and the kiosk does not refuse one for a damaged old page either."""
    conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def _database(path: Path, what: str, wanted: tuple[str, ...] | set[str]) -> str:
    """A problem with the database at ``path`` ("" when it is fine or not there yet)."""
    if not path.exists() and not path.is_symlink():
        return ""
    if not path.is_file():
        from kiosk.inputfiles import not_a

        return not_a(path, f"a {what}")
    try:
        tables = _tables(path)
    except sqlite3.Error as exc:
        return f"{path}: not a usable {what} ({exc})"
    missing = sorted(set(wanted) - tables)
    if tables and missing:
        return f"{path}: not a {what} (no table {', '.join(missing)})"
    return ""


def _audit_key(store: Path, configured: str) -> str:
    from kiosk.errors import DataError
    from kiosk.store.audit import default_key_path, load_key

    path = Path(configured) if configured.strip() else default_key_path(store)
    try:
        load_key(path)
    except DataError as exc:
        return str(exc)
    return ""


def _ledger(uri: str) -> str:
    target = uri.partition(":")[2].split("?", 1)[0] if uri.startswith("sim:") else ""
    return _database(Path(target), "terminal ledger", ("charges",)) if target else ""


def check_state(ctx: Context) -> CheckResult:
    """The sales database, its audit key, the gallery and the terminal ledger: each opens as the kiosk will open it."""
    from kiosk.gallery.store import COLUMNS, DB_FILE

    c = ctx.config
    store = Path(c.store)
    problems = [_database(store, "sales database", SALES_TABLES), _audit_key(store, c.audit_key),
                _database(Path(c.gallery) / DB_FILE, "gallery", set(COLUMNS)) if c.gallery.strip() else "",
                _ledger(c.payment_terminal)]
    problems = [p for p in problems if p]
    if problems:
        return CheckResult(FAIL, "state", "; ".join(problems))
    parts = [f"{store}" + ("" if store.exists() else " (new: made at the first start)")]
    if c.gallery.strip():
        parts.append(f"gallery {c.gallery}")
    return CheckResult(OK, "state", ", ".join(parts) + ": open as the kiosk will open them")
