from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

IST = timezone(timedelta(hours=5, minutes=30))


class FakeClock:
    """A clock the test moves: ``advance(days=…, seconds=…)`` (time passing: the wall clock and ``monotonic``
    together) or ``step(days=…)`` (the wall clock set, as by NTP or a person: ``monotonic`` does not move)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2001, 12, 1, 10, 0, tzinfo=IST)  # far from the real date: a real-time read shows
        self.elapsed = 0.0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)
        self.elapsed += timedelta(**kw).total_seconds()

    def step(self, **kw) -> None:
        self.now += timedelta(**kw)

    def monotonic(self) -> float:
        return self.elapsed


@pytest.fixture
def clock():
    return FakeClock()
