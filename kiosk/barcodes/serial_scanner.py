"""``serial:PORT?baud=9600``: a USB scanner in CDC/serial mode (or an RS-232 one) sending one code per line.

Lines end in CR, LF or CR LF (scanners ship with any of the three). A line of anything but printable ASCII and the
GS1 separator (GS, between the fields of a DataBar or GS1-128 element string), or longer than 96 bytes, is logged
with its raw bytes and dropped. A scanner sends a code's characters back to back: characters followed by a silence
longer than ``gap_ms`` without a line end (a scan cut short, a misread) are logged and dropped, never glued onto the
next scan (:class:`~kiosk.barcodes.scanner.CodeBuffer`, as the keyboard wedge does); closing the port drops them too.
The port is read by a thread of its own (``scanner reader``) that does nothing else: bytes are timed as they arrive
and split into codes there, and finished codes wait in a queue for :meth:`SerialScanner.read`. However long the
caller is busy between reads (the scanner loop waiting for the checkout), a fragment and the next scan are never
read together as one code (they were: ``2400`` and 300 ms later ``96300008`` read as the valid ``240096300008``).

A port that fails (the cable pulled) is closed and reopened after 0.25 s, then 0.5 s, 1 s, 2 s, 2 s …: one
warning when the scanner goes and one when it is back, and the scanner's observers hear ``lost`` and ``live``
(:class:`~kiosk.barcodes.scanner.ScannerStatus`).
Options: ``baud`` (9600), ``bytesize`` (8), ``parity`` (N), ``stopbits`` (1), ``gap_ms`` (100; 50..1000: a silence
is noticed after the port's 50 ms read timeout).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from kiosk.barcodes.scanner import LIVE, CodeBuffer, Scanner, ScannerError, ScannerStatus

__all__ = ["SerialScanner"]

log = logging.getLogger(__name__)

MAX_LINE = 96  # a GS1 DataBar Expanded element string can hold 74 digits, plus separators and ]e0
GS = 0x1D  # FNC1 between the variable-length fields of a GS1 element string
#: reopening a lost port: the first wait and the longest, seconds (doubling in between)
RETRY = (0.25, 2.0)
OPTIONS = ("baud", "bytesize", "parity", "stopbits", "gap_ms")
#: finished codes waiting for the caller; more are logged and dropped (no one scans 64 items during one payment)
MAX_QUEUED = 64


class SerialScanner(Scanner):
    scheme = "serial"

    def __init__(self, port: str, *, baud: int = 9600, bytesize: int = 8, parity: str = "N", stopbits: int = 1,
                 gap_ms: float = 100.0, name: str | None = None, retry: tuple[float, float] | None = None) -> None:
        try:
            import serial
        except ImportError:
            raise ScannerError("serial scanners need pyserial: pip install pyserial") from None
        self._serial_mod = serial
        self.port, self.name = port, name or f"serial:{port}"
        self.settings = {"baudrate": baud, "bytesize": bytesize, "parity": parity, "stopbits": stopbits}
        self._port = None
        self._buffer = CodeBuffer(gap_ms / 1000.0, b"")
        self._retry, self._attempt, self._retry_at = retry or RETRY, 0, 0.0
        self.dropped = 0
        self._codes: queue.Queue[str] = queue.Queue(MAX_QUEUED)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._reader_lock = threading.Lock()  # starting and stopping the reader
        try:
            self._open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(f"scanner {self.name!r}: cannot open serial port {port!r}: {exc}") from None
        self._start_reader()

    @classmethod
    def from_uri(cls, uri, target, options):
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown or not target:
            raise ScannerError(f"scanner {uri!r}: serial:PORT takes the options {', '.join(OPTIONS)}")
        try:
            values = {"baud": int(options.get("baud", "9600")), "bytesize": int(options.get("bytesize", "8")),
                      "stopbits": int(options.get("stopbits", "1"))}
        except ValueError:
            raise ScannerError(f"scanner {uri!r}: baud, bytesize and stopbits are whole numbers") from None
        try:
            gap = float(options.get("gap_ms", "100"))
        except ValueError:
            gap = -1.0
        parity = options.get("parity", "N").upper()
        if values["baud"] <= 0 or values["bytesize"] not in (7, 8) or values["stopbits"] not in (1, 2) \
                or parity not in ("N", "E", "O") or not 50 <= gap <= 1000:
            raise ScannerError(f"scanner {uri!r}: baud > 0, bytesize 7 or 8, parity N/E/O, stopbits 1 or 2, gap_ms "
                               "50..1000")
        return cls(target, parity=parity, gap_ms=gap, name=uri, **values)

    def _open(self) -> None:
        self._port = self._serial_mod.Serial(self.port, timeout=0.05, **self.settings)

    @property
    def _pending(self) -> bytes:
        """What came and is not a line yet."""
        return self._buffer.data

    def _line(self) -> bytes | None:
        """The next line (CR, LF or CR LF end it; the empty line between CR and LF is skipped by the caller)."""
        pending = self._buffer.data
        ends = [p for p in (pending.find(b"\r"), pending.find(b"\n")) if p >= 0]
        if not ends:
            return None
        pos = min(ends)
        line, self._buffer.data = pending[:pos], pending[pos + 1:]
        return line

    def read(self, timeout: float) -> str | None:
        """The next finished code, waiting up to ``timeout`` s (the reader thread is started again after close)."""
        self._start_reader()
        try:
            return self._codes.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def _start_reader(self) -> None:
        with self._reader_lock:
            if self._reader is not None and self._reader.is_alive():
                return
            self._stop.clear()
            self._reader = threading.Thread(target=self._read_port, name=f"scanner reader {self.name}", daemon=True)
            self._reader.start()

    def _read_port(self) -> None:
        """The reader thread: read the port, time what arrives, queue finished codes; nothing else."""
        while not self._stop.is_set():
            try:
                if not self._fill():  # the port is gone: wait for the next attempt
                    self._stop.wait(max(0.0, self._retry_at - time.monotonic()))
                self._queue_lines()
            except Exception:  # a driver bug must not end the scanner unsaid
                log.exception("%s: reading the scanner failed", self.name)
                self._stop.wait(0.25)

    def _queue_lines(self) -> None:
        while (line := self._line()) is not None:
            text = self._check(line)
            if text is None:
                continue
            try:
                self._codes.put_nowait(text)
            except queue.Full:
                log.warning("%s: scan %r dropped: %d codes already wait to be read", self.name, text, MAX_QUEUED)
                self.dropped += 1

    def _fill(self) -> bool:
        """Read what arrived; False when the port is gone (it is reopened once its wait is over)."""
        if self._port is None and not self._reopen():
            return False
        try:
            data = self._port.read(max(1, self._port.in_waiting))
        except (self._serial_mod.SerialException, OSError) as exc:
            self._lost(exc)
            return False
        now = time.monotonic()
        if data:
            self._buffer.add(data, now)
        else:  # the line was silent for the port's timeout
            self._drop(self._buffer.expire(now), f"no line end within {self._buffer.gap_s * 1000:.0f} ms")
        if len(self._buffer.data) > 4 * MAX_LINE and not any(e in self._buffer.data for e in (b"\r", b"\n")):
            self._drop(self._buffer.clear(), "no line end")
        return True

    def _reopen(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._open()
        except (self._serial_mod.SerialException, OSError, ValueError) as exc:
            self._lost(exc)
            return False
        if self.status.state != "live":
            log.warning("%s: the scanner is back (port reopened after %d attempt(s))", self.name, self._attempt)
            self._attempt = 0
            self._set_status(LIVE)
        return True

    def _lost(self, exc: Exception) -> None:
        """The port failed: closed, and reopened after a wait that doubles with each failed attempt."""
        self._close_port()
        self._attempt += 1
        first, most = self._retry
        delay = min(most, first * 2 ** min(self._attempt - 1, 30))
        self._retry_at = time.monotonic() + delay
        if self.status.state == "live":
            log.warning("%s: the scanner is gone (%s); trying to reopen it every %g s at most", self.name, exc, most)
            self._set_status(ScannerStatus("lost", str(exc), self._attempt, delay))
        else:
            log.debug("%s: still gone (attempt %d: %s); next try in %.2f s", self.name, self._attempt, exc, delay)

    def _drop(self, fragment: bytes, why: str) -> None:
        if fragment:
            log.warning("%s: %d byte(s) dropped, %s (a scan cut short?): %r", self.name, len(fragment), why,
                        fragment[:80])
            self.dropped += 1

    def _check(self, line: bytes) -> str | None:
        if not line:
            return None
        if len(line) > MAX_LINE or not all(0x20 < b < 0x7F or b == GS for b in line):
            log.warning("%s: unreadable scan dropped: %r", self.name, line[:80])
            self.dropped += 1
            return None
        return line.decode("ascii")

    def close(self) -> None:
        """Stop the reader and close the port; characters of a code not finished are dropped (a later read reopens
        the port)."""
        with self._reader_lock:
            self._stop.set()
            reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(2.0)
        self._close_port()

    def _close_port(self) -> None:
        self._drop(self._buffer.clear(), "the port was closed")
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None
