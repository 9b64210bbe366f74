"""Reading a file a user names, bounded: a file far larger than its kind can be -- or a device that never ends, such
as /dev/zero -- is refused in one line after ``limit + 1`` bytes instead of filling the memory. Pipes (``<(…)``,
/dev/stdin) are read like files. Standard library only: every room may use it."""

from __future__ import annotations

import os
import stat

from kiosk.errors import UserError

__all__ = ["KB", "MB", "KINDS", "not_a", "path_kind", "read_bounded", "read_settings_toml"]

KB, MB = 1024, 1024 * 1024
CHUNK = MB


#: what a path can be besides a regular file, in words
KINDS = {stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a named pipe (FIFO)",
         stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}


def path_kind(path: str | os.PathLike) -> str:
    """What is at ``path``, links followed: ``'a file'``, ``'a folder'``, ``'a device'`` …, ``'a link to nothing'``
    or ``'missing'`` -- for a message that says what is there instead of "does not exist"."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a link to nothing" if os.path.islink(path) else "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return "a file" if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "not a regular file")


def not_a(path: str | os.PathLike, what: str) -> str:
    """``"'x.mp4' does not exist"`` or ``"'x.mp4' is a folder, not a video file"``: why ``path`` cannot be used."""
    kind = path_kind(path)
    return f"{str(path)!r} does not exist" if kind == "missing" else f"{str(path)!r} is {kind}, not {what}"


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


def read_settings_toml(path: str | os.PathLike, error: type[UserError] = UserError) -> dict:
    """A kiosk settings file (TOML, at most 1 MB) as a dict; ``error`` naming the file when it is missing, cannot be
    read, is not UTF-8 text or not valid TOML."""
    import tomllib

    try:
        return tomllib.loads(read_bounded(path, MB, "a kiosk settings file", text=True, error=error).decode("utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except ValueError as exc:  # an integer of more digits than Python reads (4300): tomllib lets int() raise
        raise error(f"{path}: a number too long to read ({str(exc).split(';')[0]})") from None
