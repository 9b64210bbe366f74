"""``checkout report takings``: a store's day across its kiosks, rebuilt from the audit batches the kiosks send.

Two kiosks of one store sell (unit and weighed lines, GST 0/5/12/18/28 %, a void, a staff correction, cash and
card, a declined card, a reprint, a sale closed after midnight); head office's store total must be the sum of the
two tills' own end-of-day reports (``receipt day``, computed here with the kiosk's own code), to the paisa."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.domain.cart import CartLine
from kiosk.domain.money import parse_inr
from tests.trainer.headoffice.seed import _Outbox
from trainer.headoffice.takings import csv_columns, csv_rows, format_takings, takings_report, write_csv

IST = timezone(timedelta(hours=5, minutes=30))  # the store's zone; rows are written in it
DAY = date(2026, 12, 1)  # fixed: nothing here compares it with the real clock
NEXT = date(2026, 12, 2)


class Clock:
    """The kiosk's clock: a second on at every reading."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@dataclass
class Store:
    root: Path  # the head-office location
    keys: Path
    dbs: dict[str, Path]  # kiosk -> its sales file


def _card(s, cart_id: str, *, decline_first: bool = False):
    amount = s.cart(cart_id).bill().total
    if decline_first:
        s.record_decline(s.begin_payment(cart_id, amount, "card", "T1").idempotency_key, "insufficient funds")
    key = s.begin_payment(cart_id, amount, "card", "T1").idempotency_key
    s.record_approval(key, "APPROVED-1")
    return s.complete_payment(key)


def _k1(s, clock: Clock) -> None:
    s.add_unit("arla-milk", "Arla Milk 1 l", 7200, 0, 2)
    s.add_weighed("apple", "Apple", 18050, 0, 1237)  # ₹223.28 (rounded half-up per line)
    s.add_unit("biscuits", "Biscuits", 3000, 1800, 3)
    first = s.pay(s.open_cart().cart_id, method="cash")
    s.mark_receipt_shown(first.receipt_no)
    wrong = s.add_unit("ghee", "Ghee 500 ml", 32500, 1200, 1)
    voided = s.add_weighed("cashew", "Cashew", 95000, 500, 255)
    s.add_unit("soap", "Soap", 4500, 1800, 2)
    s.void_line(voided.line_id, by="101")  # voided by staff
    s.add_line(CartLine.unit("butter", "Butter 500 g", 28000, 1200, 1, replaces=wrong.line_id), by="101")
    s.void_line(wrong.line_id, by="101")  # corrected by staff: another item in its place
    _card(s, s.open_cart().cart_id, decline_first=True)
    s.reprint(first.receipt_no, by="101")


def _k2(s, clock: Clock) -> None:
    s.add_weighed("onion", "Onion", 4000, 0, 980)
    s.add_unit("cola", "Cola 750 ml", 4000, 2800, 2)
    s.add_unit("tea", "Tea 250 g", 15500, 500, 1)
    _card(s, s.open_cart().cart_id)
    clock.t = datetime(2026, 12, 1, 23, 59, 50, tzinfo=IST)
    s.add_weighed("tomato", "Tomato", 3000, 0, 1500)  # the cart opens on the 1st ...
    clock.t = datetime(2026, 12, 2, 0, 30, tzinfo=IST)  # ... its sale closes on the 2nd (the 1st in UTC)
    s.add_unit("bread", "Bread", 4500, 0, 1)
    s.pay(s.open_cart().cart_id, method="cash")


def make_store(base: Path, sell=None, **packer) -> Store:
    """Store S1's kiosks K1 and K2 sell on DAY (K2 past midnight too); their audit rows go to head office in batches
    of 4 rows and their keys are enrolled."""
    from kiosk.audit.packer import AuditPacker
    from kiosk.store import SalesStore
    from trainer.headoffice.audit_status import enroll_key

    root, keys, dbs = base / "ho", base / "keys", {}
    for kiosk, sales in (("K1", _k1), ("K2", _k2)):
        clock = Clock(datetime(2026, 12, 1, 9 if kiosk == "K1" else 10, 0, tzinfo=IST))
        dbs[kiosk] = base / f"{kiosk}.sqlite"
        with SalesStore.open(dbs[kiosk], kiosk_id=kiosk, clock=clock) as s:
            (sell or {}).get(kiosk, sales)(s, clock)
            AuditPacker(s, _Outbox(root, "S1", kiosk), kiosk_id=kiosk, store_id="S1", batch_rows=4,
                        **packer).pack()
            enroll_key(keys, "S1", kiosk, s.audit_key_path.read_text())
    return Store(root, keys, dbs)


def till_day(db: Path, kiosk: str, day: date):
    """The till's own end-of-day report (what ``checkout receipt day`` prints), from its sales file, in the store's
    zone (its clock's)."""
    from kiosk.store import SalesStore

    with SalesStore.open(db, kiosk_id=kiosk, readonly=True, clock=Clock(datetime(2026, 12, 3, tzinfo=IST))) as s:
        return s.takings(day)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory.mktemp("takings"))


def _summed(takings) -> dict:
    """The figures a store total adds up, from several kiosks' takings."""
    tax: dict[int, list[int]] = {}
    pay: dict[str, list[int]] = {}
    for t in takings:
        for r in t.tax_rows:
            tax[r.rate_bp] = [a + b for a, b in zip(tax.get(r.rate_bp, [0] * 4), (r.gross, r.taxable, r.cgst, r.sgst))]
        for m, (n, a) in t.payments.items():
            pay[m] = [x + y for x, y in zip(pay.get(m, [0, 0]), (n, a))]
    keys = ("sales", "items", "gross", "round_off", "total", "voided", "voided_paise", "corrected", "repriced",
            "reprints", "declined")
    return {**{k: sum(getattr(t, k) for t in takings) for k in keys}, "tax": tax, "payments": pay}


def test_the_store_total_is_the_sum_of_the_tills_own_day_reports(store):
    report = takings_report(str(store.root), store.keys)
    assert [(s.store, s.day) for s in report.days] == [("S1", DAY), ("S1", NEXT)] and report.clean
    day = report.days[0]
    tills = {k: till_day(store.dbs[k], k, DAY) for k in ("K1", "K2")}
    for k in day.kiosks:  # each kiosk as its till reports it, figure by figure
        assert k.status == "ok" and k.discrepancies == [] and k.withheld == []
        assert {**k.takings.to_dict(), "store": ""} == {**tills[k.kiosk].to_dict(), "store": ""}
    assert _summed([day.total]) == _summed(list(tills.values()))
    t = day.total
    assert (t.sales, t.voided, t.corrected, t.reprints, t.declined) == (3, 1, 1, 1, 1)
    assert sorted(t.payments) == ["card", "cash"] and {r.rate_bp for r in t.tax_rows} == {0, 500, 1200, 1800, 2800}
    assert t.gross == sum(r.gross for r in t.tax_rows) == sum(r.taxable + r.cgst + r.sgst for r in t.tax_rows)
    late = report.days[1]  # the cart opened before midnight, its sale closed after: the store's 2nd
    assert [k.takings.sales for k in late.kiosks] == [0, 1]
    assert _summed([late.total]) == _summed([till_day(store.dbs["K2"], "K2", NEXT)])
    text = format_takings(report)
    assert "S1  2026-12-01 (Tuesday)" in text and "GST 28% CGST" in text and "unverified" not in text


def test_one_day_one_store_and_the_command(store, tmp_path, capsys):
    out = tmp_path / "day.csv"
    code = main(["report", "takings", str(store.root), "--keys", str(store.keys), "--date", "2026-12-02",
                 "--store", "S1", "--json", "--csv", str(out)])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert code == 0 and [s["day"] for s in doc["stores"]] == ["2026-12-02"]
    assert doc["stores"][0]["total"]["kiosks_counted"] == ["K1", "K2"] and doc["amounts_in"] == "paise"
    assert "wrote" in captured.err and len(out.read_text().splitlines()) == 3  # header, K1, K2
    assert main(["report", "takings", str(store.root), "--keys", str(store.keys), "--date", "2026-11-30"]) == 0
    quiet = capsys.readouterr().out  # a day asked for is shown, even with nothing sold
    assert "S1  2026-11-30" in quiet and "Sales" in quiet


def test_a_sale_whose_lines_do_not_make_its_gross_is_a_discrepancy_not_counted(tmp_path):
    def phantom(s, clock):  # a line in the log that never reached the cart: the sale's lines do not add up
        s.add_unit("rice", "Rice 5 kg", 42000, 500, 1)
        cart = s.open_cart().cart_id
        s.audit("line.add", "shopper", cart_id=cart, **CartLine.unit("saffron", "Saffron", 99900, 500).to_dict())
        s.pay(cart, method="cash")
        s.add_unit("salt", "Salt", 2500, 0, 1)
        s.pay(s.open_cart().cart_id, method="cash")

    shop = make_store(tmp_path, {"K1": phantom})
    report = takings_report(str(shop.root), shop.keys, first=DAY, last=DAY)
    k1 = report.days[0].kiosks[0]
    (bad,) = k1.discrepancies
    assert bad["receipt_no"] == "K1-000001" and bad["gross"] == 42000 and "gross ₹1,419.00" in bad["message"]
    assert k1.status == "ok" and k1.takings.sales == 1 and k1.takings.total == 2500 and k1.discrepant_total == 42000
    assert not report.clean and "K1 discrepancy: receipt K1-000001: closed with 1 line(s)" in format_takings(report)


def test_a_row_withheld_for_size_is_named_and_its_sale_not_counted(tmp_path):
    def long_name(s, clock):
        s.add_unit("rice", "Rice 5 kg", 42000, 500, 1)
        s.add_unit("gift", "Gift hamper " + "with a very long name " * 200, 150000, 1800, 1)  # a 4 kB row
        s.pay(s.open_cart().cart_id, method="cash")

    shop = make_store(tmp_path, {"K1": long_name}, max_bytes=3000)
    (day,) = takings_report(str(shop.root), shop.keys, first=DAY, last=DAY).days
    k1 = day.kiosks[0]
    (named,) = k1.withheld
    assert named.startswith("row 3 (line.add, 2026-12-01T09:00:") and "stays in the kiosk's log" in named
    assert k1.status == "ok" and k1.takings.sales == 0 and k1.discrepancies[0]["receipt_no"] == "K1-000001"


def test_a_kiosk_with_a_batch_deleted_is_unverified_and_left_out_of_the_store_total(store, tmp_path):
    root = tmp_path / "ho"
    shutil.copytree(store.root, root)
    batches = sorted((root / "audit/S1/K2").iterdir(), key=lambda p: json.loads(_meta(p))["first_seq"])
    batches[1].unlink()  # rows 5-8 never arrived (or were deleted on the way)
    report = takings_report(str(root), store.keys, first=DAY, last=DAY)
    (day,) = report.days
    k1, k2 = day.kiosks
    assert k1.status == "ok" and k2.status.startswith("unverified: rows 5–8 not received")
    assert day.left_out == ["K2"] and _summed([day.total]) == _summed([k1.takings]) and not report.clean
    assert "K2 unverified: rows 5–8 not received" in format_takings(report)


def _meta(batch: Path) -> str:
    from kiosk.exchange.batch import read_batch

    return json.dumps(read_batch(batch.read_bytes()).meta)


def test_the_csv_round_trips(store, tmp_path):
    report = takings_report(str(store.root), store.keys)
    path = tmp_path / "takings.csv"
    assert write_csv(path, report) == 4  # two days, two kiosks each
    with path.open(newline="", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    assert back == csv_rows(report)
    doc = report.to_dict()
    for row, kiosk in zip(back, [k for s in doc["stores"] for k in s["kiosks"]]):
        assert (row["store"], row["day"], row["kiosk"], row["status"]) == ("S1", kiosk["day"], kiosk["kiosk"], "ok")
        assert [parse_inr(row[k]) for k in ("gross", "round_off", "total")] == [kiosk[k] for k in
                                                                                ("gross", "round_off", "total")]
        for tax in kiosk["tax"]:
            rate = f"{tax['rate_bp'] // 100}%"
            assert parse_inr(row[f"gst_{rate}_cgst"]) == tax["cgst"] and parse_inr(row[f"gst_{rate}_taxable"]) == \
                tax["taxable"]
        for method, paid in kiosk["payments"].items():
            assert (int(row[f"paid_{method}_sales"]), parse_inr(row[f"paid_{method}_amount"])) == (paid["sales"],
                                                                                                    paid["amount"])
        assert int(row["voided_lines"]) == kiosk["voided_lines"] and int(row["reprints"]) == kiosk["reprints"]


@pytest.mark.parametrize("args, says", [
    (["--date", "2026-13-01"], "--date '2026-13-01': not a date (YYYY-MM-DD)"),
    (["--date", "1 Dec"], "--date '1 Dec': not a date"),
    (["--date", "２０２６-12-01"], "not a date"),
    (["--from", "2026-12-05", "--to", "2026-12-01"], "--from 2026-12-05 is after --to 2026-12-01"),
    (["--date", "2026-12-01", "--from", "2026-12-01"], "give one or the other"),
    (["--store", "S9"], "--store S9: no kiosk of that store"),
    (["--keys", "nowhere"], "--keys"),
    ([".", "nothing-here"], "no such head-office directory"),
    ([".", "{tmp}"], "no audit/ folder"),
])
def test_bad_options_are_one_line(store, tmp_path, capsys, args, says):
    argv = ["report", "takings", str(store.root), "--keys", str(store.keys)]
    if args[0] == ".":
        argv[2] = str(tmp_path / args[1]) if args[1] != "{tmp}" else str(tmp_path)
        args = []
    elif args[0] == "--keys":
        args = ["--keys", str(tmp_path / args[1])]
    assert main(argv + args) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and err.startswith("checkout: error: ")


def _closed_at_midnight(s, clock: Clock) -> None:
    s.add_unit("tea", "Tea 250 g", 15500, 500, 1)
    clock.t = datetime(2026, 12, 1, 23, 59, 58, tzinfo=IST)  # the sale is dated 23:59:59, its audit row 00:00:00
    s.pay(s.open_cart().cart_id, method="cash")


def test_a_sale_closed_at_the_last_second_counts_on_its_receipts_day(tmp_path):
    """The receipt's time and its audit row's are two readings of the clock: a sale closed in the last second of a
    day was the till's on the 1st and head office's on the 2nd."""
    store = make_store(tmp_path, {"K1": _closed_at_midnight, "K2": lambda s, clock: None})
    report = takings_report(str(store.root), store.keys)
    till = till_day(store.dbs["K1"], "K1", DAY)
    assert till.sales == 1
    days = {d.day: d.total.sales for d in report.days}
    assert days.get(DAY) == 1 and days.get(NEXT, 0) == 0


# -- a kiosk with no enrolled key sends anything ---------------------------------------------------------------------
AT = "2026-12-01T12:00:00+05:30"


def _line(cart="C1", lid="L1", **kw) -> dict:
    return {"cart_id": cart, **CartLine.unit("tea", "Tea", 15500, 500, 1, line_id=lid).to_dict(), **kw}


def _closed(cart="C1", receipt="KX-1", **kw) -> dict:
    return {"cart_id": cart, "receipt_no": receipt, "gross": 15500, "round_off": 0, "total": 15500, "method": "cash",
            "payment_ref": "", "lines": 1, "closed_at": AT, **kw}


def _unverified(root: Path, rows: list, kiosk: str = "KX") -> None:
    """Rows (kind, detail[, at]) of kiosk ``kiosk`` of S1, sealed with a key head office never enrolled."""
    import secrets

    from kiosk.exchange import batch_key, write_batch
    from kiosk.exchange.audit import GENESIS, KIND, seal

    key, prev, out = secrets.token_bytes(32), GENESIS, []
    for i, (kind, detail, *at) in enumerate(rows, 1):
        out.append(seal(i, at[0] if at else AT, kind, "kiosk", detail, prev, key))
        prev = out[-1]["hash"]
    name, data = write_batch(KIND, {"kiosk_id": kiosk, "store_id": "S1", "first_seq": 1, "last_seq": len(out)}, out)
    path = root / batch_key(KIND, "S1", kiosk, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _with(store: Store, tmp_path: Path, rows: list) -> Path:
    root = tmp_path / "ho"
    shutil.copytree(store.root, root)
    _unverified(root, rows)
    return root


@pytest.mark.parametrize("rows", [
    [("line.add", _line(name={"x": 1})), ("sale.closed", _closed())],
    [("line.add", _line(sku=["a"])), ("sale.closed", _closed())],
    [("line.add", _line(replaces=["L0"])), ("sale.closed", _closed())],
    [("line.add", _line(replaces={"a": 1})), ("sale.closed", _closed())],
    [("line.add", _line(voided="false")), ("sale.closed", _closed())],
    [("line.add", _line()), ("sale.closed", _closed(lines=True))],
    [("line.add", _line()), ("sale.closed", _closed(gross=15500.0))],
    [("line.add", _line()), ("line.remove", _line()), ("sale.closed", _closed(lines=0, gross=0, total=0))],
], ids=["name-dict", "sku-list", "replaces-list", "replaces-dict", "voided-str", "lines-bool", "gross-float",
        "emptied-cart"])
def test_an_unverified_kiosks_odd_sale_is_one_discrepancy_not_a_crash(store, tmp_path, rows):
    report = takings_report(str(_with(store, tmp_path, rows)), store.keys, first=DAY, last=DAY)
    (day,) = report.days
    kx = next(k for k in day.kiosks if k.kiosk == "KX")
    assert kx.takings.sales == 0 and len(kx.discrepancies) == 1 and not report.clean
    assert [k.takings.sales for k in day.kiosks if k.verified] == [2, 1]  # K1 and K2 still counted


def test_a_cart_of_thousands_of_replacing_lines_is_refused_fast(store, tmp_path):
    import time

    rows = [("line.add", _line(lid="L0"))] + [("line.add", _line(lid=f"L{i}", replaces="L0")) for i in range(1, 6000)]
    root = _with(store, tmp_path, [*rows, ("sale.closed", _closed(lines=6000))])
    started = time.monotonic()
    report = takings_report(str(root), store.keys, first=DAY, last=DAY)
    kx = next(k for k in report.days[0].kiosks if k.kiosk == "KX")
    assert len(kx.discrepancies) == 1 and "2000 lines" in kx.discrepancies[0]["message"]
    assert time.monotonic() - started < 5


def test_the_csv_neutralises_a_kiosks_formulas_not_its_negative_amounts(store, tmp_path):
    rows = [("line.add", _line()), ("sale.closed", _closed(receipt="=1+1", gross=15500))]
    root = tmp_path / "ho"
    shutil.copytree(store.root, root)
    _unverified(root, rows, kiosk="-cmd")
    report = takings_report(str(root), store.keys, first=DAY, last=DAY)
    rows = csv_rows(report)
    (kx,) = [r for r in rows if r["kiosk"] == "'-cmd"]
    assert (kx["first_receipt"], kx["sales"]) == ("'=1+1", "1")
    assert not [v for r in rows for v in r.values() if v.startswith(("=", "+", "@"))]
    assert {r["round_off"] for r in rows} >= {"-0.28", "-0.20"}  # numbers stay numbers


def test_a_kiosks_long_text_is_cut_in_the_text_report(store, tmp_path):
    rows = [("line.add", _line()), ("sale.closed", _closed(receipt="R" * 100_000, gross=1))]
    text = format_takings(takings_report(str(_with(store, tmp_path, rows)), store.keys, first=DAY, last=DAY))
    assert len(text) < 20_000 and "R" * 41 not in text


def test_unknown_payment_methods_share_one_other_column(store, tmp_path):
    rows = []
    for i in range(50):
        at = f"2026-11-{1 + i % 28:02d}T12:00:00+05:30"
        rows += [("line.add", _line(cart=f"C{i}", lid=f"L{i}"), at),
                 ("sale.closed", _closed(cart=f"C{i}", receipt=f"R{i}", method=f"m{i}", closed_at=at), at)]
    report = takings_report(str(_with(store, tmp_path, rows)), store.keys)
    paid = [c for c in csv_columns(report) if c.startswith("paid_")]
    assert paid == ["paid_card_sales", "paid_card_amount", "paid_cash_sales", "paid_cash_amount", "paid_other_sales",
                    "paid_other_amount"]
    assert sum(int(r["paid_other_sales"]) for r in csv_rows(report)) == 50


@pytest.mark.parametrize("days", [{}, {"first": DAY}, {"first": DAY, "last": NEXT}])
def test_a_kiosk_with_no_batch_received_makes_the_report_not_clean_in_every_mode(store, tmp_path, days):
    root = tmp_path / "ho"
    shutil.copytree(store.root, root)
    shutil.rmtree(root / "audit/S1/K2")
    for batch in (root / "audit/S1/K1").iterdir():
        batch.unlink()
    (root / "audit/S1/K1/.keep").write_text("")
    report = takings_report(str(root), store.keys, **days)
    assert not report.clean and "no audit batch received yet" in format_takings(report)
