"""Reading a file a user names, bounded: a file far larger than its kind can be -- or a device that never ends, such
as /dev/zero -- is refused in one line after ``limit + 1`` bytes instead of filling the memory. Pipes (``<(…)``,
/dev/stdin) are read like files. Standard library only: every room may use it."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from typing import Any, BinaryIO

from kiosk.errors import DataError, UserError

__all__ = ["KB", "MB", "KINDS", "MAX_DEPTH", "MAX_NUMBER", "load_document", "nesting_problem", "not_a", "open_regular",
           "path_kind", "read_bounded", "read_document", "read_settings_toml"]

KB, MB = 1024, 1024 * 1024
CHUNK = MB
#: the deepest a document users or other machines hand us may nest (JSON from a kiosk, a kiosk.toml)
MAX_DEPTH = 32


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
        if exc.errno == errno.ELOOP:
            return "a loop of symbolic links"
        return f"unreadable ({exc.strerror or exc})"
    return "a file" if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "not a regular file")


def not_a(path: str | os.PathLike, what: str) -> str:
    """``"'x.mp4' does not exist"`` or ``"'x.mp4' is a folder, not a video file"``: why ``path`` cannot be used."""
    kind = path_kind(path)
    return f"{str(path)!r} does not exist" if kind == "missing" else f"{str(path)!r} is {kind}, not {what}"


def open_regular(path: str | os.PathLike, what: str, error: type[UserError] = UserError) -> BinaryIO:
    """``path`` open for reading (binary) when it is a regular file, links followed; otherwise ``error`` in one line
    saying what is there instead (:func:`not_a`: missing, a folder, a named pipe, a device, a link loop). Checked
    before the open (a device is never opened) and again on the open file, which is opened without waiting: a FIFO
    swapped in between cannot hang the reader. Where a user names a file to read and a pipe makes no sense."""
    kind = path_kind(path)
    if kind != "a file":
        raise error(not_a(path, what))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{str(path)!r} cannot be read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{str(path)!r} is {KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not {what}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def nesting_problem(doc: object, limit: int = MAX_DEPTH) -> str:
    """``"nested deeper than 32 levels"`` when ``doc`` (parsed JSON or TOML: dicts and lists) is, walked without
    recursion; "" when it is not. The one depth cap for documents users and other machines hand us."""
    todo = [(doc, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > limit:
            return f"nested deeper than {limit} levels"
        if isinstance(value, dict):
            todo += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            todo += [(v, depth + 1) for v in value]
    return ""


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
    read, is not UTF-8 text, not valid TOML or nested deeper than 32 levels (1,000 levels stopped the parser, fewer
    the settings' checks, with a RecursionError). A UTF-8 byte-order mark (Notepad writes one) is skipped."""
    import tomllib

    try:
        text = read_bounded(path, MB, "a kiosk settings file", text=True, error=error).decode("utf-8")
        doc = tomllib.loads(text.removeprefix("\ufeff"))
    except RecursionError:
        raise error(f"{path}: nested too deeply to read (at most {MAX_DEPTH} levels)") from None
    except FileNotFoundError:
        raise error(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except ValueError as exc:  # an integer of more digits than Python reads (4300): tomllib lets int() raise
        raise error(f"{path}: a number too long to read ({str(exc).split(';')[0]})") from None
    if nesting_problem(doc):
        raise error(f"{path}: nested too deeply to read (at most {MAX_DEPTH} levels)")
    return doc


# -- JSON from a user or another machine (kiosk.exchange.document names it for the exchange) ----------------------
#: what JSON carries exactly: a number beyond it in a document from outside is refused
MAX_NUMBER = 2**53


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON carries")


def _unfit(value: Any) -> str:
    """Why one scalar of a parsed document is unfit; "" when it is fit."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"a string holds a lone surrogate ({value[:40]!r})"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if abs(value) > MAX_NUMBER or not math.isfinite(value):  # abs first: isfinite floats a 400-digit int
            return f"a number beyond ±2**53 ({str(value)[:40]})"
    return ""


def _step(key: Any) -> str:
    text = str(key)
    return f"[{text}]" if isinstance(key, int) else f".{text}" if text.isidentifier() and len(text) <= 40 \
        else f"[{text[:40]!r}]"


def _located(doc: Any, bad: Any) -> str:
    """Where in ``doc`` the value ``bad`` is (``signed.groups.default.size``), walked again only for the message."""
    todo: list[tuple[Any, str]] = [(doc, "")]
    while todo:
        value, at = todo.pop()
        if value is bad:
            return at.lstrip(".") or "the document"
        if isinstance(value, dict):
            todo += [(k, f"{at}{_step(k)} (the key)") for k in value] + [(v, at + _step(k)) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, at + _step(i)) for i, v in enumerate(value)]
    return "the document"


def _problem(doc: Any) -> str:
    """Why ``doc`` (parsed JSON) is unfit and where, walking it without recursion; "" when it is fit."""
    problem = nesting_problem(doc)
    if problem:
        return problem
    todo = [doc]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo += list(value) + list(value.values())
        elif isinstance(value, list):
            todo += value
        else:
            problem = _unfit(value)
            if problem:
                return f"{_located(doc, value)}: {problem}"
    return ""


def load_document(raw: bytes, where: str, what: str, error: type[Exception] = DataError) -> Any:
    """The JSON document in ``raw``; ``error`` naming ``where`` and ``what`` it should be when it is not fit."""
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # a 5,000-digit integer is a ValueError too
        raise error(f"{where}: {what} is not JSON ({str(exc)[:200]})") from None
    problem = _problem(doc)
    if problem:
        raise error(f"{where}: {what} is not usable: {problem}")
    return doc


def read_document(path, limit: int, what: str, error: type[Exception] = DataError) -> Any:
    """The JSON document in the file at ``path`` (at most ``limit`` bytes), read as :func:`load_document` reads one;
    ``error`` in one line naming the file and ``what`` it should be when it is too large, unreadable, holds a NUL
    byte or is unfit. A missing file is a :class:`FileNotFoundError`, the caller's to word (often "none yet")."""
    try:
        raw = read_bounded(path, limit, what, text=True, error=error)  # a NUL byte: no JSON holds one
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    return load_document(raw, str(path), what, error)
