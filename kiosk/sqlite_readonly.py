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

__all__ = ["connect_readonly", "connect_uri"]


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
