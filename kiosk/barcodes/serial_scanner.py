"""``serial:PORT?baud=9600``: a USB scanner in CDC/serial mode (or an RS-232 one) sending one code per line.

Lines end in CR, LF or CR LF (scanners ship with any of the three). A line of anything but printable ASCII and the
GS1 separator (GS, between the fields of a DataBar or GS1-128 element string), or longer than 96 bytes, is logged
with its raw bytes and dropped. A port that fails is reopened on a later read.
Options: ``baud`` (9600), ``bytesize`` (8), ``parity`` (N), ``stopbits`` (1).
"""

from __future__ import annotations

import logging
import time

from kiosk.barcodes.scanner import Scanner, ScannerError

__all__ = ["SerialScanner"]

log = logging.getLogger(__name__)

MAX_LINE = 96  # a GS1 DataBar Expanded element string can hold 74 digits, plus separators and ]e0
GS = 0x1D  # FNC1 between the variable-length fields of a GS1 element string


class SerialScanner(Scanner):
    scheme = "serial"

    def __init__(self, port: str, *, baud: int = 9600, bytesize: int = 8, parity: str = "N", stopbits: int = 1,
                 name: str | None = None) -> None:
        try:
            import serial
        except ImportError:
            raise ScannerError("serial scanners need pyserial: pip install pyserial") from None
        self._serial_mod = serial
        self.port, self.name = port, name or f"serial:{port}"
        self.settings = {"baudrate": baud, "bytesize": bytesize, "parity": parity, "stopbits": stopbits}
        self._port = None
        self._pending = b""
        self.dropped = 0
        try:
            self._open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(f"scanner {self.name!r}: cannot open serial port {port!r}: {exc}") from None

    @classmethod
    def from_uri(cls, uri, target, options):
        unknown = sorted(set(options) - {"baud", "bytesize", "parity", "stopbits"})
        if unknown or not target:
            raise ScannerError(f"scanner {uri!r}: serial:PORT takes the options baud, bytesize, parity, stopbits")
        try:
            values = {"baud": int(options.get("baud", "9600")), "bytesize": int(options.get("bytesize", "8")),
                      "stopbits": int(options.get("stopbits", "1"))}
        except ValueError:
            raise ScannerError(f"scanner {uri!r}: baud, bytesize and stopbits are whole numbers") from None
        parity = options.get("parity", "N").upper()
        if values["baud"] <= 0 or values["bytesize"] not in (7, 8) or values["stopbits"] not in (1, 2) \
                or parity not in ("N", "E", "O"):
            raise ScannerError(f"scanner {uri!r}: baud > 0, bytesize 7 or 8, parity N/E/O, stopbits 1 or 2")
        return cls(target, parity=parity, name=uri, **values)

    def _open(self) -> None:
        self._port = self._serial_mod.Serial(self.port, timeout=0.05, **self.settings)

    def _line(self) -> bytes | None:
        """The next line (CR, LF or CR LF end it; the empty line between CR and LF is skipped by the caller)."""
        ends = [p for p in (self._pending.find(b"\r"), self._pending.find(b"\n")) if p >= 0]
        if not ends:
            return None
        pos = min(ends)
        line, self._pending = self._pending[:pos], self._pending[pos + 1:]
        return line

    def read(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            line = self._line()
            if line is not None:
                text = self._check(line)
                if text is not None:
                    return text
                continue
            if time.monotonic() >= deadline or not self._fill():
                return None

    def _fill(self) -> bool:
        """Read what arrived; False when the port is gone (it is reopened on a later call)."""
        try:
            if self._port is None:
                self._open()
            self._pending += self._port.read(max(1, self._port.in_waiting))
        except (self._serial_mod.SerialException, OSError) as exc:
            log.warning("%s: %s", self.name, exc)
            self.close()
            time.sleep(0.05)
            return False
        if len(self._pending) > 4 * MAX_LINE and not any(e in self._pending for e in (b"\r", b"\n")):
            log.warning("%s: %d bytes without a line end dropped: %r", self.name, len(self._pending),
                        self._pending[:80])
            self._pending, self.dropped = b"", self.dropped + 1
        return True

    def _check(self, line: bytes) -> str | None:
        if not line:
            return None
        if len(line) > MAX_LINE or not all(0x20 < b < 0x7F or b == GS for b in line):
            log.warning("%s: unreadable scan dropped: %r", self.name, line[:80])
            self.dropped += 1
            return None
        return line.decode("ascii")

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None
