"""Asking an ESC/POS printer whether it can print: the real-time status request ``DLE EOT n``.

Every ESC/POS printer (Epson TM and the printers that copy its command set) answers ``DLE EOT n`` with one byte as soon
as the request arrives, even while offline: n = 1 printer status (bit 3 offline), 2 offline cause (bit 2 cover open,
bit 5 stopped at paper end, bit 6 an error), 3 error cause (bit 3 autocutter, bit 5 unrecoverable, bit 6
auto-recoverable such as a hot print head), 4 roll paper sensor (bits 2-3 near end, bits 5-6 paper end). Bits 1 and 4
of every answer are set and bits 0 and 7 clear, which tells an answer from anything else on the line (automatic status
back, noise). A printer that sends nothing within the wait is switched off, not cabled, or one that cannot report its
status (``?status=none``).

Only a line the kiosk can read back is asked: a serial port or USB-serial adapter (a tty) and the usblp driver's
``/dev/usb/lp0`` (a character device opened for reading and writing). A named pipe cannot answer.
"""

from __future__ import annotations

import os
import select
import stat
import termios
import time
from pathlib import Path

from kiosk.printing.base import COVER_OPEN, NOT_ANSWERING, OFFLINE, OUT_OF_PAPER, PRINTER_FAULT, PrinterError

__all__ = ["check_ready", "can_answer", "prepare_line", "read_state", "PAPER_NEAR_END"]

DLE_EOT = b"\x10\x04"
#: the warning for staff when the roll is nearly used up (the receipt still prints)
PAPER_NEAR_END = "receipt paper near its end: change the roll soon"
_FAULTS = ((0x08, "autocutter error (paper jam?)"), (0x20, "unrecoverable error (switch it off and on)"),
           (0x40, "auto-recoverable error (print head too hot?)"), (0x04, "mechanical error"))


def can_answer(fd: int) -> bool:
    """The line can carry an answer back: a character device (tty, usblp), not a pipe."""
    return stat.S_ISCHR(os.fstat(fd).st_mode)


def prepare_line(fd: int) -> None:
    """A tty as a binary line: no echo (a serial port's default would send the printer's answers back to it as print
    data), no line editing, no CR/LF translation; speed, parity and flow control stay as the OS set them. Answers
    left over from before are dropped."""
    if not os.isatty(fd):
        return
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR | termios.IGNCR
                  | termios.ICRNL)
    attrs[1] &= ~termios.OPOST
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    termios.tcflush(fd, termios.TCIFLUSH)


def _drain(fd: int) -> None:
    for _ in range(64):  # what an earlier request left unread (a tty is flushed by prepare_line)
        try:
            if not os.read(fd, 256):
                return
        except BlockingIOError:
            return


def ask(fd: int, n: int, wait_s: float) -> int | None:
    """The printer's answer to ``DLE EOT n`` (None: nothing that is an answer within ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    request = memoryview(DLE_EOT + bytes([n]))
    while request:
        try:
            request = request[os.write(fd, request):]
        except BlockingIOError:
            if not select.select([], [fd], [], max(0.0, deadline - time.monotonic()))[1]:
                return None
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            return None
        try:
            chunk = os.read(fd, 64)
        except BlockingIOError:
            continue
        if not chunk:
            return None
        for byte in chunk:
            if byte & 0x93 == 0x12:
                return byte
    return None


def read_state(fd: int, wait_s: float, *, deadline: float | None = None,
               first_wait_s: float | None = None) -> tuple[str, str, str]:
    """(reason not to print or "", what the printer said, a warning for staff or "") from DLE EOT 1, 2, 3, 4.

    Each request waits ``wait_s`` (the first ``first_wait_s``: after a receipt its bytes may still be on the wire),
    none past ``deadline`` (``time.monotonic()``). A printer that answers one request and not a later one is not
    answering: a paper sensor that says nothing is never taken for paper."""
    first = wait_s if first_wait_s is None else first_wait_s
    if deadline is None:
        deadline = time.monotonic() + first + 3 * wait_s
    try:
        return _read_state(fd, wait_s, deadline, first)
    except OSError as exc:  # a usblp printer without a channel back, a USB-serial adapter pulled out
        return NOT_ANSWERING, f"cannot read its status ({exc.strerror or exc})", ""


def _read_state(fd: int, wait_s: float, deadline: float, first_wait_s: float) -> tuple[str, str, str]:
    def asked(n: int, wait: float) -> int | None:
        return ask(fd, n, max(0.0, min(wait, deadline - time.monotonic())))

    _drain(fd)
    printer = asked(1, first_wait_s)
    if printer is None:
        return NOT_ANSWERING, f"no answer to a status request (DLE EOT) within {first_wait_s:.2g} s", ""
    paper = asked(4, wait_s)
    if paper is None:
        return NOT_ANSWERING, (f"status {printer:#04x}, then no answer to the paper sensor's status request (DLE EOT "
                               f"4) within {wait_s:.2g} s: not answering"), ""
    said = f"status {printer:#04x}, paper {paper:#04x}"
    if paper & 0x60:
        return OUT_OF_PAPER, f"{said}: paper end", ""
    if printer & 0x08:
        cause = asked(2, wait_s)
        said += "" if cause is None else f", offline cause {cause:#04x}"
        if cause is not None and cause & 0x04:
            return COVER_OPEN, f"{said}: cover open", ""
        if cause is not None and cause & 0x20:
            return OUT_OF_PAPER, f"{said}: stopped at paper end", ""
        if cause is not None and cause & 0x40:
            error = asked(3, wait_s)
            what = [text for bit, text in _FAULTS if error is not None and error & bit] or ["an error"]
            return PRINTER_FAULT, f"{said}, error cause {error if error is None else hex(error)}: {', '.join(what)}", ""
        return OFFLINE, f"{said}: offline", ""
    return "", said, PAPER_NEAR_END if paper & 0x0C else ""


def check_ready(fd: int, path: Path, wait_s: float, after: bool = False, *, deadline: float | None = None,
                first_wait_s: float | None = None) -> str:
    """Raise :class:`PrinterError` unless the printer can print (``after``: it took a receipt and can still print);
    returns a warning for staff or "". ``wait_s``, ``deadline``, ``first_wait_s``: as :func:`read_state`."""
    reason, said, warning = read_state(fd, wait_s, deadline=deadline, first_wait_s=first_wait_s)
    if not reason:
        return warning
    if after:
        said += " after the receipt was sent: it may be cut short or not printed"
    elif reason == NOT_ANSWERING:
        said += " (switched off, cable out, or a printer that cannot report its status: set ?status=none)"
    raise PrinterError(f"receipt printer {path}: {said}", reason)
