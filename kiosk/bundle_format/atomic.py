"""One way to replace a file so that readers (and a crash at any moment) see the old bytes or the new, never a part.

The new content goes to a temporary file with a unique name in the target's directory (so two writers, or one that
finds a stale temporary left by a crash, never share it), is fsynced, renamed over the target with ``os.replace``,
and the directory is fsynced so the rename itself survives a power cut.

* :func:`atomic_write` — bytes or text you already have;
* :func:`atomic_open` — a file object to write into (``torch.save``, ``csv.writer``, ``np.save`` …);
* :class:`AtomicFile` — a temporary *path* for libraries that want a file name (a memory map, ``tarfile``), or for
  output written over several calls; :meth:`AtomicFile.commit` publishes it.
"""

from __future__ import annotations

import contextlib
import os
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

    def commit(self) -> Path:
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.tmp, self.path)
        self._release()
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
