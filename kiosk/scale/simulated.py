"""Scales without hardware: one a UI slider sets, one that plays a script.

``sim:`` / ``sim:250`` / ``sim:?grams=250&stable=0`` → :class:`SimulatedScale`.
``script:FILE`` → :class:`ScriptedScale`, one reading per :meth:`~ScriptedScale.read`.

Script format (UTF-8 text; ``#`` starts a comment; blank lines are ignored)::

    # COUNTx VALUE[~]   COUNT consecutive polls read VALUE ("COUNTx " may be left out: 1 poll)
    8x 0            # empty tray, stable 0 g
    2x 730~         # in motion ("~" = unstable reading)
    6x 1185         # settled: 1185 g
    1x over         # overload; also "under" and "error" (a failed read)
    0

VALUE is an integer number of grams (may be negative) or ``over`` / ``under`` / ``error``.
The last reading repeats forever. A headless run polls once per camera frame, so a script whose
counts follow a replay folder's frames is deterministic.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from kiosk.inputfiles import MB, read_bounded
from kiosk.scale.base import Scale, ScaleError, WeightReading, WeightStatus, reject_unknown_options


def _parse_bool(uri: str, key: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ScaleError(f"scale {uri!r}: bad value {text!r} for option {key!r} (use 0 or 1)")


def _parse_int(uri: str, key: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ScaleError(f"scale {uri!r}: bad value {text!r} for option {key!r} (an integer number of grams)") from None


class SimulatedScale(Scale):
    """A scale whose load is set by code (a UI slider calls :meth:`set_weight`). Thread-safe.

    :meth:`set_weight` sets the gross load; :meth:`zero` makes the current gross load read 0,
    like the zero key of a real scale. ``capacity`` grams (if given) makes heavier loads read
    ``overload``.
    """

    scheme = "sim"

    def __init__(self, grams: int = 0, stable: bool = True, capacity: int | None = None, name: str = "sim:"):
        self.name = name
        self.capacity = capacity
        self._lock = threading.Lock()
        self._gross = int(grams)
        self._stable = bool(stable)
        self._offset = 0
        self._forced: WeightStatus | None = None
        self.polls = 0

    @classmethod
    def from_uri(cls, uri, target, options):
        reject_unknown_options(uri, options, ("grams", "stable", "capacity"))
        grams = _parse_int(uri, "grams", options.get("grams", target or "0"))
        stable = _parse_bool(uri, "stable", options.get("stable", "1"))
        capacity = _parse_int(uri, "capacity", options["capacity"]) if "capacity" in options else None
        return cls(grams, stable, capacity, name=uri)

    def set_weight(self, grams: int, stable: bool = True) -> None:
        """Put ``grams`` on the platter (gross); ``stable=False`` while it is still moving."""
        with self._lock:
            self._gross = int(grams)
            self._stable = bool(stable)
            self._forced = None

    def set_status(self, status: WeightStatus | str | None) -> None:
        """Force ``overload``/``underload``/``error`` readings (``None`` or ``ok``: back to the weight)."""
        status = WeightStatus(status) if status is not None else None
        with self._lock:
            self._forced = None if status is WeightStatus.OK else status

    def read(self) -> WeightReading:
        with self._lock:
            self.polls += 1
            if self._forced is WeightStatus.ERROR:
                return WeightReading.error("simulated scale error", b"sim:error")
            if self._forced is not None:
                return WeightReading(0, False, self._forced, f"sim:{self._forced.value}".encode())
            if self.capacity is not None and self._gross > self.capacity:
                return WeightReading(0, False, WeightStatus.OVERLOAD, b"sim:over", "over capacity")
            net = self._gross - self._offset
            return WeightReading(net, self._stable, WeightStatus.OK, f"sim:{net}{'' if self._stable else '~'}".encode())

    def zero(self) -> bool:
        with self._lock:
            if not self._stable or self._forced is not None:
                return False
            self._offset = self._gross
            return True


@dataclass(frozen=True)
class ScriptStep:
    count: int
    reading: WeightReading
    line: int


_STEP = re.compile(r"^(?:(?P<count>\S+?)[xX]\s+)?(?P<value>[^\s~]+)(?P<moving>~?)\Z")


def parse_script(text: str, source: str = "<script>") -> list[ScriptStep]:
    """Script text → steps; raises ScaleError naming ``source:line:column``, the value and the reason."""
    steps: list[ScriptStep] = []
    for number, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].rstrip()
        stripped = body.strip()
        if not stripped:
            continue
        column = len(body) - len(body.lstrip()) + 1
        match = _STEP.match(stripped)
        if not match:
            raise ScaleError(
                f"{source}:{number}:{column}: cannot read {stripped!r}: expected 'COUNTx GRAMS[~]', e.g. '3x 250~'"
            )
        count_text, value, moving = match.group("count"), match.group("value"), bool(match.group("moving"))
        count = 1
        if count_text is not None:
            if not (count_text.isascii() and count_text.isdigit()) or int(count_text) < 1:
                raise ScaleError(f"{source}:{number}:{column}: bad count {count_text!r}: expected a whole number >= 1")
            count = int(count_text)
        value_column = column + (stripped.index(value) if count_text is not None else 0)
        raw = f"{source}:{number}: {stripped}".encode()
        word = value.lower()
        if word in ("over", "under", "error"):
            if moving:
                raise ScaleError(f"{source}:{number}:{value_column}: '~' only applies to a weight, not {value!r}")
            if word == "error":
                reading = WeightReading.error("scripted error", raw)
            else:
                status = WeightStatus.OVERLOAD if word == "over" else WeightStatus.UNDERLOAD
                reading = WeightReading(0, False, status, raw)
        else:
            if not re.fullmatch(r"[+-]?[0-9]+", value):
                raise ScaleError(
                    f"{source}:{number}:{value_column}: bad weight {value!r}: "
                    "expected whole grams (e.g. 1185) or over/under/error"
                )
            reading = WeightReading(int(value), not moving, WeightStatus.OK, raw)
        steps.append(ScriptStep(count, reading, number))
    if not steps:
        raise ScaleError(f"{source}: scale script has no readings")
    return steps


class ScriptedScale(Scale):
    """Plays a script: each :meth:`read` consumes one poll; the last reading repeats forever.

    :meth:`zero` subtracts the last weight read from later readings (like a zero key).
    A script is written one reading per camera frame of a replay (``paced_by_frames``): a live kiosk reads it
    when :meth:`poll_due_at_frame` says so, which skips the readings of frames the recogniser dropped.
    """

    scheme = "script"
    paced_by_frames = True

    def __init__(self, steps: list[ScriptStep], name: str = "script"):
        if not steps:
            raise ScaleError(f"{name}: scale script has no readings")
        self.name = name
        self.steps = list(steps)
        self._lock = threading.Lock()
        self._step = 0
        self._used = 0
        self._offset = 0
        self._last: WeightReading | None = None
        self.polls = 0

    @classmethod
    def from_text(cls, text: str, name: str = "<script>") -> ScriptedScale:
        return cls(parse_script(text, name), name)

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedScale:
        path = Path(path)
        try:
            text = read_bounded(path, 64 * MB, "a scale script", text=True, error=ScaleError).decode("utf-8")
        except FileNotFoundError:
            raise ScaleError(f"scale script {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScaleError(f"scale script {str(path)!r} cannot be read: {exc}") from None
        return cls(parse_script(text, str(path)), str(path))

    @classmethod
    def from_uri(cls, uri, target, options):
        reject_unknown_options(uri, options, ())
        if not target:
            raise ScaleError(f"scale {uri!r}: missing script path (script:FILE)")
        return cls.from_file(target)

    @property
    def total_polls(self) -> int:
        """Polls covered before the last reading starts repeating."""
        return sum(s.count for s in self.steps)

    def read(self) -> WeightReading:
        with self._lock:
            step = self.steps[self._step]
            self._used += 1
            if self._used >= step.count and self._step < len(self.steps) - 1:
                self._step += 1
                self._used = 0
            self.polls += 1
            reading = step.reading
            if reading.ok and self._offset:
                reading = WeightReading(reading.grams - self._offset, reading.stable, reading.status, reading.raw)
            self._last = reading
            return reading

    def zero(self) -> bool:
        with self._lock:
            if self._last is None or not self._last.usable:
                return False
            self._offset += self._last.grams
            return True

    def poll_due_at_frame(self, frame_index: int) -> bool:
        """Skip the readings of frames never seen (dropped while recognition was busy) so that the next
        :meth:`read` is frame ``frame_index``'s; ``False`` when that frame was read already."""
        behind = frame_index + 1 - self.polls
        for _ in range(max(0, behind - 1)):
            self.read()
        return behind > 0
