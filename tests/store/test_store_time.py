"""One store time zone (``store_timezone``): what the kiosk and the till's commands write is in it, whatever zone the
process runs in, and a day is a calendar day in it, whatever offset a time was stored with.

Before: every time was ``datetime.now().astimezone()`` in the process's zone and a day was the first ten characters
of the stored text, so a shell in another zone asked for "today" or "yesterday" got another day's report (a UTC shell
at 00:30 IST asking for yesterday got the day before), a reprint made from it was stored in UTC, counted on the
previous day and stamped in UTC, and ``sales_so_far`` stopped at the first row written with an earlier date."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli import main
from kiosk.config import KioskConfig
from kiosk.store import SalesStore

IST = ZoneInfo("Asia/Kolkata")
UTC = timezone.utc


def at(text: str) -> datetime:
    """An instant, written as the store's wall clock (IST)."""
    return datetime.fromisoformat(text).replace(tzinfo=IST)


@pytest.fixture
def shell_tz(monkeypatch):
    """The zone of the process (``TZ``), as a shell on the till would have it; restored after."""
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def cli_now(monkeypatch):
    """What the clock reads in the commands (the store they open): a fixed instant, in the process's zone as
    ``datetime.now().astimezone()`` reads it."""
    real = SalesStore.open.__func__

    def use(when: datetime) -> None:
        monkeypatch.setattr(SalesStore, "open", classmethod(
            lambda cls, *a, **kw: real(cls, *a, **{"clock": lambda: when.astimezone(), **kw})))

    return use


@pytest.fixture
def kiosk(tmp_path):
    """The kiosk's settings with the store's zone, and a store with one sale at 10:53 IST on 2 Dec, written by a
    kiosk whose own clock reads UTC."""
    toml = tmp_path / "kiosk.toml"
    toml.write_text(f'store = "{tmp_path / "sales.sqlite"}"\nkiosk_id = "K7"\nstore_timezone = "Asia/Kolkata"\n')
    config = KioskConfig.from_file(toml)
    sold = at("2026-12-02T10:53:00")
    with SalesStore.open(config.store, kiosk_id="K7", store_info=config.store_info,
                         clock=lambda: sold.astimezone(UTC)) as store:
        store.add_unit("milk", "Milk 1 l", 7200, 0)
        sale = store.pay(store.open_cart().cart_id, method="cash")
    assert sale.closed_at.isoformat() == "2026-12-02T10:53:00+05:30"  # in the store's zone, not the clock's
    assert "02-12-2026 10:53" in sale.receipt_text
    return str(toml), config


def test_the_kiosk_writes_every_time_in_the_stores_zone(kiosk):
    _toml, config = kiosk
    with sqlite3.connect(config.store) as c:
        times = [t for q in ("SELECT opened_at FROM carts", "SELECT closed_at FROM carts", "SELECT added_at FROM "
                             "cart_lines", "SELECT at FROM line_events", "SELECT at FROM audit_log")
                 for (t,) in c.execute(q)]
    assert times and all(t.endswith("+05:30") for t in times), times
    assert config.now().utcoffset() == timedelta(hours=5, minutes=30)


def test_a_shell_in_another_zone_lists_the_stores_today(kiosk, shell_tz, cli_now, capsys):
    """The probe: a sale at 10:53 IST, `receipt list` from a Los Angeles shell said "0 receipt(s) on 01-12-2026"."""
    toml, _ = kiosk
    shell_tz("America/Los_Angeles")
    cli_now(at("2026-12-02T10:55:00"))  # 21:25 on 1 Dec in Los Angeles
    assert main(["receipt", "list", "--config", toml]) == 0
    out, err = capsys.readouterr()
    assert "1 receipt(s) on 02-12-2026 (Asia/Kolkata)" in err
    assert out.split()[:2] == ["K7-000001", "10:53"]


def test_a_utc_shell_after_midnight_ist_gets_yesterdays_report(kiosk, shell_tz, cli_now, capsys):
    toml, _ = kiosk
    shell_tz("UTC")
    cli_now(at("2026-12-03T00:30:00"))  # 19:00 UTC on 2 Dec
    assert main(["receipt", "day", "--config", toml, "--date", "yesterday", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["day"], doc["sales"], doc["total"]) == ("2026-12-02", 1, 7200)


def test_a_reprint_from_another_zone_is_the_stores_time_and_day(kiosk, shell_tz, cli_now, capsys):
    toml, config = kiosk
    shell_tz("UTC")
    cli_now(at("2026-12-03T00:30:00"))
    assert main(["receipt", "reprint", "--last", "--config", toml, "--by", "101"]) == 0
    slip = capsys.readouterr().out
    assert "2026-12-03 00:30" in slip and "02-12-2026 10:53" in slip  # the copy's stamp and the sale, both IST
    with sqlite3.connect(config.store) as c:
        assert c.execute("SELECT at FROM receipt_prints WHERE kind = 'reprint'").fetchone()[0] == \
            "2026-12-03T00:30:00+05:30"
        audit = c.execute("SELECT at FROM audit_log WHERE kind = 'receipt.reprinted'").fetchone()[0]
    assert audit.endswith("+05:30")
    reprints = {}
    for day in ("2026-12-02", "2026-12-03"):
        assert main(["receipt", "day", "--config", toml, "--date", day, "--json"]) == 0
        reprints[day] = json.loads(capsys.readouterr().out)["reprints"]
    assert reprints == {"2026-12-02": 0, "2026-12-03": 1}


def test_rows_stored_with_other_offsets_count_on_the_stores_day(tmp_path):
    """Rows written before the store had a zone (a UTC kiosk, a UTC shell's reprint) are converted, then dated."""
    path = tmp_path / "sales.sqlite"
    clock = [datetime(2026, 12, 2, 20, 0, tzinfo=UTC)]  # 01:30 IST on 3 Dec
    with SalesStore.open(path, kiosk_id="K7", clock=lambda: clock[0]) as store:  # no zone: as the clock reads
        store.add_unit("milk", "Milk 1 l", 7200, 0)
        store.pay(store.open_cart().cart_id, method="cash")
        store.reprint(None, by="101")
        assert store.last_sale().closed_at.isoformat() == "2026-12-02T20:00:00+00:00"
    clock[0] = at("2026-12-03T10:00:00")
    with SalesStore.open(path, kiosk_id="K7", clock=lambda: clock[0], tz=IST) as store:
        store.add_unit("bread", "Bread", 4500, 0)
        store.pay(store.open_cart().cart_id, method="upi")
        day = date(2026, 12, 3)
        assert [r.receipt_no for r in store.receipts_on(day)] == ["K7-000001", "K7-000002"]
        assert store.receipts_on(date(2026, 12, 2)) == []
        assert store.sales_so_far(day) == (2, 11700)
        takings = store.takings(day)
        assert (takings.sales, takings.total, takings.reprints) == (2, 11700, 1)
        assert store.today() == day


def test_the_zone_is_told_or_taken_from_the_stores_sales(kiosk, shell_tz, cli_now, capsys, tmp_path):
    """`--store` alone: the offset the kiosk wrote its last sale with, never the shell's zone; `--timezone` says it."""
    _toml, config = kiosk
    shell_tz("America/Los_Angeles")
    cli_now(at("2026-12-02T10:55:00"))
    assert main(["receipt", "list", "--store", config.store]) == 0
    assert "1 receipt(s) on 02-12-2026 (UTC+05:30)" in capsys.readouterr().err
    assert main(["receipt", "list", "--store", config.store, "--timezone", "Pacific/Pago_Pago"]) == 0
    out, err = capsys.readouterr()  # told another zone: its day and its time of the same sale
    assert "1 receipt(s) on 01-12-2026 (Pacific/Pago_Pago)" in err and out.split()[:2] == ["K7-000001", "18:23"]


@pytest.mark.parametrize("argv, words", [
    (["--timezone", "Mars/Base"], "--timezone 'Mars/Base': not a time zone this machine knows"),
    (["--timezone", "../../etc/passwd"], "--timezone '../../etc/passwd': not a time zone"),
])
def test_a_zone_that_is_not_one_is_one_line(kiosk, capsys, argv, words):
    _toml, config = kiosk
    assert main(["receipt", "list", "--store", config.store, *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_a_settings_file_with_a_zone_that_is_not_one_is_one_line(kiosk, tmp_path, capsys):
    _toml, config = kiosk
    bad = tmp_path / "bad.toml"
    bad.write_text(f'store = "{config.store}"\nstore_timezone = "India/Delhi"\n')
    for argv in (["receipt", "list", "--config", str(bad)], ["staff", "list", "--config", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "store_timezone='India/Delhi': not a time zone" in err and len(err.strip().splitlines()) == 1
