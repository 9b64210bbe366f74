"""ESC/POS: the command set of the 58/80 mm thermal receipt printers (Epson TM, and the TVS, Posiflex and Xprinter
models Indian stores use). Only what a receipt needs: initialise, a code page, centred and emphasised text, feed and
a partial cut.

The bytes go to a device (``/dev/usb/lp0`` of the usblp driver, a serial port set up by the OS) or to a file, which is
appended to (a spool a test or a print server can read). ``₹`` is printed ``Rs.`` (not in the printers' code pages);
any other character the code page lacks becomes ``?``.
"""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

from kiosk.printing.base import PrinterError

__all__ = ["EscPosPrinter", "render", "ESC", "GS"]

ESC, GS = b"\x1b", b"\x1d"
INIT = ESC + b"@"
CODE_PAGE_858 = ESC + b"t\x13"  # PC858: Latin-1 with the euro sign, on every ESC/POS printer
ALIGN_LEFT, ALIGN_CENTRE = ESC + b"a\x00", ESC + b"a\x01"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
DOUBLE_ON, DOUBLE_OFF = GS + b"!\x11", GS + b"!\x00"
FEED_AND_CUT = ESC + b"d\x04" + GS + b"V\x42\x00"  # feed 4 lines, partial cut


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


class EscPosPrinter:
    """An ESC/POS printer at ``target`` (a device node or a file path)."""

    #: seconds a printer may take to accept one receipt's bytes
    timeout_s = 10.0

    def __init__(self, target: str) -> None:
        self.path = Path(target)
        if not self.path.parent.is_dir():
            raise PrinterError(f"receipt printer {target}: no directory {self.path.parent}")

    def describe(self) -> str:
        return f"ESC/POS on {self.path}"

    def print_text(self, text: str) -> None:
        """Send one receipt; a printer that does not take it within :attr:`timeout_s` (offline, out of paper,
        jammed, a pipe nobody reads) is a :class:`PrinterError`, never a kiosk that hangs on the Print button."""
        data = render(text)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise PrinterError(f"receipt printer {self.path}: cannot open ({exc.strerror or exc})") from None
        try:
            self._write_all(fd, data)
            if self.path.is_file():
                os.fsync(fd)
        except OSError as exc:
            raise PrinterError(f"receipt printer {self.path}: write failed ({exc.strerror or exc})") from None
        finally:
            os.close(fd)

    def _write_all(self, fd: int, data: bytes) -> None:
        deadline = time.monotonic() + self.timeout_s
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [fd], [], left)[1]:
                    raise PrinterError(f"receipt printer {self.path}: did not take the receipt within "
                                       f"{self.timeout_s:g} s (offline, out of paper or jammed?)") from None

    def close(self) -> None:
        pass
