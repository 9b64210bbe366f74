"""Serial scale protocols as pure byte parsers (and encoders, for the simulator).

Each protocol knows the commands it sends, where a response ends, how to turn a response into
a :class:`~kiosk.scale.base.WeightReading`, and — for :mod:`kiosk.scale.simulator` — what a
real device answers. Parsers never raise: anything unexpected becomes a reading with status
``error`` that keeps the raw bytes.

**MT-SICS** (Mettler Toledo Standard Interface Command Set, level 0). Commands end in CR LF.
``S`` asks for a stable weight, ``SI`` for the weight immediately; answers::

    S S     100.50 g      stable weight (S or SI)
    S D     100.52 g      dynamic: in motion (SI only)
    S I                   command not executable (busy, or no stability within the timeout)
    S +  /  S -           overload / underload
    ES / ET / EL          syntax / transmission / logical error
    Z A, Z I, Z +, Z -    zero done / not executable / above / below the zero range (ZI: ZI S, ZI D)

**NCI** (Avery Weigh-Tronix / NCI / Brecknell "ECR" protocol used by POS systems). Commands
``W``, ``S``, ``Z`` end in CR; answers end in ETX::

    W → LF "  1.234kg" CR LF hh CR ETX   weight (lb, kg, oz or g) and status bytes
    S → LF hh CR ETX                     status only
    Z → LF hh CR ETX                     zero, then status
    ? → LF "?" CR ETX                    unrecognised command

Status bytes ``hh`` (bit 7 parity, bits 4-5 always 1): byte 1 bit 0 motion, bit 1 at zero,
bit 2 RAM error, bit 3 EEPROM error; byte 2 bit 0 under capacity, bit 1 over capacity, bit 2
ROM error, bit 3 faulty calibration, bit 6 "another byte follows"; an optional byte 3 has
bit 3 initial-zero error. Over/under capacity win over any weight shown.

Weights convert to integer grams rounding half up (away from zero): ``100.5 g`` → 101 g,
``0.2345 kg`` → 235 g (ties only; 0.23449 kg → 234 g), ``1 lb`` → 454 g.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import ClassVar

from kiosk.scale.base import ScaleError, WeightReading, WeightStatus

#: grams per unit, exact
UNIT_GRAMS = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def to_grams(value: str, unit: str) -> int:
    """``("0.2345", "kg")`` → 235; raises ValueError for a bad number or unknown unit."""
    factor = UNIT_GRAMS.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unknown unit {unit!r}")
    text = value.strip().replace(" ", "")
    if not _NUMBER.match(text):
        raise ValueError(f"not a number: {value!r}")
    try:
        grams = Decimal(text) * factor
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    return int(grams.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(raw: bytes) -> str | None:
    """ASCII text of a frame, or None when it holds bytes a scale never sends."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\r\n\x02\x03" for c in text):
        return None
    return text


class ScaleProtocol(ABC):
    """One serial protocol: the bytes to send, where answers end, and how to read them."""

    name: ClassVar[str]
    #: bytes that end a response frame from the scale
    response_end: ClassVar[bytes]
    #: bytes that end a command to the scale
    command_end: ClassVar[bytes]
    #: usual serial settings of devices speaking this protocol (bytesize, parity, stopbits)
    serial_defaults: ClassVar[dict] = {"bytesize": 8, "parity": "N", "stopbits": 1}

    @abstractmethod
    def weight_command(self) -> bytes: ...

    @abstractmethod
    def zero_command(self) -> bytes: ...

    def parse_weight(self, raw: bytes) -> WeightReading:
        """A response frame → reading; never raises."""
        try:
            return self._parse_weight(bytes(raw))
        except Exception as exc:  # a parser bug must not reach the kiosk
            return WeightReading.error(f"{self.name}: unreadable response ({type(exc).__name__}: {exc})", raw)

    def parse_zero(self, raw: bytes) -> bool:
        """True when the response says the scale zeroed; never raises."""
        try:
            return self._parse_zero(bytes(raw))
        except Exception:
            return False

    @abstractmethod
    def _parse_weight(self, raw: bytes) -> WeightReading: ...

    @abstractmethod
    def _parse_zero(self, raw: bytes) -> bool: ...

    # -- device side (simulator) ------------------------------------------------------------------
    @abstractmethod
    def respond(self, command: bytes, reading: WeightReading, zeroed: bool | None = None) -> bytes:
        """The bytes a device answers to ``command`` (without its terminator) when its load reads
        ``reading``; ``zeroed`` is the outcome of a zero command."""

    @abstractmethod
    def is_zero_command(self, command: bytes) -> bool: ...

    def split_commands(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        """Complete commands in ``buffer`` (terminators stripped) and the incomplete rest."""
        parts = re.split(rb"\r\n|\r|\n", buffer)
        rest = parts.pop()
        return [p for p in parts if p], rest


class MtSics(ScaleProtocol):
    """Mettler Toledo MT-SICS level 0. ``command`` is ``SI`` (immediate, reports motion) or ``S``
    (stable only; the balance answers ``S I`` when it cannot settle)."""

    name = "mt-sics"
    response_end = b"\r\n"
    command_end = b"\r\n"

    def __init__(self, command: str = "SI", unit: str = "g"):
        command = command.upper()
        if command not in ("SI", "S"):
            raise ScaleError(f"mt-sics: weight command must be SI or S, not {command!r}")
        if unit not in UNIT_GRAMS:
            raise ScaleError(f"mt-sics: unknown unit {unit!r} (use {', '.join(UNIT_GRAMS)})")
        self.command = command
        self.unit = unit  # what the simulator sends

    def weight_command(self) -> bytes:
        return self.command.encode() + self.command_end

    def zero_command(self) -> bytes:
        return b"Z" + self.command_end

    def _parse_weight(self, raw: bytes) -> WeightReading:
        text = _text(raw)
        if text is None:
            return WeightReading.error("mt-sics: non-ASCII or control bytes in response", raw)
        if not text.endswith("\r\n"):
            return WeightReading.error("mt-sics: incomplete response (no CR LF)", raw)
        fields = text.strip().split()
        if not fields:
            return WeightReading.error("mt-sics: empty response", raw)
        ident = fields[0]
        if ident in ("ES", "ET", "EL") and len(fields) == 1:
            meaning = {"ES": "syntax error", "ET": "transmission error", "EL": "logical error"}[ident]
            return WeightReading.error(f"mt-sics: balance reports {meaning} ({ident})", raw)
        if ident != "S" or len(fields) < 2:
            return WeightReading.error(f"mt-sics: unexpected response {text.strip()!r}", raw)
        status = fields[1]
        if len(fields) == 2:
            if status == "+":
                return WeightReading(0, False, WeightStatus.OVERLOAD, raw, "mt-sics: overload (S +)")
            if status == "-":
                return WeightReading(0, False, WeightStatus.UNDERLOAD, raw, "mt-sics: underload (S -)")
            if status == "I":
                return WeightReading.error("mt-sics: command not executable (S I: busy or not stable)", raw)
            return WeightReading.error(f"mt-sics: unexpected response {text.strip()!r}", raw)
        if status not in ("S", "D") or len(fields) != 4:
            return WeightReading.error(f"mt-sics: unexpected response {text.strip()!r}", raw)
        try:
            grams = to_grams(fields[2], fields[3])
        except ValueError as exc:
            return WeightReading.error(f"mt-sics: {exc} in {text.strip()!r}", raw)
        return WeightReading(grams, status == "S", WeightStatus.OK, raw)

    def _parse_zero(self, raw: bytes) -> bool:
        text = _text(raw)
        if text is None or not text.endswith("\r\n"):
            return False
        fields = text.split()
        return fields in (["Z", "A"], ["ZI", "S"], ["ZI", "D"])

    # -- device side ------------------------------------------------------------------------------
    def _weight_field(self, grams: int) -> str:
        value = Decimal(grams) / UNIT_GRAMS[self.unit]
        places = {"g": 1, "kg": 4, "mg": 0, "lb": 4, "oz": 3}[self.unit]
        return f"{value:.{places}f}".rjust(10) + f" {self.unit}"

    def respond(self, command: bytes, reading: WeightReading, zeroed: bool | None = None) -> bytes:
        cmd = command.strip().upper()
        end = self.response_end
        if cmd in (b"S", b"SI"):
            if reading.status is WeightStatus.OVERLOAD:
                return b"S +" + end
            if reading.status is WeightStatus.UNDERLOAD:
                return b"S -" + end
            if reading.status is WeightStatus.ERROR:
                return b"S I" + end
            if cmd == b"S" and not reading.stable:
                return b"S I" + end  # a real balance waits, then gives up
            flag = "S" if reading.stable else "D"
            return f"S {flag} {self._weight_field(reading.grams)}".encode() + end
        if cmd == b"Z":
            return (b"Z A" if zeroed else b"Z I") + end
        if cmd == b"ZI":
            return (b"ZI S" if zeroed else b"ZI I") + end
        if cmd == b"@":
            return b'I4 A "0123456789"' + end
        return b"ES" + end

    def is_zero_command(self, command: bytes) -> bool:
        return command.strip().upper() in (b"Z", b"ZI")


# NCI status bits
_MOTION, _AT_ZERO, _RAM, _EEPROM = 0x01, 0x02, 0x04, 0x08
_UNDER, _OVER, _ROM, _CALIBRATION = 0x01, 0x02, 0x04, 0x08
_ALWAYS = 0x30
_FOLLOWS = 0x40

_NCI_WEIGHT = re.compile(r"^\s*([+-]?\s*\d*\.?\d+)\s*(lb|kg|oz|g)\s*$", re.IGNORECASE)


class Nci(ScaleProtocol):
    """NCI / Avery Weigh-Tronix ECR protocol (``W``, ``S``, ``Z``). ``unit`` is what the simulator reports."""

    name = "nci"
    response_end = b"\x03"
    command_end = b"\r"
    serial_defaults = {"bytesize": 7, "parity": "E", "stopbits": 1}

    def __init__(self, unit: str = "kg"):
        if unit not in ("kg", "lb", "oz", "g"):
            raise ScaleError(f"nci: unknown unit {unit!r} (use kg, lb, oz or g)")
        self.unit = unit

    def weight_command(self) -> bytes:
        return b"W" + self.command_end

    def zero_command(self) -> bytes:
        return b"Z" + self.command_end

    @staticmethod
    def decode_status(field: str) -> tuple[list[int], str]:
        """Status characters → byte values (parity stripped), or ``([], reason)``."""
        if not 2 <= len(field) <= 4:
            return [], f"expected 2-4 status bytes, got {len(field)}"
        values = [ord(c) & 0x7F for c in field]
        if any(v & _ALWAYS != _ALWAYS for v in values):
            return [], f"status bytes {field!r} lack the always-set bits"
        return values, ""

    def _lines(self, raw: bytes) -> tuple[list[str] | None, str]:
        text = _text(bytes(b & 0x7F for b in raw))  # bit 7 is parity on 7-bit links
        if text is None:
            return None, "non-ASCII or control bytes in response"
        if not text.endswith("\x03"):
            return None, "incomplete response (no ETX)"
        body = text[:-1]
        if not body.startswith("\n") or not body.endswith("\r"):
            return None, "response not framed as LF … CR ETX"
        lines = body[1:-1].split("\r\n")
        return lines, ""

    def _parse_weight(self, raw: bytes) -> WeightReading:
        lines, why = self._lines(raw)
        if lines is None:
            return WeightReading.error(f"nci: {why}", raw)
        if lines == ["?"]:
            return WeightReading.error("nci: scale did not recognise the command (?)", raw)
        if len(lines) not in (1, 2):
            return WeightReading.error(f"nci: expected weight and status lines, got {len(lines)} lines", raw)
        status, reason = self.decode_status(lines[-1])
        if not status:
            return WeightReading.error(f"nci: {reason}", raw)
        first, second = status[0], status[1]
        faults = []
        if first & _RAM:
            faults.append("RAM error")
        if first & _EEPROM:
            faults.append("EEPROM error")
        if second & _ROM:
            faults.append("ROM error")
        if second & _CALIBRATION:
            faults.append("faulty calibration")
        if len(status) > 2 and status[2] & 0x08:
            faults.append("initial zero error")
        if faults:
            return WeightReading.error(f"nci: scale reports {', '.join(faults)}", raw)
        moving = bool(first & _MOTION)
        if second & _OVER:
            return WeightReading(0, False, WeightStatus.OVERLOAD, raw, "nci: over capacity")
        if second & _UNDER:
            return WeightReading(0, False, WeightStatus.UNDERLOAD, raw, "nci: under capacity")
        if len(lines) == 1:
            return WeightReading.error("nci: status without a weight", raw)
        match = _NCI_WEIGHT.match(lines[0])
        if not match:
            return WeightReading.error(f"nci: unreadable weight {lines[0]!r}", raw)
        try:
            grams = to_grams(match.group(1), match.group(2))
        except ValueError as exc:
            return WeightReading.error(f"nci: {exc}", raw)
        return WeightReading(grams, not moving, WeightStatus.OK, raw)

    def _parse_zero(self, raw: bytes) -> bool:
        lines, _ = self._lines(raw)
        if not lines or len(lines) != 1:
            return False
        status, _ = self.decode_status(lines[0])
        if not status:
            return False
        errors = status[0] & (_RAM | _EEPROM) or status[1] & (_ROM | _CALIBRATION)
        return bool(status[0] & _AT_ZERO) and not errors

    # -- device side ------------------------------------------------------------------------------
    def encode_status(self, reading: WeightReading) -> bytes:
        first, second = _ALWAYS, _ALWAYS
        if not reading.stable:
            first |= _MOTION
        if reading.status is WeightStatus.OK and reading.grams == 0:
            first |= _AT_ZERO
        if reading.status is WeightStatus.OVERLOAD:
            second |= _OVER
        elif reading.status is WeightStatus.UNDERLOAD:
            second |= _UNDER
        elif reading.status is WeightStatus.ERROR:
            second |= _CALIBRATION
        return bytes([first, second])

    def _weight_field(self, grams: int) -> str:
        value = Decimal(grams) / UNIT_GRAMS[self.unit]
        places = {"kg": 3, "lb": 2, "oz": 1, "g": 0}[self.unit]
        return f"{value:.{places}f}".rjust(7) + self.unit

    def respond(self, command: bytes, reading: WeightReading, zeroed: bool | None = None) -> bytes:
        cmd = command.strip().upper()
        status = self.encode_status(reading)
        if cmd == b"W":
            if reading.status is WeightStatus.OK:
                return b"\n" + self._weight_field(reading.grams).encode() + b"\r\n" + status + b"\r\x03"
            return b"\n" + status + b"\r\x03"
        if cmd in (b"S", b"Z"):
            return b"\n" + status + b"\r\x03"
        return b"\n?\r\x03"

    def is_zero_command(self, command: bytes) -> bool:
        return command.strip().upper() == b"Z"

    def split_commands(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        parts = buffer.split(b"\r")
        rest = parts.pop()
        return [p.strip(b"\n") for p in parts if p.strip(b"\n")], rest


PROTOCOLS: dict[str, type[ScaleProtocol]] = {"mt-sics": MtSics, "nci": Nci}


def get_protocol(name: str, **options) -> ScaleProtocol:
    """``get_protocol("mt-sics", command="S")``; raises ScaleError for an unknown name."""
    key = name.strip().lower()
    aliases = {"mtsics": "mt-sics", "sics": "mt-sics", "ecr": "nci", "avery": "nci", "weigh-tronix": "nci"}
    key = aliases.get(key, key)
    try:
        cls = PROTOCOLS[key]
    except KeyError:
        raise ScaleError(f"unknown scale protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None
    return cls(**options)
