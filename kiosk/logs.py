"""Where the kiosk's log lines go: the terminal, the systemd journal, and a rotating file.

:func:`setup_logging` is what ``checkout kiosk`` and ``checkout doctor`` call once their config is read:

* **stderr**: under systemd (``JOURNAL_STREAM`` names the very stream stderr is, see ``man systemd.exec``) each
  line starts with its sd-daemon priority (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug; ``man
  sd-daemon``) and carries no timestamp: journald adds its own and files the line under that priority
  (``journalctl -u checkout-kiosk -p warning``). On a terminal it is the human ``LEVEL logger: message``;
* **a file** (``log_file`` in the config): :class:`logging.handlers.RotatingFileHandler`, rotated at
  ``log_max_bytes`` keeping ``log_backups`` old files, each line with its local time.

Every handler redacts secrets (:class:`SecretFilter`): a staff PIN hash (``scrypt$…``) and the password of a URL
(``https://user:PASSWORD@host``, e.g. a channel behind basic auth) never reach a log.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

__all__ = ["LEVELS", "HUMAN_FORMAT", "FILE_FORMAT", "JournalFormatter", "SecretFilter", "journal_prefix",
           "redact", "setup_logging", "under_journal"]

#: the level names a config may give (``log_level``)
LEVELS = ("debug", "info", "warning", "error")
HUMAN_FORMAT = "%(levelname)s %(name)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_checkout_handler"  # set on the handlers this module installs, so a second set-up replaces them

_SECRETS = (
    (re.compile(r"scrypt\$[^\s'\"]*"), "scrypt$<redacted>"),  # a staff PIN hash
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@"), r"\1:<redacted>@"),  # user:password@ in a URL
)


def redact(text: str) -> str:
    """``text`` with secrets (PIN hashes, URL passwords) replaced by ``<redacted>``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class SecretFilter(logging.Filter):
    """Redacts the rendered message (and any exception text) of every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: the handler's own error report deals with it, as without us
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def journal_prefix(levelno: int) -> str:
    """The sd-daemon priority prefix for a logging level: ``<2>`` critical … ``<7>`` debug."""
    if levelno >= logging.CRITICAL:
        return "<2>"
    if levelno >= logging.ERROR:
        return "<3>"
    if levelno >= logging.WARNING:
        return "<4>"
    if levelno >= logging.INFO:
        return "<6>"
    return "<7>"


class JournalFormatter(logging.Formatter):
    """``<P>logger: message`` with no time; every line of a multi-line record (a traceback) gets the prefix,
    since journald files each line as its own entry."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = journal_prefix(record.levelno)
        return "\n".join(prefix + line for line in super().format(record).splitlines() or [""])


def under_journal(stream: IO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` (stderr by default) is the journal stream systemd named in ``JOURNAL_STREAM``
    (``DEVICE:INODE``; a child whose stderr was redirected elsewhere inherits the variable but not the stream)."""
    stream = sys.stderr if stream is None else stream
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):  # unset/garbled, or a stream with no file descriptor
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def _level(name: str, verbose: int) -> int:
    """The configured level, lowered by ``-v`` (each ``-v`` one step towards debug)."""
    level = getattr(logging, name.upper(), None) if name.lower() in LEVELS else None
    if level is None:
        raise ValueError(f"log level {name!r}: use one of {', '.join(LEVELS)}")
    return max(logging.DEBUG, min(level, logging.WARNING - 10 * verbose))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (as :data:`logging.lastResort` does), so a
    redirected or captured stderr is honoured after set-up."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> IO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: IO) -> None:  # StreamHandler.setStream; stderr stays stderr
        pass


def _stream_handler(stream: IO | None, environ: Mapping[str, str] | None) -> logging.Handler:
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    journal = under_journal(sys.stderr if stream is None else stream, environ)
    handler.setFormatter(JournalFormatter() if journal else logging.Formatter(HUMAN_FORMAT))
    return handler


def _file_handler(path: str, max_bytes: int, backups: int) -> logging.Handler:
    from kiosk.errors import UserError

    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=max_bytes, backupCount=backups,
                                                       encoding="utf-8")
    except OSError as exc:
        raise UserError(f"log_file {path}: cannot open it for writing ({exc.strerror or exc}); the kiosk user "
                        "needs write access to that directory") from None
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler


def _is_replaceable(handler: logging.Handler) -> bool:
    """Ours from an earlier set-up, or the plain stderr handler ``checkout`` installs before a config is read
    (never a test harness's capture handler, which subclasses StreamHandler)."""
    plain_stderr = type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.__stderr__)
    return getattr(handler, _MARK, False) or plain_stderr


def setup_logging(config=None, *, verbose: int = 0, stream: IO | None = None,
                  environ: Mapping[str, str] | None = None) -> logging.Logger:
    """Send the root logger to ``stream`` (stderr: journal or human format) and, when ``config.log_file`` is set,
    to that rotating file; returns the root logger. ``config`` is a :class:`~kiosk.config.KioskConfig` (``None``:
    its defaults). Calling it again replaces what an earlier call installed."""
    if config is None:
        from kiosk.config import KioskConfig

        config = KioskConfig()
    root = logging.getLogger()
    handlers = [_stream_handler(stream, environ)]
    if config.log_file.strip():
        handlers.append(_file_handler(config.log_file, config.log_max_bytes, config.log_backups))
    for old in [h for h in root.handlers if _is_replaceable(h)]:
        root.removeHandler(old)
        if getattr(old, _MARK, False) and isinstance(old, logging.FileHandler):
            old.close()
    for handler in handlers:
        handler.addFilter(SecretFilter())
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(_level(config.log_level, verbose))
    return root
