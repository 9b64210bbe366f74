"""Opening a SQLite file only to read it (the sales database's and the gallery's read-only commands): nothing is made,
written or removed. On a read-only mount, where SQLite cannot make the WAL index beside a database that no longer has
one, the file is opened immutable: nothing can change it there. A -wal journal with content not yet merged is never
skipped that way: the read-only error stands.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

__all__ = ["connect_readonly", "connect_uri", "damage"]


def connect_uri(path: Path, params: str, timeout: float = 10.0) -> sqlite3.Connection:
    """``path`` opened with URI ``params`` (autocommit, any thread), its first page read."""
    conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?{params}", uri=True, isolation_level=None,
                           check_same_thread=False, timeout=timeout)
    try:
        conn.execute("PRAGMA user_version").fetchone()  # SQLite opens the WAL index on the first read
    except BaseException:
        conn.close()
        raise
    return conn


def connect_readonly(path: Path, read_only_mount: Callable[[Path], bool], *, timeout: float = 10.0
                     ) -> sqlite3.Connection:
    """``path`` read-only; immutable where ``read_only_mount(path)`` says nothing can be written there (and no
    unmerged -wal journal would be skipped)."""
    try:
        return connect_uri(path, "mode=ro", timeout)
    except sqlite3.OperationalError:
        wal = Path(f"{path}-wal")
        try:
            pending = wal.exists() and wal.stat().st_size > 0
        except OSError:
            pending = True
        if pending or not read_only_mount(path):
            raise
    return connect_uri(path, "mode=ro&immutable=1", timeout)


def damage(conn: sqlite3.Connection, path: Path | str, *, budget_s: float | None = None) -> str:
    """What SQLite's ``PRAGMA quick_check`` (read-only: every page read, no index cross-check) finds wrong with the
    database ``conn`` has open, in one line naming ``path``; "" when it is whole -- or, with ``budget_s``, when the
    check did not finish within that many seconds (a start must not wait on a years-old database). Zeroed pages
    that none of a reader's queries touch pass every query, not this."""
    import time

    deadline = None if budget_s is None else time.monotonic() + budget_s
    if deadline is not None:
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.OperationalError as exc:
        if deadline is not None and "interrupt" in str(exc):
            return ""
        rows = [str(exc)]
    except sqlite3.DatabaseError as exc:  # "database disk image is malformed" before any row
        rows = [str(exc)]
    finally:
        if deadline is not None:
            conn.set_progress_handler(None, 0)
    if rows == ["ok"]:
        return ""
    first = " ".join(str(rows[0]).replace("*** in database main ***", "").split())[:200]
    more = f" (+{len(rows) - 1} more)" if len(rows) > 1 else ""
    return f"{path}: damaged: SQLite's quick_check finds it malformed ({first}){more}"
