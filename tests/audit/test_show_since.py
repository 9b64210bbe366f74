"""``checkout audit show --since``: a time or an age past what a datetime holds means "everything" (or "nothing"),
never a traceback; text that is no time at all is one line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.audit.show import parse_since
from kiosk.cli import main
from kiosk.errors import UserError
from kiosk.store import SalesStore

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1") as store:
        store.add_unit("milk", "Milk 1 l", 4500, 0)
    return path


@pytest.mark.parametrize("text", ["99999999999d", "0001-01-01", "0001-01-01T00:00+14:00", "9" * 5000 + "m"])
def test_since_before_any_time_is_the_whole_log(text):
    assert datetime.fromisoformat(parse_since(text, NOW)) == datetime.min.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["9999-12-31T23:59-12:00", "9999-12-31"])
def test_since_after_any_time_is_nothing(text):
    cutoff = datetime.fromisoformat(parse_since(text, NOW))
    assert cutoff >= datetime(9999, 12, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, rows", [("99999999999d", 2), ("0001-01-01", 2), ("9999-12-31T23:59-12:00", 0),
                                        ("9999-12-31", 0)])
def test_show_with_a_far_since_prints_rows_not_a_traceback(store_path, capsys, text, rows):
    rc = main(["audit", "show", "--store", str(store_path), "--since", text])
    out, err = capsys.readouterr()
    assert rc == 0 and f"{rows} row(s)" in out and "Traceback" not in err


def test_since_that_is_no_time_is_one_line():
    with pytest.raises(UserError, match=r"^--since '12x': not a date") as exc:
        parse_since("12x", NOW)
    assert "\n" not in str(exc.value)


def test_an_age_and_a_date_still_read_as_before():
    assert parse_since("30m", NOW) == (NOW - timedelta(minutes=30)).isoformat()
    assert parse_since("2025-03-01T10:00+05:30", NOW) == "2025-03-01T04:30:00+00:00"


def test_a_since_without_an_offset_is_the_stores_time(tmp_path, monkeypatch, capsys):
    """`--since 2026-12-03` from a UTC shell is midnight in the store's zone (store_timezone), not the shell's: the
    rows written at 00:10 IST that day are shown (before: midnight UTC, 5.5 hours later, left them out)."""
    import time
    from zoneinfo import ZoneInfo

    ist = ZoneInfo("Asia/Kolkata")
    assert parse_since("2026-12-03", NOW, tz=ist) == "2026-12-02T18:30:00+00:00"
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=lambda: datetime(2026, 12, 3, 0, 10, tzinfo=ist)) as store:
        store.add_unit("milk", "Milk 1 l", 4500, 0)
    toml = tmp_path / "kiosk.toml"
    toml.write_text(f'store = "{path}"\nstore_timezone = "Asia/Kolkata"\n')
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert main(["audit", "show", "--config", str(toml), "--since", "2026-12-03"]) == 0
    finally:
        monkeypatch.undo()
        time.tzset()

