"""A day at the calendar's ends (0001-01-01, 9999-12-31), in any store zone: ``checkout receipt day/list`` report it
(empty, or its sales), never an OverflowError traceback. Before: the two days either side that the SQL reads
(``_near``) and ``sales_so_far``'s first day were ``day ± timedelta(days=2)``, which overflowed there; and a sale
whose instant is past 9999-12-31 in the store's zone was "a time that does not read"."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli import main
from kiosk.domain.store_time import days_from
from kiosk.store import SalesStore


def _store(path, when: datetime) -> str:
    with SalesStore.open(str(path), kiosk_id="K7", clock=lambda: when) as store:
        store.add_unit("milk", "Milk 1 l", 7200, 0)
        store.pay(store.open_cart().cart_id, method="cash")
    return str(path)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Etc/GMT-14", "Etc/GMT+12", "UTC"])
@pytest.mark.parametrize("day", ["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"])
def test_a_day_at_the_calendars_ends_is_an_empty_report(tmp_path, capsys, zone, day):
    store = _store(tmp_path / "sales.sqlite", datetime(2026, 12, 2, 5, tzinfo=timezone.utc))
    for cmd in ("day", "list"):
        assert main(["receipt", cmd, "--store", store, "--timezone", zone, "--date", day, "--json"]) == 0
    out = capsys.readouterr().out
    assert f"\"{day}\"" in out  # the day's report, empty


def test_a_sale_on_the_last_day_counts_and_one_past_it_in_the_zone_is_on_no_day(tmp_path, capsys):
    ist = ZoneInfo("Asia/Kolkata")
    store = _store(tmp_path / "sales.sqlite", datetime(9999, 12, 31, 20, tzinfo=ist))
    assert main(["receipt", "list", "--store", store, "--timezone", "Asia/Kolkata", "--date", "9999-12-31"]) == 0
    assert "1 receipt(s)" in capsys.readouterr().err
    # 20:00 IST is 04:30 on 1 January 10000 at +14: not on 31 December there, and no error either
    assert main(["receipt", "list", "--store", store, "--timezone", "Etc/GMT-14", "--date", "9999-12-31"]) == 0
    assert "0 receipt(s)" in capsys.readouterr().err
    with SalesStore.open(store, kiosk_id="K7") as s:
        assert s.sales_so_far(date.max) == (1, 7200)
        s.use_zone(ZoneInfo("Etc/GMT-14"))
        assert s.sales_so_far(date.max) == (0, 0)


def test_days_from_holds_at_the_ends():
    assert days_from(date.min, -2) == date.min and days_from(date.max, 2) == date.max
    assert days_from(date(2026, 3, 1), -1) == date(2026, 2, 28)
