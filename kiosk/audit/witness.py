"""What :mod:`kiosk.audit.verify`'s cross-checks share: the log indexed by kind, and times compared loosely.

A table row and the audit row that records it are written in one transaction but take the clock separately, so
their times differ by microseconds; :data:`SAME_MOMENT` is how far apart they may be and still be the same event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["SAME_MOMENT", "Log", "apart", "guarded", "listed", "when"]

SAME_MOMENT = timedelta(seconds=10)


def when(text: object) -> datetime | None:
    """An ISO time with its offset as a datetime; None for anything else (a naive or unreadable time)."""
    try:
        t = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo is not None else None


def apart(a: object, b: object) -> bool:
    """Are the two ISO times not the same moment (or is either not a time)?"""
    ta, tb = when(a), when(b)
    if ta is None or tb is None:
        return True
    try:
        return abs(ta - tb) > SAME_MOMENT
    except OverflowError:
        return True


def guarded(what: str, check: Callable[..., list[str]], *args: object) -> list[str]:
    """``check(*args)``'s findings; a row so edited that it cannot even be compared (a number where text belongs,
    a list where a number does) is itself one finding naming ``what``, and the other rows are still checked."""
    try:
        return check(*args)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        return [f"edited: {what} cannot be checked ({type(exc).__name__}: {exc})"]


def listed(items: list[str], most: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e (+7 more)``."""
    head = ", ".join(items[:most])
    return head + (f" (+{len(items) - most} more)" if len(items) > most else "")


@dataclass
class Log:
    """The stored rows, with the ``audit.started`` row (what the file held before the log began) found."""

    rows: list[dict]
    by_kind: dict[str, list[dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for r in self.rows:
            if isinstance(r.get("detail"), dict):
                self.by_kind.setdefault(r["kind"], []).append(r)

    def of(self, *kinds: str) -> list[dict]:
        """Rows of these kinds (with a readable detail), in log order."""
        if len(kinds) == 1:
            return self.by_kind.get(kinds[0], [])
        return sorted((r for k in kinds for r in self.by_kind.get(k, [])), key=lambda r: r["seq"])

    @property
    def started(self) -> dict | None:
        return next(iter(self.of("audit.started")), None)

    @property
    def started_at(self) -> datetime | None:
        return when(self.started["at"]) if self.started else None

    def before_log(self, at: object) -> bool:
        """Was a table row of time ``at`` written before the log began (so it has no audit row)?"""
        start, t = self.started_at, when(at)
        if start is None:  # no log (or its first row gone): nothing is excused
            return False
        return t is not None and t < start - SAME_MOMENT

    @property
    def last_seq(self) -> int:
        return self.rows[-1]["seq"] if self.rows else 0
