"""``serial:PORT?protocol=mt-sics&baud=9600``: a scale on a serial port, through pyserial.

Options (defaults from the protocol where devices agree on them):

=========  =====================================================================
protocol   ``mt-sics`` (default) or ``nci`` (Avery Weigh-Tronix / NCI ECR protocol)
baud       9600
bytesize   7 or 8 (mt-sics 8, nci 7)
parity     N, E or O (mt-sics N, nci E)
stopbits   1 or 2
timeout    seconds to wait for a complete answer (0.5)
late       seconds after an unanswered command during which its late answer is waited for and dropped
           (3 × timeout)
command    mt-sics only: ``SI`` (immediate, reports motion; default) or ``S`` (stable only)
=========  =====================================================================

Every :meth:`SerialScale.read` flushes stale input, sends one weight command and waits for one
answer: exactly one frame, up to its terminator; bytes already waiting after it make the answer an
error (two frames for one command, or a stray terminator). No answer, a partial answer, garbage or a
port error become an ``error`` reading whose raw bytes are logged (a warning when the error changes,
then every 100th); a port that failed is reopened on a later read (at most once per
``reopen_interval`` seconds). Reads and zeroes from different threads take turns on the port.
A port that cannot be opened when the scale is created is a configuration error (ScaleError).

Neither protocol numbers its answers, so an answer that comes after its timeout would be read as the answer to
the next command: a weight seconds old, looking fine. A command that got no complete answer is therefore *owed*
one: before the next command the driver waits for the owed answers' terminators (until ``late`` seconds after the
last unanswered command was sent) and drops them. A scale that always answers late gives only error readings
("no answer within …, the last answer came … s late"), never an old weight.
"""

from __future__ import annotations

import logging
import threading
import time

from kiosk.scale.base import Scale, ScaleError, WeightReading, reject_unknown_options
from kiosk.scale.protocol import ScaleProtocol, get_protocol

try:  # optional at import time: a missing pyserial is reported when serial: is selected
    import serial
except ImportError:  # pragma: no cover - pyserial is a declared dependency
    serial = None

log = logging.getLogger(__name__)

OPTIONS = ("protocol", "baud", "bytesize", "parity", "stopbits", "timeout", "late", "command")
#: how often the driver looks for owed answers while it waits for them (seconds)
_LATE_POLL_S = 0.005


class SerialScale(Scale):
    scheme = "serial"

    def __init__(
        self,
        port: str,
        protocol: ScaleProtocol | str = "mt-sics",
        *,
        baud: int = 9600,
        bytesize: int | None = None,
        parity: str | None = None,
        stopbits: int | None = None,
        timeout: float = 0.5,
        late: float | None = None,
        reopen_interval: float = 1.0,
        name: str | None = None,
    ):
        if serial is None:
            raise ScaleError("serial scales need pyserial: pip install pyserial")
        self.port = port
        self.protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
        defaults = self.protocol.serial_defaults
        self.settings = {
            "baudrate": baud,
            "bytesize": bytesize or defaults["bytesize"],
            "parity": (parity or defaults["parity"]).upper(),
            "stopbits": stopbits or defaults["stopbits"],
            "timeout": timeout,
            "write_timeout": timeout,
        }
        self.timeout = timeout
        self.late = 3 * timeout if late is None else late
        self.reopen_interval = reopen_interval
        self.name = name or f"serial:{port}?protocol={self.protocol.name}"
        self._serial = None
        self._last_open_attempt = 0.0
        self._io = threading.Lock()
        self.errors = 0
        self._last_error = ""
        self._owed = 0  # answers the scale still owes: commands that got no complete answer in time
        self._owed_since = 0.0  # when the last of those commands was sent
        self.late_answers = 0  # answers that came after their timeout (dropped)
        self._late_note = ""  # how late the last late answer was, for the error readings that follow
        try:
            self._open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScaleError(f"scale {self.name!r}: cannot open serial port {port!r}: {exc}") from None

    @classmethod
    def from_uri(cls, uri, target, options):
        reject_unknown_options(uri, options, OPTIONS)
        if not target:
            raise ScaleError(f"scale {uri!r}: missing serial port (serial:/dev/ttyUSB0?protocol=mt-sics)")

        def number(key, kind, allowed=None):
            if key not in options:
                return None
            try:
                value = kind(options[key])
            except ValueError:
                value = None
            if value is None or value <= 0 or (allowed and value not in allowed):
                need = f"one of {', '.join(map(str, allowed))}" if allowed else "a positive number"
                raise ScaleError(f"scale {uri!r}: bad value {options[key]!r} for option {key!r} ({need})")
            return value

        proto_options = {}
        name = options.get("protocol", "mt-sics")
        if "command" in options:
            if get_protocol(name).name != "mt-sics":
                raise ScaleError(f"scale {uri!r}: option 'command' applies to protocol mt-sics only")
            proto_options["command"] = options["command"]
        try:
            protocol = get_protocol(name, **proto_options)
        except ScaleError as exc:
            raise ScaleError(f"scale {uri!r}: {exc}") from None
        parity = options.get("parity")
        if parity is not None and parity.upper() not in ("N", "E", "O"):
            raise ScaleError(f"scale {uri!r}: bad value {parity!r} for option 'parity' (N, E or O)")
        return cls(
            target,
            protocol,
            baud=number("baud", int) or 9600,
            bytesize=number("bytesize", int, (7, 8)),
            parity=parity,
            stopbits=number("stopbits", int, (1, 2)),
            timeout=number("timeout", float) or 0.5,
            late=number("late", float),
            name=uri,
        )

    # -- port handling --------------------------------------------------------------------------
    def _open(self) -> None:
        self._last_open_attempt = time.monotonic()
        self._serial = serial.Serial(self.port, **self.settings)

    def _ensure_open(self) -> str | None:
        """None when the port is open, else the reason it is not."""
        if self._serial is not None:
            return None
        if time.monotonic() - self._last_open_attempt < self.reopen_interval:
            return "serial port closed after an error; waiting before reopening"
        try:
            self._open()
        except (serial.SerialException, OSError, ValueError) as exc:
            return f"cannot reopen serial port {self.port!r}: {exc}"
        log.info("%s: serial port reopened", self.name)
        return None

    def _drop_port(self) -> None:
        self._owed = 0  # a port opened again starts clean
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:
                pass
            self._serial = None

    def _transact(self, command: bytes) -> tuple[bytes | None, str]:
        """Send ``command``, return ``(frame, "")`` or ``(partial_or_None, reason)``."""
        with self._io:
            return self._transact_locked(command)

    def _transact_locked(self, command: bytes) -> tuple[bytes | None, str]:
        why = self._ensure_open()
        if why:
            return None, why
        end = self.protocol.response_end
        try:
            self._drop_late_answers()
            self._serial.reset_input_buffer()  # anything else already waiting is stale too
            sent = time.monotonic()
            self._serial.write(command)
            self._serial.flush()
            data = self._serial.read_until(end)
            extra = self._serial.read(self._serial.in_waiting) if data.endswith(end) and \
                self._serial.in_waiting else b""
        except Exception as exc:  # SerialException, OSError, termios.error (port unplugged)
            self._drop_port()
            return None, f"serial port error: {exc}"
        if not data.endswith(end):  # its answer (or the rest of it) may still come: not as the next one's
            self._owed, self._owed_since = self._owed + 1, sent
        if not data:
            return b"", f"no answer within {self.timeout:g} s{self._late_note}"
        if not data.endswith(end):
            return data, f"incomplete answer within {self.timeout:g} s{self._late_note}"
        self._late_note = ""
        if extra:
            return data + extra, "more than one frame for one command"
        return data, ""

    def _drop_late_answers(self) -> None:
        """Wait for the answers the scale still owes, at most until ``late`` seconds after the last unanswered
        command was sent, and drop them: a late answer is never read as the answer to the next command."""
        if not self._owed:
            return
        end = self.protocol.response_end
        deadline = self._owed_since + self.late
        dropped = b""
        while dropped.count(end) < self._owed:
            waiting = self._serial.in_waiting
            if waiting:
                dropped += self._serial.read(waiting)
            elif time.monotonic() >= deadline:
                break
            else:
                time.sleep(_LATE_POLL_S)
        self._owed = 0
        if dropped.count(end):
            self.late_answers += dropped.count(end)
            after = time.monotonic() - self._owed_since
            self._late_note = f" (the last answer came {after:.1f} s after its command, and was dropped)"
            loud = self.late_answers == 1 or self.late_answers % 100 == 0
            log.log(logging.WARNING if loud else logging.DEBUG, "%s: late answer #%d dropped, %.1f s after its "
                    "command (timeout %g s): %r", self.name, self.late_answers, after, self.timeout, dropped)

    # -- Scale ----------------------------------------------------------------------------------
    def read(self) -> WeightReading:
        try:
            data, why = self._transact(self.protocol.weight_command())
            if why:
                reading = WeightReading.error(f"{self.protocol.name}: {why}", data or b"")
            else:
                reading = self.protocol.parse_weight(data)
        except Exception as exc:  # never let a driver bug stop the kiosk
            log.exception("%s: read failed", self.name)
            reading = WeightReading.error(f"{type(exc).__name__}: {exc}")
        if not reading.ok and reading.message:
            self._log_error(reading)
        return reading

    def _log_error(self, reading: WeightReading) -> None:
        if reading.status.value != "error":
            log.debug("%s: %s (raw %r)", self.name, reading.message, reading.raw)
            return
        self.errors += 1
        loud = reading.message != self._last_error or self.errors % 100 == 1
        self._last_error = reading.message
        log.log(logging.WARNING if loud else logging.DEBUG, "%s: error reading #%d: %s (raw %r)", self.name,
                self.errors, reading.message, reading.raw)

    def zero(self) -> bool:
        try:
            data, why = self._transact(self.protocol.zero_command())
            return not why and self.protocol.parse_zero(data)
        except Exception:
            log.exception("%s: zero failed", self.name)
            return False

    def close(self) -> None:
        self._drop_port()

