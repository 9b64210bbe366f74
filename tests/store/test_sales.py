import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.cart import CartError, CartLine
from kiosk.domain.receipt import StoreInfo
from kiosk.store import SalesStore, StoreError, read_corrections

IST = timezone(timedelta(hours=5, minutes=30))


class Clock:
    def __init__(self):
        self.t = datetime(2025, 3, 1, 10, 0, tzinfo=IST)

    def __call__(self):
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def path(tmp_path):
    return tmp_path / "sales.sqlite"


@pytest.fixture
def store(path):
    s = SalesStore.open(path, kiosk_id="K7", clock=Clock(), store_info=StoreInfo("FreshMart", kiosk_id="K7"))
    yield s
    s.close()


def test_pragmas(store, path):
    c = sqlite3.connect(path)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_lines_persist_and_reopen_exactly(store, path):
    a = store.add_unit("milk", "Milk", 7200, 0, 2)
    b = store.add_weighed("banana", "Banana", 6950, 0, 1234)
    c = store.add_unit("juice", "Juice", 25000, 1200)
    store.remove_line(b.line_id)
    store.void_line(c.line_id, by="staff-1")
    cart_id = store.open_cart().cart_id
    store.close()
    with SalesStore.open(path) as again:
        cart = again.open_cart()
        assert cart.cart_id == cart_id
        assert [x.line_id for x in cart.all_lines] == [a.line_id, c.line_id]
        assert cart.line(a.line_id) == a
        assert cart.line(c.line_id).voided
        assert cart.total == 14400
        events = [(e["line_id"], e["event"]) for e in again.line_events(cart_id)]
        assert events == [(a.line_id, "add"), (b.line_id, "add"), (c.line_id, "add"), (b.line_id, "remove"),
                          (c.line_id, "void")]


def test_invalid_lines_are_refused_and_not_stored(store):
    with pytest.raises(CartError):
        store.add_weighed("banana", "Banana", 6950, 0, 0)
    with pytest.raises(CartError):
        store.add_unit("milk", "Milk", 7200, 700)
    assert store.open_cart().all_lines == ()


def test_add_line_retry_is_idempotent(store):
    line = CartLine.unit("milk", "Milk", 7200, 0, line_id="fixed-id")
    assert store.add_line(line) == line
    assert store.add_line(line) == line
    assert len(store.open_cart().lines) == 1
    with pytest.raises(CartError, match="different line"):
        store.add_line(CartLine.unit("milk", "Milk", 9900, 0, line_id="fixed-id"))


def test_remove_unknown_or_twice(store):
    line = store.add_unit("milk", "Milk", 7200, 0)
    store.remove_line(line.line_id)
    with pytest.raises(CartError):
        store.remove_line(line.line_id)
    v = store.add_unit("milk", "Milk", 7200, 0)
    store.void_line(v.line_id)
    with pytest.raises(CartError, match="already voided"):
        store.void_line(v.line_id)


def test_pay_closes_once_with_monotonic_receipt_numbers(store):
    store.add_unit("milk", "Milk", 7200, 0, 2)
    store.add_unit("juice", "Juice", 25000, 1200)
    cart1 = store.open_cart().cart_id
    sale = store.pay(cart1, method="upi", payment_ref="UPI-123")
    assert (sale.receipt_seq, sale.receipt_no) == (1, "K7-000001")
    assert sale.gross == 39400 and sale.total == 39400 and sale.round_off == 0
    assert store.pay(cart1) == sale  # second call: same sale
    assert store.close_sale(cart1, method="card") == sale  # the first payment wins
    assert store.cart(cart1).closed
    receipt = sale.receipt()
    assert receipt.receipt_no == "K7-000001" and receipt.payment_method == "upi"
    assert "Receipt K7-000001" in sale.receipt_text and "FreshMart" in sale.receipt_text
    assert receipt.to_text() == sale.receipt_text

    # a new cart opens for the next customer
    cart2 = store.open_cart()
    assert cart2.cart_id != cart1 and not cart2.lines
    line = store.add_weighed("banana", "Banana", 6950, 0, 500)
    sale2 = store.pay(cart2.cart_id)
    assert (sale2.receipt_seq, sale2.receipt_no) == (2, "K7-000002")
    assert sale2.gross == 3475 and sale2.total == 3500 and sale2.round_off == 25
    assert [s.receipt_no for s in store.sales()] == ["K7-000001", "K7-000002"]
    assert store.sales(since_seq=1) == [sale2]
    assert store.last_sale() == sale2 and store.sale("K7-000001") == sale and store.sale_for_cart(cart1) == sale
    with pytest.raises(CartError, match="closed sale"):
        store.remove_line(line.line_id)


def test_pay_refuses_empty_and_unknown_carts(store):
    cart = store.open_cart()
    with pytest.raises(CartError, match="no items"):
        store.pay(cart.cart_id)
    v = store.add_unit("milk", "Milk", 7200, 0)
    store.void_line(v.line_id)
    with pytest.raises(CartError):
        store.pay(cart.cart_id)
    with pytest.raises(StoreError, match="no cart"):
        store.pay("nope")
    assert store.sales() == [] and not store.open_cart().closed
    # the failed attempts did not use up receipt numbers
    store.add_unit("milk", "Milk", 7200, 0)
    assert store.pay(cart.cart_id).receipt_seq == 1


def test_pay_from_two_connections_makes_one_sale(path):
    with SalesStore.open(path) as s:
        s.add_unit("milk", "Milk", 7200, 0)
        cart_id = s.open_cart().cart_id
    results, errors = [], []

    def worker():
        try:
            with SalesStore.open(path) as mine:
                results.append(mine.pay(cart_id))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.receipt_no for r in results}) == 1
    with SalesStore.open(path) as s:
        assert len(s.sales()) == 1


def test_corrections_round_trip_and_read_only_reader(store, path):
    c1 = store.record_correction("granny-smith", "golden-delicious", "captures/2025/0001.jpg", "staff-7",
                                 cart_id="c", line_id="l")
    c2 = store.record_correction(None, "kiwi", "captures/2025/0002.jpg", "staff-7",
                                 when=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert store.corrections() == [c1, c2]
    assert store.corrections(since_id=c1.id) == [c2]
    assert read_corrections(path) == [c1, c2]
    assert read_corrections(path, since_id=c2.id) == []
    with pytest.raises(ValueError):
        store.record_correction("a", "", "x.jpg", "staff-7")
    with pytest.raises(ValueError):
        store.record_correction("a", "b", "x.jpg", "")
    with pytest.raises(StoreError):
        read_corrections(path.with_name("missing.sqlite"))


def test_newer_schema_refused(path):
    SalesStore.open(path).close()
    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 99")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="newer"):
        SalesStore.open(path)


def test_not_a_database(path):
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="not a usable"):
        SalesStore.open(path)


def test_naive_clock_refused(path):
    with SalesStore.open(path, clock=lambda: datetime(2025, 1, 1)) as s:
        with pytest.raises(StoreError, match="timezone"):
            s.add_unit("milk", "Milk", 7200, 0)


def test_line_provenance_is_committed_with_its_line_and_never_without_it(store, path):
    from kiosk.store import LineProvenance

    prov = LineProvenance("p1", "/captures/p1.jpg", "banana", (("banana", 0.91), ("lemon", 0.05)), 7, 548, "auto")
    line = store.add_line(CartLine.weighed("banana", "Banana", 6000, 0, 548), prov)
    with SalesStore.open(path) as again:  # another connection sees both, as committed
        assert again.provenance(line.line_id) == prov
    bad = LineProvenance("p2", "", "lemon", (("lemon", object()),), 7, None, "shopper")  # cannot be stored
    with pytest.raises(TypeError):
        store.add_line(CartLine.unit("lemon", "Lemon", 1000, 0), bad)
    assert [x.sku for x in store.open_cart().lines] == ["banana"]  # the line went with its provenance
    assert store.provenance("no-such-line") is None


def test_restore_provenance_adds_only_what_is_missing(store):
    from kiosk.store import LineProvenance

    line = store.add_line(CartLine.unit("milk", "Milk", 7200, 0), LineProvenance("p1", "a.jpg", chooser="search"))
    other = store.add_line(CartLine.unit("milk", "Milk", 7200, 0))
    added = store.restore_provenance({line.line_id: LineProvenance("old", "old.jpg"),
                                      other.line_id: LineProvenance("p2", "b.jpg")})
    assert added == 1
    assert store.provenance(line.line_id).image_path == "a.jpg" and store.provenance(other.line_id).placement_id == "p2"
