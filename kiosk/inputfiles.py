"""Reading a file a user names, bounded: a file far larger than its kind can be -- or a device that never ends, such
as /dev/zero -- is refused in one line after ``limit + 1`` bytes instead of filling the memory. Pipes (``<(…)``,
/dev/stdin) are read like files. Standard library only: every room may use it."""

from __future__ import annotations

import os

from kiosk.errors import UserError

__all__ = ["KB", "MB", "read_bounded"]

KB, MB = 1024, 1024 * 1024
CHUNK = MB


def _size(n: int) -> str:
    return f"{n // MB:,} MB" if n >= MB else f"{n // KB:,} KB"


def read_bounded(path: str | os.PathLike, limit: int, what: str, *, text: bool = False,
                 error: type[UserError] = UserError) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them; ``error`` (a :class:`UserError`, the caller's own kind)
    naming the file and ``what`` it should be when there are more, or -- with ``text`` -- at the first NUL byte (no
    text file holds one; binary data and UTF-16 do). An :class:`OSError` (missing, a folder, no permission) is the
    caller's to word."""
    chunks, size = [], 0
    with open(path, "rb") as fh:
        while size <= limit:
            chunk = fh.read(min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            nul = chunk.find(b"\0") if text else -1
            if nul >= 0:
                raise error(f"{path}: not UTF-8 text (a NUL byte at offset {size + nul}), so not {what}")
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:
        raise error(f"{path}: more than {_size(limit)}, too large for {what}")
    return b"".join(chunks)
