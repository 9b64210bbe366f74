"""The day's takings (end-of-day report): the receipts of one local day summed — sales, payments per method, the GST
table as the receipts stated it, staff changes, reprints, declined payments — through the store and
``checkout receipt day``; a receipt that no longer reads is named, never left out."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.cli import main
from kiosk.domain.pricing import compute_bill
from kiosk.store import SalesStore

IST = timezone(timedelta(hours=5, minutes=30))
DAY = date(2026, 11, 30)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now


def fill(path) -> SalesStore:
    """Yesterday one sale; on DAY four (card, upi, card, cash), a void, a reprint, a declined payment; the next day
    one more (23:59 and 00:01 local time fall on their own days)."""
    clock = Clock(datetime(2026, 11, 29, 23, 59, tzinfo=IST))
    store = SalesStore.open(path, kiosk_id="K7", clock=clock)
    store.add_unit("milk", "Milk 1 l", 7200, 0)
    store.pay(store.open_cart().cart_id, method="cash")
    clock.now = datetime(2026, 11, 30, 0, 1, tzinfo=IST)
    for method in ("card", "upi", "card"):
        for _ in range(3):
            store.add_unit("chocolate", "Chocolate", 100, 500)  # ₹1.00 at 5 %: each receipt rounds its own GST
        store.pay(store.open_cart().cart_id, method=method)
    clock.now = datetime(2026, 11, 30, 18, 0, tzinfo=IST)
    store.add_weighed("banana", "Banana", 6950, 0, 548)
    gone = store.add_unit("juice", "Juice", 17900, 1200)
    store.void_line(gone.line_id, by="101")
    cart = store.open_cart().cart_id
    declined = store.begin_payment(cart, store.cart(cart).bill().total, "card", "sim")
    store.record_decline(declined.idempotency_key, "insufficient funds")
    store.pay(cart, method="cash")
    store.reprint(None, by="101")
    clock.now = datetime(2026, 12, 1, 0, 1, tzinfo=IST)
    store.add_unit("milk", "Milk 1 l", 7200, 0)
    store.pay(store.open_cart().cart_id, method="upi")
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=IST)
    return store


def test_a_days_takings_sum_its_receipts(tmp_path):
    with fill(tmp_path / "sales.sqlite") as store:
        t = store.takings(DAY)
        receipts = store.receipts_on(DAY)
        other = store.takings(DAY - timedelta(days=1))
    assert [r.receipt_no for r in receipts] == ["K7-000002", "K7-000003", "K7-000004", "K7-000005"]
    assert (t.sales, t.first_receipt, t.last_receipt, t.kiosk_id) == (4, "K7-000002", "K7-000005", "K7")
    assert t.total == sum(r.bill.total for r in receipts) and t.gross == sum(r.bill.gross for r in receipts)
    assert t.total == t.gross + t.round_off and t.items == 3 * 3 + 1
    assert t.payments == {"card": (2, 600), "cash": (1, receipts[-1].bill.total), "upi": (1, 300)}
    assert (t.voided, t.voided_paise, t.reprints, t.declined) == (1, 17900, 1, 1)
    five = next(r for r in t.tax_rows if r.rate_bp == 500)
    per_receipt = [row for r in receipts for row in r.bill.tax_rows if row.rate_bp == 500]
    assert five.cgst == sum(row.cgst for row in per_receipt) and five.gross == 900
    day_level = next(r for r in compute_bill([(900, 500)]).tax_rows)
    assert (five.taxable, five.cgst + five.sgst) != (day_level.taxable, day_level.tax)  # the receipts' own figures
    assert (other.sales, other.total, other.payments) == (1, 7200, {"cash": (1, 7200)})


def test_the_heartbeat_counts_the_days_sales_without_reading_them_all(tmp_path):
    with fill(tmp_path / "sales.sqlite") as store:
        t = store.takings(DAY)
        assert store.sales_so_far(DAY) == (4, t.total)
        assert store.sales_so_far(DAY + timedelta(days=1)) == (1, 7200)
        assert store.sales_so_far(DAY - timedelta(days=1)) == (1, 7200)
        assert store.sales_so_far(DAY + timedelta(days=2)) == (0, 0)


def test_the_command_prints_the_report_json_and_csv(tmp_path, capsys):
    fill(tmp_path / "sales.sqlite").close()
    db = str(tmp_path / "sales.sqlite")
    assert main(["receipt", "day", "--store", db, "--date", "2026-11-30", "--csv", str(tmp_path / "gst.csv")]) == 0
    out = capsys.readouterr().out
    assert "END OF DAY" in out and "30-11-2026" in out and "K7-000002 to K7-000005" in out
    assert all(len(line) <= 42 for line in out.splitlines())  # fits the receipt roll
    rows = list(csv.DictReader((tmp_path / "gst.csv").open()))
    assert len(rows) == 3 + 1 and {r["gst_rate"] for r in rows} == {"5%", "0%"}  # the voided juice is not charged
    assert sum(round(float(r["total_incl_gst"]) * 100) for r in rows) == 900 + 3809
    assert main(["receipt", "day", "--store", db, "--date", "2026-11-30", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sales"] == 4 and doc["payments"]["card"] == {"sales": 2, "amount": 600}
    assert doc["amounts_in"] == "paise" and doc["declined_payments"] == 1
    assert main(["receipt", "day", "--store", db, "--date", "2026-02-30"]) == 2
    assert "--date '2026-02-30': not a date" in capsys.readouterr().err
    assert main(["receipt", "day", "--store", str(tmp_path / "none.sqlite")]) == 2


def test_a_receipt_that_no_longer_reads_is_named(tmp_path, capsys):
    import sqlite3

    fill(tmp_path / "sales.sqlite").close()
    with sqlite3.connect(tmp_path / "sales.sqlite") as c:
        row = c.execute("SELECT receipt_json FROM sales WHERE receipt_no = 'K7-000003'").fetchone()
        doc = json.loads(row[0])
        doc["total"] += 100  # edited by hand: no longer adds up
        c.execute("UPDATE sales SET receipt_json = ? WHERE receipt_no = 'K7-000003'", (json.dumps(doc),))
    assert main(["receipt", "day", "--store", str(tmp_path / "sales.sqlite"), "--date", "2026-11-30"]) == 2
    err = capsys.readouterr().err
    assert "receipt K7-000003 cannot be read" in err and len(err.strip().splitlines()) == 1


def test_a_reader_that_goes_away_is_not_a_traceback(tmp_path):
    """`checkout … | head`: the pipe closes before the command writes; it ends quietly, as Unix tools do."""
    fill(tmp_path / "sales.sqlite").close()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "receipt", "day", "--store", str(tmp_path / "sales.sqlite"),
                             "--date", "2026-11-30", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command has imported anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("width", [32, 42, 48])
def test_the_report_fits_any_roll(tmp_path, width):
    with fill(tmp_path / "sales.sqlite") as store:
        text = store.takings(DAY).to_text(width)
    assert all(len(line) <= width for line in text.splitlines())


def test_the_days_receipts_are_listed_to_find_one_to_reprint(tmp_path, capsys):
    fill(tmp_path / "sales.sqlite").close()
    db = str(tmp_path / "sales.sqlite")
    assert main(["receipt", "list", "--store", db, "--date", "2026-11-30"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [x.split()[0] for x in lines] == ["K7-000002", "K7-000003", "K7-000004", "K7-000005"]
    assert lines[0].split()[1] == "00:01" and lines[0].endswith("CARD") and "₹3.00" in lines[0]
    assert "4 receipt(s) on 30-11-2026" in captured.err
    assert main(["receipt", "list", "--store", db, "--date", "2026-11-29", "--json"]) == 0
    (only,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert only == {"receipt_no": "K7-000001", "issued_at": "2026-11-29T23:59:00+05:30", "items": 1, "total": 7200,
                    "payment_method": "cash"}
