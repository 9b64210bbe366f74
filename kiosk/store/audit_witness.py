"""The audit log's witness: its last row (seq, hash, time, MACed with the audit key) in a file **outside** the
database, beside the key (``<key file>.head``), so that rows cut off the log's end -- a ``-wal`` file deleted after a
power cut, a restored older copy, a trailing ``staff disable`` row deleted with SQLite's counter set back -- are
seen, though every check inside the file still passes (the format: :func:`kiosk.exchange.audit.seal_witness`).

Order of writes: the database commits first, then the witness is replaced (written whole, fsynced, renamed, its
folder fsynced: :func:`~kiosk.bundle_format.atomic.atomic_write`). A crash between the two leaves the witness
*behind* the log, which is fine; a witness *ahead* of the log, or naming another row at its seq, is a log rolled
back or replaced. A witness that cannot be written is a warning (the sale is committed and stays).

When a store is opened with its key (the kiosk, the till's commands that write) the log is checked against its
witness (:func:`refusal`): rolled back, replaced, or a witness edited by hand refuses the open in one line naming
both files -- the kiosk would otherwise issue the lost receipt numbers again. A log without a witness file gets one,
and an ``audit.witness_started`` row first; it says ``lost`` when the log had a witness before (begun with one, or
witnessed since), which ``checkout audit verify`` and head office name.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.errors import DataError
from kiosk.exchange.audit import key_id, witness_against, witness_mac_ok, witness_problem
from kiosk.inputfiles import KB, read_bounded

__all__ = ["WITNESS_SUFFIX", "read_witness", "refusal", "witness_path", "write_witness"]

log = logging.getLogger(__name__)

WITNESS_SUFFIX = ".head"


def witness_path(key_path: str | os.PathLike) -> Path:
    """Where the witness of the log MACed with the key at ``key_path`` is kept: beside it."""
    key_path = Path(key_path)
    return key_path.with_name(key_path.name + WITNESS_SUFFIX)


def read_witness(path: str | os.PathLike) -> dict[str, Any] | None:
    """The witness at ``path`` (None: no file there); :class:`~kiosk.errors.DataError` naming it when it is not one."""
    try:
        text = read_bounded(path, 4 * KB, "an audit witness", text=True, error=DataError)
        doc = json.loads(text.decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"{path}: not an audit witness ({exc})") from None
    problem = witness_problem(doc)
    if problem:
        raise DataError(f"{path}: {problem}")
    return doc


def write_witness(path: Path, doc: dict[str, Any]) -> None:
    """Replace the witness at ``path`` with ``doc``: whole, fsynced, its folder too (OSError: the caller's)."""
    from kiosk.bundle_format.atomic import atomic_write

    atomic_write(path, json.dumps(doc, sort_keys=True) + "\n")


def refusal(store: Path, path: Path, doc: dict[str, Any], key: bytes, rekeyed: bool, last_seq: int,
            hash_at: Callable[[int], str | None]) -> str | None:
    """Why the log of ``store`` (its last row ``last_seq``) cannot be opened against its witness ``doc`` at ``path``
    (None: it fits). ``rekeyed``: the key was made just now (its file was missing), so a witness under the
    old key is compared unauthenticated; ``hash_at(seq)``: the log's row hash at ``seq``."""
    aside = "move the witness aside to go on with this database (recorded in its audit log)"
    if doc["key_id"] == key_id(key) and not witness_mac_ok(doc, key):
        return f"{path}: the audit witness of {store} was edited by hand (its MAC is not the audit key's); {aside}"
    if doc["key_id"] != key_id(key) and not rekeyed:
        log.warning("audit: the witness %s was made with key %s, not the key in use (%s): compared unauthenticated",
                    path, doc["key_id"], key_id(key))
    verdict = witness_against(doc, last_seq, hash_at)
    if verdict == "ahead":
        return (f"{store}: its audit log ends at row {last_seq}, but its witness {path} says row {doc['seq']} "
                f"({doc['at'][:19]}) was committed: the database was rolled back (a deleted -wal file, a restored "
                f"older copy, rows cut off) and would issue receipt numbers again; put the newer database (or its "
                f"-wal) back, or {aside}")
    if verdict == "differs":
        return (f"{store}: its audit row {doc['seq']} is not the one its witness {path} holds ({doc['at'][:19]}): the "
                f"database was replaced or rewritten; put the kiosk's own database back, or {aside}")
    return None

