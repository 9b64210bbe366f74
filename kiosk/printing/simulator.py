"""An ESC/POS receipt printer on a pseudo-terminal that answers status requests: for tests and for the demo.

:class:`PrinterSimulator` opens a pty pair and reads what the kiosk writes to the slave end as a serial printer would:
the receipt's bytes are kept (:attr:`~PrinterSimulator.received`, :meth:`~PrinterSimulator.receipts`) and each real-time
status request ``DLE EOT n`` is answered with the status byte an Epson TM printer sends (n = 1 printer, 2 offline
cause, 3 error cause, 4 roll paper sensor). Set ``paper`` (``ok``, ``near_end``, ``out``), ``cover_open``, ``error``
(``""``, ``cutter``, ``unrecoverable``, ``overheated``) to drive the faults, and ``mute`` for a printer that is
switched off (the line takes the bytes, nothing answers).

Dev tool::

    python -m kiosk.printing.simulator      # prints escpos:/dev/pts/N

then set ``receipt_printer`` to the printed URI. Type ``paper out``, ``paper near``, ``paper ok``, ``cover open``,
``cover close``, ``error cutter``, ``error none``, ``off``, ``on`` or ``quit``; each receipt's text is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import sys
import threading

from kiosk.pty_device import PtyDevice

__all__ = ["PrinterSimulator", "status_byte", "PAPER_STATES", "ERRORS"]

DLE_EOT = b"\x10\x04"
CUT = re.compile(rb"\x1dV(?:[\x00\x01\x30\x31]|[\x41\x42].)", re.DOTALL)  # GS V m [n]: cut the paper
PAPER_STATES = ("ok", "near_end", "out")
#: error → its bit in the ``DLE EOT 3`` answer (error cause)
ERRORS = {"": 0, "cutter": 0x08, "unrecoverable": 0x20, "overheated": 0x40}
_FIXED = 0x12  # bits 1 and 4 are always set, 0 and 7 never: how a host tells a status byte from other bytes


def status_byte(n: int, paper: str = "ok", cover_open: bool = False, error: str = "") -> int | None:
    """The answer of an ESC/POS printer in this state to ``DLE EOT n`` (None: n is not a status request)."""
    out, near = paper == "out", paper == "near_end"
    if n == 1:  # printer status: bit 3 offline
        return _FIXED | (0x08 if out or cover_open or error else 0)
    if n == 2:  # offline cause: bit 2 cover open, bit 5 stopped at paper end, bit 6 an error
        return _FIXED | (0x04 if cover_open else 0) | (0x20 if out else 0) | (0x40 if error else 0)
    if n == 3:  # error cause
        return _FIXED | ERRORS[error]
    if n == 4:  # roll paper sensor: bits 2-3 near end, bits 5-6 paper end
        return _FIXED | (0x0C if near or out else 0) | (0x60 if out else 0)
    return None


class PrinterSimulator(PtyDevice):
    what = "printer"

    def __init__(self) -> None:
        super().__init__()
        self.paper = "ok"
        self.cover_open = False
        self.error = ""
        self.mute = False
        self.received = bytearray()  # every byte but the status requests, in order
        self.requests: list[int] = []  # the n of every DLE EOT n received
        self._pending = b""
        self._lock = threading.Lock()

    # -- protocol logic (no I/O) ------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Take bytes from the line; returns what the printer answers."""
        with self._lock:
            buffer, answers = self._pending + bytes(data), bytearray()
            while buffer:
                at = buffer.find(DLE_EOT)
                if at < 0:
                    keep = 1 if buffer.endswith(DLE_EOT[:1]) else 0  # a request cut between two reads
                    self.received += buffer[:len(buffer) - keep]
                    buffer = buffer[len(buffer) - keep:]
                    break
                self.received += buffer[:at]
                if len(buffer) < at + 3:
                    buffer = buffer[at:]
                    break
                n = buffer[at + 2]
                self.requests.append(n)
                answer = status_byte(n, self.paper, self.cover_open, self.error)
                if answer is not None and not self.mute:
                    answers.append(answer)
                buffer = buffer[at + 3:]
            self._pending = buffer
            return bytes(answers)

    def receipts(self) -> list[bytes]:
        """The receipts received so far, each up to and with its cut."""
        with self._lock:
            data = bytes(self.received)
        ends = [m.end() for m in CUT.finditer(data)]
        return [data[start:end] for start, end in zip([0, *ends], ends)]

    # -- pty --------------------------------------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"escpos:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                if not select.select([self._master], [], [], 0.05)[0]:
                    continue
                data = os.read(self._master, 4096)
            except OSError:
                return
            if not data:
                return
            answer = self.feed(data)
            if answer:
                try:
                    os.write(self._master, answer)
                except OSError:
                    return


def _text(receipt: bytes) -> str:
    """A receipt's printable text (commands left out, roughly), for the dev tool."""
    text = re.sub(rb"\x1b[@]|\x1b[tadE].|\x1d!.|\x1dV..", b"", receipt)
    return text.decode("cp858", errors="replace")


def _apply(sim: PrinterSimulator, words: list[str]) -> bool:
    if words == ["quit"]:
        return False
    if len(words) == 2 and words[0] == "paper" and words[1] in ("ok", "near", "out"):
        sim.paper = {"near": "near_end"}.get(words[1], words[1])
    elif len(words) == 2 and words[0] == "cover" and words[1] in ("open", "close"):
        sim.cover_open = words[1] == "open"
    elif len(words) == 2 and words[0] == "error" and words[1] in (*ERRORS, "none"):
        sim.error = "" if words[1] == "none" else words[1]
    elif words in (["off"], ["on"]):
        sim.mute = words == ["off"]
    elif words:
        print("?  paper ok|near|out, cover open|close, error cutter|unrecoverable|overheated|none, off, on, quit")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.printing.simulator", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    with PrinterSimulator() as sim:
        print(sim.uri, flush=True)
        shown, going = 0, True
        while going:
            receipts = sim.receipts()
            for receipt in receipts[shown:]:
                print(_text(receipt), flush=True)
            shown = len(receipts)
            if select.select([sys.stdin], [], [], 0.2)[0]:
                line = sys.stdin.readline()
                going = bool(line) and _apply(sim, line.split())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
