"""A card payment cancelled at the kiosk (23:50) and paid again in cash, then approved by the terminal after all
(00:05): the till's day reports and head office's show the decline on the day it happened and the late approval
("approved late: refund or collect", count and amount) on the day it was approved, and they agree."""

from __future__ import annotations

from datetime import date, datetime

from tests.trainer.headoffice.test_takings import IST, make_store, till_day
from trainer.headoffice.takings import csv_rows, format_takings, takings_report

DAY, NEXT = date(2026, 12, 1), date(2026, 12, 2)


def _late(s, clock) -> None:
    s.add_unit("oil", "Sunflower oil 5 L", 899_00, 500)
    cart = s.open_cart()
    clock.t = datetime(2026, 12, 1, 23, 50, tzinfo=IST)
    key = s.begin_payment(cart.cart_id, cart.bill().total, "card", "T1").idempotency_key
    s.cancel_payment(key, "never received")  # released: the shopper pays again by cash
    s.pay(cart.cart_id, method="cash")
    clock.t = datetime(2026, 12, 2, 0, 5, tzinfo=IST)
    s.record_late_approval(key, "AUTH123")  # the terminal approved the card charge after all
    s.record_late_approval(key, "AUTH124")  # reported again with another reference: still one payment


def _cash(s, clock) -> None:
    s.add_unit("tea", "Tea 250 g", 15500, 500, 1)
    s.pay(s.open_cart().cart_id, method="cash")


def test_a_late_approval_counts_on_its_own_day_and_the_decline_on_its(tmp_path):
    store = make_store(tmp_path, {"K1": _late, "K2": _cash})
    first, second = till_day(store.dbs["K1"], "K1", DAY), till_day(store.dbs["K1"], "K1", NEXT)
    assert (first.sales, first.total, first.declined, first.approved_late) == (1, 89900, 1, 0)
    assert (second.sales, second.declined, second.approved_late, second.approved_late_paise) == (0, 0, 1, 89900)
    text = second.to_text()
    assert "Approved late" in text and "1 (₹899.00)" in text and "refund or collect" in text
    assert "refund or collect" not in first.to_text()
    from kiosk.store import SalesStore

    with SalesStore.open(store.dbs["K1"], kiosk_id="K1", readonly=True) as s:
        (late,) = s.late_approvals()
    assert late.updated_at.startswith("2026-12-01T23:50")  # the cancel's time is kept

    report = takings_report(str(store.root), store.keys)
    assert [d.day for d in report.days] == [DAY, NEXT] and report.clean
    for d in report.days:
        (k1,) = [k for k in d.kiosks if k.kiosk == "K1"]
        till = till_day(store.dbs["K1"], "K1", d.day)
        assert {**k1.takings.to_dict(), "store": ""} == {**till.to_dict(), "store": ""}
    assert (report.days[1].total.approved_late, report.days[1].total.approved_late_paise) == (1, 89900)
    assert report.days[0].total.declined == 1 and report.days[0].total.approved_late == 0
    assert "Approved late: refund or collect" in format_takings(report)
    (row,) = [r for r in csv_rows(report) if r["day"] == "2026-12-02" and r["kiosk"] == "K1"]
    assert (row["approved_late_payments"], row["approved_late_amount"]) == ("1", "899.00")
