"""Serial scale protocols as pure byte parsers (and encoders, for the simulator).

Each protocol knows the commands it sends, where a response ends, how to turn a response into
a :class:`~kiosk.scale.base.WeightReading`, and — for :mod:`kiosk.scale.simulator` — what a
real device answers. Parsers never raise: anything unexpected becomes a reading with status
``error`` that keeps the raw bytes.

The parsers are strict: a frame is read only when it is byte for byte what the protocol's document
describes — exactly one frame ending in exactly one terminator, every separator where the format puts it,
units spelled (and cased) as the protocol's unit table writes them, numbers in the protocol's own format
(``-`` sign only, digits, an optional point *between* digits: never ``.5``, ``5.``, ``+5``, exponents or
thousands separators) and within the field width. Everything else — a CR or LF inside a frame, a stray
CR LF, ``KG`` for ``kg``, a 29-digit number — is an ``error`` reading that keeps the raw bytes. The
recorded frames in ``tests/scale/fixtures/`` come from the protocols' own documents.

**MT-SICS** (Mettler Toledo Standard Interface Command Set, level 0). Commands end in CR LF.
``S`` asks for a stable weight, ``SI`` for the weight immediately; answers ``ID SP Status SP WeightValue SP
Unit CR LF``, the weight value a 10-character right-aligned field with a leading ``-`` when negative::

    S S     100.00 g      stable weight (S or SI)
    S D     100.52 g      dynamic: in motion (SI only)
    S I                   command not executable (busy, or no stability within the timeout)
    S +  /  S -           overload / underload
    ES / ET / EL          syntax / transmission / logical error
    Z A, Z I, Z +, Z -    zero done / not executable / above / below the zero range (ZI: ZI S, ZI D)

**NCI** (Avery Weigh-Tronix / NCI / Brecknell "ECR" protocol used by POS systems, NCI's "General
Scale Protocol"). Commands ``W``, ``S``, ``Z`` end in CR; answers end in ETX; 7 data bits (bytes with bit 7
set mean the port's bytesize/parity do not match the scale's, and are refused)::

    W → LF "  1.234kg" CR LF hh CR ETX   weight as the display shows it (digits, point, minus sign, leading
                                         spaces; up to 10 characters) and a 2-character unit: lb, kg, oz
                                         or "g " (grams are padded with a space)
    S → LF hh CR ETX                     status only
    Z → LF hh CR ETX                     zero, then status
    ? → LF "?" CR ETX                    unrecognised command

Status bytes ``hh`` (bits 4-5 always 1): byte 1 bit 0 motion, bit 1 at zero, bit 2 RAM error, bit 3
EEPROM error, bit 6 always 0; byte 2 bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3
faulty calibration, bit 6 "another byte follows"; an optional byte 3 (bits 0-1 range, bit 2 net, bit 3
initial-zero error, bit 6 "another byte follows") and byte 4 (bit 6 always 0: the last). A byte follows
exactly when the one before says so. Over/under capacity win over any weight shown.

Weights convert to integer grams rounding half up (away from zero): ``100.5 g`` → 101 g,
``0.2345 kg`` → 235 g (ties only; 0.23449 kg → 234 g), ``1 lb`` → 454 g.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from kiosk.scale.base import ScaleError, WeightReading, WeightStatus

#: grams per unit, exact (the mass units of both protocols' unit tables, spelled as they write them)
UNIT_GRAMS = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
#: MT-SICS weight units (M21 unit table, mass units only; case as the manual writes it)
MT_SICS_UNITS = {**UNIT_GRAMS, "ct": Decimal("0.2"), "ozt": Decimal("31.1034768"), "GN": Decimal("0.06479891"),
                 "dwt": Decimal("1.55517384")}
#: NCI units: two characters, grams padded with a space
NCI_UNITS = {"lb": "lb", "kg": "kg", "oz": "oz", "g ": "g"}

#: a number as scales write it: optional minus, digits, optionally a point followed by digits
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: the most digits a weight may have (a 10-character display field)
MAX_DIGITS = 9


def to_grams(value: str, unit: str, units: dict[str, Decimal] = MT_SICS_UNITS) -> int:
    """``("0.2345", "kg")`` → 235; raises ValueError for a number not in the scale format or an unknown unit
    (``units``: the protocol's table, matched exactly)."""
    factor = units.get(unit)
    if factor is None:
        raise ValueError(f"unknown unit {unit!r}")
    if not isinstance(value, str) or not NUMBER.fullmatch(value) or sum(c.isdigit() for c in value) > MAX_DIGITS:
        raise ValueError(f"not a number in the scale's format: {value!r}")
    grams = Decimal(value) * factor
    return int(grams.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(raw: bytes) -> str | None:
    """The frame as 7-bit ASCII text, or None when it holds a byte above 0x7F or a control character other than
    CR, LF and ETX."""
    if any(b > 0x7E or (b < 0x20 and b not in (0x0A, 0x0D, 0x03)) for b in raw):
        return None
    return raw.decode("ascii")


def _field(text: str, width: int) -> str | None:
    """A right-aligned numeric field of exactly ``width`` characters → its number, or None."""
    if len(text) != width:
        return None
    number = text.lstrip(" ")
    return number if number and NUMBER.fullmatch(number) else None


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

    _STATUS_ONLY = {
        "S +\r\n": (WeightStatus.OVERLOAD, "mt-sics: overload (S +)"),
        "S -\r\n": (WeightStatus.UNDERLOAD, "mt-sics: underload (S -)"),
        "S I\r\n": (WeightStatus.ERROR, "mt-sics: command not executable (S I: busy or not stable)"),
        "ES\r\n": (WeightStatus.ERROR, "mt-sics: balance reports syntax error (ES)"),
        "ET\r\n": (WeightStatus.ERROR, "mt-sics: balance reports transmission error (ET)"),
        "EL\r\n": (WeightStatus.ERROR, "mt-sics: balance reports logical error (EL)"),
    }
    #: "S" SP status SP 10-character weight field SP unit CR LF
    _WEIGHT = re.compile(r"S ([SD]) (.{10}) ([A-Za-z]{1,3})\r\n", re.DOTALL)

    def _parse_weight(self, raw: bytes) -> WeightReading:
        text = _text(raw)
        if text is None:
            return WeightReading.error("mt-sics: non-ASCII or control bytes in response", raw)
        if not text.endswith("\r\n"):
            return WeightReading.error("mt-sics: incomplete response (no CR LF)", raw)
        if text.count("\r") != 1 or text.count("\n") != 1:
            return WeightReading.error("mt-sics: not exactly one frame (CR or LF inside the response)", raw)
        if text in self._STATUS_ONLY:
            status, message = self._STATUS_ONLY[text]
            return WeightReading(0, False, status, raw, message) if status is not WeightStatus.ERROR \
                else WeightReading.error(message, raw)
        if text == "\r\n":
            return WeightReading.error("mt-sics: empty response", raw)
        match = self._WEIGHT.fullmatch(text)
        if not match:
            return WeightReading.error(f"mt-sics: unexpected response {text[:-2]!r}", raw)
        flag, field, unit = match.groups()
        number = _field(field, 10)
        if number is None:
            return WeightReading.error(f"mt-sics: weight field {field!r} is not a right-aligned number", raw)
        try:
            grams = to_grams(number, unit, MT_SICS_UNITS)
        except ValueError as exc:
            return WeightReading.error(f"mt-sics: {exc} in {text[:-2]!r}", raw)
        return WeightReading(grams, flag == "S", WeightStatus.OK, raw)

    def _parse_zero(self, raw: bytes) -> bool:
        return bytes(raw) in (b"Z A\r\n", b"ZI S\r\n", b"ZI D\r\n")

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

_BYTE_FOLLOWS_ALLOWED = (False, True, True, False)  # bit 6 of status byte 1..4 may say "another byte follows"
#: the weight line: up to 10 display characters (digits, one point, a minus sign, leading spaces) and the unit
_NCI_WEIGHT = re.compile(r"([ 0-9.-]{1,10})(lb|kg|oz|g )")


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
        """Status characters → byte values, or ``([], reason)``: 2-4 bytes with bits 4-5 set, bit 6 of byte 1
        clear, and a next byte exactly when the one before announces it (bit 6)."""
        if not 2 <= len(field) <= 4:
            return [], f"expected 2-4 status bytes, got {len(field)}"
        values = [ord(c) for c in field]
        if any(v & _ALWAYS != _ALWAYS for v in values):
            return [], f"status bytes {field!r} lack the always-set bits"
        for i, v in enumerate(values):
            follows = bool(v & _FOLLOWS)
            if follows and not _BYTE_FOLLOWS_ALLOWED[i]:
                return [], f"status byte {i + 1} of {field!r} has bit 6 set"
            if i > 0 and follows != (i + 1 < len(values)):
                return [], f"status bytes {field!r}: bit 6 of byte {i + 1} does not match the bytes that follow"
        if len(values) > 1 and bool(values[1] & _FOLLOWS) != (len(values) > 2):
            return [], f"status bytes {field!r}: byte 2 bit 6 does not match the bytes that follow"
        return values, ""

    def _lines(self, raw: bytes) -> tuple[list[str] | None, str]:
        """``LF line CR [LF line CR] ETX`` → the lines, or ``(None, reason)``."""
        text = _text(raw)
        if text is None:
            return None, "non-ASCII or control bytes in response (bit 7 set: check bytesize 7 and parity E)"
        if not text.endswith("\x03"):
            return None, "incomplete response (no ETX)"
        if text.count("\x03") != 1:
            return None, "not exactly one frame (ETX inside the response)"
        body = text[:-1]
        if not body.startswith("\n") or not body.endswith("\r"):
            return None, "response not framed as LF … CR ETX"
        lines = body[1:-1].split("\r\n")
        if any("\r" in line or "\n" in line for line in lines):
            return None, "stray CR or LF inside the response"
        return lines, ""

    @staticmethod
    def _faults(status: list[int]) -> list[str]:
        first, second = status[0], status[1]
        faults = [name for bit, name in ((_RAM, "RAM error"), (_EEPROM, "EEPROM error")) if first & bit]
        faults += [name for bit, name in ((_ROM, "ROM error"), (_CALIBRATION, "faulty calibration")) if second & bit]
        if len(status) > 2 and status[2] & 0x08:
            faults.append("initial zero error")
        return faults

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
        faults = self._faults(status)
        if faults:
            return WeightReading.error(f"nci: scale reports {', '.join(faults)}", raw)
        if len(lines) == 2:
            weight = self._weight(lines[0])
            if isinstance(weight, str):
                return WeightReading.error(f"nci: {weight}", raw)
        if status[1] & _OVER:
            return WeightReading(0, False, WeightStatus.OVERLOAD, raw, "nci: over capacity")
        if status[1] & _UNDER:
            return WeightReading(0, False, WeightStatus.UNDERLOAD, raw, "nci: under capacity")
        if len(lines) == 1:
            return WeightReading.error("nci: status without a weight", raw)
        return WeightReading(weight, not status[0] & _MOTION, WeightStatus.OK, raw)

    @staticmethod
    def _weight(line: str) -> int | str:
        """The weight line → grams, or the reason it cannot be read."""
        match = _NCI_WEIGHT.fullmatch(line)
        if not match:
            return f"unreadable weight {line!r}"
        number = match.group(1).lstrip(" ")
        try:
            return to_grams(number, NCI_UNITS[match.group(2)], UNIT_GRAMS)
        except ValueError as exc:
            return f"{exc} in {line!r}"

    def _parse_zero(self, raw: bytes) -> bool:
        lines, _ = self._lines(raw)
        if not lines or len(lines) != 1:
            return False
        status, _ = self.decode_status(lines[0])
        if not status:
            return False
        return bool(status[0] & _AT_ZERO) and not self._faults(status)

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
        return f"{value:.{places}f}".rjust(7) + self.unit.ljust(2)

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
