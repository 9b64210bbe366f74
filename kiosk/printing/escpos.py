"""ESC/POS: the command set of the 58/80 mm thermal receipt printers (Epson TM, and the TVS, Posiflex and Xprinter
models Indian stores use). Only what a receipt needs: initialise, a code page, centred and emphasised text, feed and
a partial cut.

Where the bytes go (the part of the URI after ``escpos:``):

* ``DEVICE`` (``/dev/usb/lp0`` of the usblp driver, ``/dev/ttyUSB0``, ``/dev/serial/by-id/…``): a printer. The node
  is never created: a device that is not there is a printer that is not connected, and a regular file where the
  device should be (left by something that wrote to the path while the printer was unplugged) is refused, not
  appended to. A named pipe (a print server's) is written to as it is.
* ``file:PATH``: a spool file, created and appended to (tests, the demo, a print server that reads a file).

A device is asked for its status before each receipt (``DLE EOT``, :mod:`kiosk.printing.status`): one that is out of
paper, has its cover open, is offline, reports a fault or does not answer is refused before a byte of the receipt is
sent, and asked again once it took the receipt. ``?status=none`` (``escpos:/dev/usb/lp0?status=none``) is for a
printer that cannot answer: its receipts are sent unasked, as before. A spool file or a pipe is never asked.

``₹`` is printed ``Rs.`` (not in the printers' code pages); any other character the code page lacks becomes ``?``.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from pathlib import Path

from kiosk.printing import status as printer_status
from kiosk.printing.base import NOT_ANSWERING, NOT_CONNECTED, NOT_WORKING, PrinterError

__all__ = ["EscPosPrinter", "render", "parse_target", "ESC", "GS", "FILE_PREFIX", "STATUS_MODES"]

ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
CODE_PAGE_858 = ESC + b"t\x13"  # PC858: Latin-1 with the euro sign, on every ESC/POS printer
ALIGN_LEFT, ALIGN_CENTRE = ESC + b"a\x00", ESC + b"a\x01"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
DOUBLE_ON, DOUBLE_OFF = GS + b"!\x11", GS + b"!\x00"
FEED_AND_CUT = ESC + b"d\x04" + GS + b"V\x42\x00"  # feed 4 lines, partial cut
#: the target of a spool file: ``escpos:file:var/receipts.prn``
FILE_PREFIX = "file:"
#: ``?status=``: ``ask`` the printer (DLE EOT) before and after each receipt, or ``none`` (it cannot answer)
STATUS_MODES = ("ask", "none")
FORMS = "escpos:DEVICE[?status=ask|none] or escpos:file:PATH"


def _encode(line: str) -> bytes:
    return line.replace("₹", "Rs.").encode("cp858", errors="replace")


def render(text: str) -> bytes:
    """The ESC/POS bytes of a receipt's text: the first line (the store's name) centred in double size, the
    ``TOTAL`` line emphasised, every line as it is (the text is already laid out for the roll)."""
    out = [INIT, CODE_PAGE_858]
    lines = text.rstrip("\n").split("\n")
    for i, line in enumerate(lines):
        if i == 0:
            out += [ALIGN_CENTRE, DOUBLE_ON, _encode(line.strip()), b"\n", DOUBLE_OFF, ALIGN_LEFT]
        elif line.startswith("TOTAL"):
            out += [BOLD_ON, _encode(line), b"\n", BOLD_OFF]
        else:
            out += [_encode(line), b"\n"]
    out.append(FEED_AND_CUT)
    return b"".join(out)


def parse_target(target: str) -> tuple[str, bool, str]:
    """``target`` → (path, is a spool file, status mode); a malformed one is a :class:`PrinterError`."""
    uri = f"escpos:{target}"
    path, _, query = str(target).partition("?")
    spool = path.startswith(FILE_PREFIX)
    if spool:
        path = path[len(FILE_PREFIX):]
    if not path.strip() or "\x00" in path:
        raise PrinterError(f"receipt_printer={uri!r}: no path (expected {FORMS})")
    key, _, mode = query.partition("=")
    if query and (key != "status" or mode not in STATUS_MODES or spool):
        raise PrinterError(f"receipt_printer={uri!r}: unknown option {query!r} (expected {FORMS}; a spool file "
                           "cannot answer)")
    return path, spool, mode or ("none" if spool else "ask")


class EscPosPrinter:
    """An ESC/POS printer: a device node (see the module) or a spool file (``file:PATH``)."""

    #: seconds one receipt may take, status requests before and after it included: an error within them, never more
    timeout_s = 10.0
    #: seconds a printer may take to answer one status request (they answer in milliseconds)
    status_timeout_s = 1.0
    parse_target = staticmethod(parse_target)

    def __init__(self, target: str) -> None:
        path, self.spool, self.status = parse_target(target)
        self.path = Path(path)
        #: what the printer said at the last receipt that staff should know though it printed, else ""
        self.warning = ""
        if self.spool and not self.path.parent.is_dir():
            raise PrinterError(f"receipt printer {path}: no directory {self.path.parent}", NOT_WORKING)

    def describe(self) -> str:
        if self.spool:
            return f"ESC/POS to the file {self.path}"
        return f"ESC/POS on {self.path}" + (" (status not asked)" if self.status == "none" else "")

    def print_text(self, text: str) -> None:
        """Send one receipt; a printer that does not take it within :attr:`timeout_s` (offline, out of paper,
        jammed, a pipe nobody reads) is a :class:`PrinterError`, never a kiosk that hangs on the Print button. A
        printer asked for its status that is not ready is refused before any byte is sent (:attr:`warning`: what it
        said that staff should know though it printed). Each status request waits :attr:`status_timeout_s` (the first
        after the receipt what is left: the receipt's bytes may still be on the wire), all of it within
        :attr:`timeout_s`. Blocking: call it off the UI thread."""
        data = render(text)
        self.warning = ""
        deadline = time.monotonic() + self.timeout_s
        fd = self._open()
        try:
            asking = self.status == "ask" and printer_status.can_answer(fd)
            if asking:
                printer_status.check_ready(fd, self.path, self.status_timeout_s, deadline=deadline)
            self._write_all(fd, data, deadline)
            if self.spool:
                os.fsync(fd)
            if asking:  # it took every byte and can still print: the paper did not run out, the cover stayed shut
                self.warning = printer_status.check_ready(fd, self.path, self.status_timeout_s, after=True,
                                                          deadline=deadline,
                                                          first_wait_s=deadline - time.monotonic())
        except OSError as exc:
            raise PrinterError(f"receipt printer {self.path}: write failed ({exc.strerror or exc})",
                               NOT_WORKING) from None
        finally:
            os.close(fd)

    def _open(self) -> int:
        if self.spool:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
        else:  # never O_CREAT: a device that is not there is not connected, not a file to make
            mode = self._mode()
            self._check_node(mode)
            reads = self.status == "ask" and stat.S_ISCHR(mode or 0)  # a pipe opened to read would read itself
            flags = (os.O_RDWR if reads else os.O_WRONLY) | os.O_NONBLOCK | os.O_NOCTTY
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            gone = exc.errno in (errno.ENOENT, errno.ENXIO, errno.ENODEV)  # unplugged, off, a pipe nobody reads
            raise PrinterError(f"receipt printer {self.path}: cannot open ({exc.strerror or exc})"
                               + (": not connected" if gone else ""), NOT_CONNECTED if gone else NOT_WORKING) from None
        mode = os.fstat(fd).st_mode
        if self.spool and not stat.S_ISREG(mode):
            os.close(fd)
            raise PrinterError(f"receipt printer file:{self.path}: not a regular file", NOT_WORKING)
        if not self.spool:
            try:
                self._check_node(mode)  # the node may have changed since it was looked at
                printer_status.prepare_line(fd)
            except (PrinterError, OSError) as exc:
                os.close(fd)
                if isinstance(exc, PrinterError):
                    raise
                raise PrinterError(f"receipt printer {self.path}: cannot set up the line ({exc.strerror or exc})",
                                   NOT_WORKING) from None
        return fd

    def _mode(self) -> int | None:
        try:
            return os.stat(self.path).st_mode
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PrinterError(f"receipt printer {self.path}: cannot look at it ({exc.strerror or exc})",
                               NOT_WORKING) from None

    def _check_node(self, mode: int | None) -> None:
        """A device path must name a device or a pipe: nothing there is a printer not connected."""
        if mode is None:
            raise PrinterError(f"receipt printer {self.path}: no such device: not connected (unplugged or switched "
                               "off?)", NOT_CONNECTED)
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return
        kind = "a regular file" if stat.S_ISREG(mode) else "a directory" if stat.S_ISDIR(mode) else "not a device"
        raise PrinterError(f"receipt printer {self.path}: is {kind}, not a printer device (for a spool file write "
                           f"escpos:{FILE_PREFIX}{self.path})", NOT_CONNECTED)

    def _write_all(self, fd: int, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [fd], [], left)[1]:
                    raise PrinterError(f"receipt printer {self.path}: did not take the receipt within "
                                       f"{self.timeout_s:g} s (offline, out of paper or jammed?)",
                                       NOT_ANSWERING) from None

    def close(self) -> None:
        pass
