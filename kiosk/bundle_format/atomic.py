"""One way to replace a file so that readers (and a crash at any moment) see the old bytes or the new, never a part.

The new content goes to a temporary file with a unique name in the target's directory (so two writers, or one that
finds a stale temporary left by a crash, never share it), is fsynced, renamed over the target with ``os.replace``,
and the directory is fsynced so the rename itself survives a power cut.

* :func:`atomic_write` — bytes or text you already have;
* :func:`atomic_open` — a file object to write into (``torch.save``, ``csv.writer``, ``np.save`` …);
* :class:`AtomicFile` — a temporary *path* for libraries that want a file name (a memory map, ``tarfile``), or for
  output written over several calls; :meth:`AtomicFile.commit` publishes it.

:func:`check_output` is the one check of a file a user names for a command to write (``--csv``, ``--out FILE``);
:func:`shown` is how a path goes into a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def fsync_dir(path: Path | str) -> None:
    """Make a rename or a new entry in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicFile:
    """A fresh, empty temporary file beside ``path`` (``tmp``) that :meth:`commit` renames onto ``path``.

    As a context manager it commits when the block ends normally and removes the temporary on an exception.
    The temporary is created with ``O_EXCL`` and the usual permissions (0666 less the umask); with ``locked`` the
    writer holds an ``flock`` on it until it is committed or discarded (the feedback outbox sweeps temporaries nobody
    holds: a killed writer's).
    """

    def __init__(self, path: Path | str, *, locked: bool = False):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.tmp")
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        self._held: int | None = None
        self._synced = False
        if locked:  # held until commit or discard: a sweep of temporaries tells a live write from a dead one
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held = fd
        else:
            os.close(fd)

    def _release(self) -> None:
        if self._held is not None:
            os.close(self._held)
            self._held = None

    def write(self, data: bytes) -> None:
        """The temporary's whole content, written and fsynced: durable before anything that needs it is recorded
        (a database row, say), so :meth:`commit` after that is only the rename."""
        with open(self.tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        self._synced = True

    def commit(self, *, sync_dir: bool = True) -> Path:
        """Rename the temporary onto ``path`` (fsynced first unless :meth:`write` did); ``sync_dir=False`` leaves
        the directory's fsync to the caller (one for many files)."""
        if not self._synced:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(self.tmp, self.path)
        self._release()
        if sync_dir:
            fsync_dir(self.path.parent)
        return self.path

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)
        self._release()

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()
            return
        try:
            self.commit()
        except BaseException:
            self.discard()
            raise


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """``open(path, mode)`` for writing, but the file appears at ``path`` only when the block ends normally."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file; mode {mode!r} is not a 'w' mode")
    with AtomicFile(path) as target, open(target.tmp, mode, **open_kwargs) as fh:
        yield fh


def atomic_write(path: Path | str, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Replace ``path`` with ``data`` (text is encoded with ``encoding``) crash-safely; returns ``path``."""
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    with atomic_open(path, "wb") as fh:
        fh.write(payload)
    return Path(path)


SQLITE_HEADER = b"SQLite format 3\0"
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")  # a SQLite write-ahead log's first bytes
#: names of key files: the kiosk's audit key (``<store>.audit-key``), head office's signing (``NAME.key``, PEM) and
#: public keys (``NAME.pub``) and its enrolled kiosk keys (``<kiosk>.key``)
KEY_SUFFIXES = (".audit-key", ".key", ".pub", ".pem")
_AUDIT_KEY = re.compile(rb"\s*[0-9a-f]{64}\s*\Z")
_PUBLIC_KEY = re.compile(rb"ed25519 [A-Za-z0-9+/=]{40,}")


def shown(path: os.PathLike | str) -> str:
    """``path`` for a one-line message: as it is, or quoted with escapes when it holds a newline, a control
    character or bytes that are not text (so a crafted name cannot split or forge a line)."""
    text = os.fspath(path)
    return text if text.isprintable() else repr(text)


def _what_it_holds(path: Path) -> str | None:
    """``'a SQLite database'``, ``'a key'`` … when the regular file ``path`` holds data no output may replace."""
    if path.name.endswith(KEY_SUFFIXES):
        return "a key file"
    if path.name.endswith(("-wal", "-shm", "-journal")):
        return "a SQLite database's journal"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if head.startswith(SQLITE_HEADER):
        return "a SQLite database"
    if head[:4] in _WAL_MAGIC:
        return "a SQLite database's journal"
    if _AUDIT_KEY.match(head) or b"PRIVATE KEY-----" in head or _PUBLIC_KEY.match(head):
        return "a key file"
    if b'"kind": "audit-witness"' in head:  # the audit log's last row, kept beside its key (kiosk.store.audit_witness)
        return "an audit witness"
    return None


def check_output(path: os.PathLike | str, *, force: bool = False, option: str = "--out", error=None) -> Path:
    """Refuse, before any work, to write a user-named output file over something: a database, a key, or anything
    that is not a regular file (a folder, a device, a pipe) always; any other file that is there unless ``force``.
    ``error`` (a :class:`~kiosk.errors.UserError`, the caller's own kind) names ``option`` and the path on one line."""
    from kiosk.errors import UserError

    error = error or UserError
    path = Path(path)
    where = f"{option} {shown(path)}"
    if not os.fspath(path).strip():
        raise error(f"{option}: empty; name the file to write")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path  # nothing there (or a link to nothing): the new file takes its place
    except OSError as exc:
        raise error(f"{where}: cannot be checked ({exc.strerror or exc}); nothing written") from None
    if not stat.S_ISREG(mode):
        from kiosk.inputfiles import path_kind

        raise error(f"{where} is {path_kind(path)}, not a file this command may write; nothing written")
    held = _what_it_holds(path)
    if held is not None:
        raise error(f"{where} is {held}; refusing to replace it (name a new file); nothing written")
    if not force:
        raise error(f"{where} already exists; --force replaces it; nothing written")
    return path
