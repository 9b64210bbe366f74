"""The store's time zone: the zone every time a kiosk writes is in, and whose calendar days its reports count.

``store_timezone`` in the kiosk's settings names it (an IANA name such as ``"Asia/Kolkata"``, checked with
:mod:`zoneinfo` when the settings are read). Empty means the local zone of the process that runs (``TZ``, else the
machine's ``/etc/localtime``): what the kiosk did before there was a setting, and what a till must not rely on (an
SSH shell in UTC, or a service started with another ``TZ``, writes and reports in its own zone then).

A stored time is ISO text with its own UTC offset. Its day is the store-zone date of that instant (parsed, converted,
then the date), never the text's first ten characters: a row written with another offset (an older row, or one from
a shell in another zone) is counted on the store's day all the same.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["ZONE_HELP", "day_of", "days_from", "in_zone", "now_in", "store_zone", "zone_problem"]

#: what a time zone setting takes (printed with a refusal)
ZONE_HELP = ('an IANA time zone name such as "Asia/Kolkata", from the system\'s tzdata or the tzdata package; empty '
             'for this machine\'s local zone')
#: files in the zone database that are not a place's zone: "localtime" is this machine's own (what empty means)
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,64}(/[A-Za-z0-9_+\-]{1,64}){0,3}\Z")


def zone_problem(name: object) -> str | None:
    """Why ``name`` is not a time zone this machine knows (None: it is, or it is empty)."""
    if not isinstance(name, str):
        return f"{name!r}: expected a string, {ZONE_HELP}"
    if not name:
        return None
    shown = repr(name) if len(name) <= 40 else f"{name[:40]!r}…"
    try:
        if not _NAME.match(name) or name in _NOT_ZONES:
            raise ValueError(name)
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError; a folder, a bad file: OSError
        return f"{shown}: not a time zone this machine knows ({ZONE_HELP})"
    return None


def store_zone(name: str) -> tzinfo | None:
    """The zone named ``name`` (None for empty: the process's local zone); :class:`ValueError` naming it when it is
    not one."""
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return ZoneInfo(name) if name else None


def now_in(tz: tzinfo | None) -> datetime:
    """Now, timezone-aware, in ``tz`` (None: the process's local zone)."""
    return datetime.now().astimezone(tz)


def in_zone(t: datetime, tz: tzinfo | None) -> datetime:
    """``t`` (aware) as the store's clock shows it: in ``tz``, or unchanged when there is none."""
    return t.astimezone(tz) if tz is not None else t


def day_of(t: datetime | str, tz: tzinfo | None) -> date:
    """The store's calendar day of a time (aware, or ISO text with an offset): its date in ``tz`` (None: the
    process's local zone). A time without an offset is taken as written (its own date)."""
    when = datetime.fromisoformat(t) if isinstance(t, str) else t
    if when.tzinfo is None:
        return when.date()
    return when.astimezone(tz).date()


def days_from(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the calendar's ends (:data:`date.min`, :data:`date.max`): a report over
    a range of days near 0001-01-01 or 9999-12-31 reads the days there are instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min
