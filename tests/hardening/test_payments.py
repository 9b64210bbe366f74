"""Payments exactly once: the intent (with its idempotency key) is committed before the terminal is asked, the
approval the moment it returns; a restart completes an approved payment and asks the terminal about an unfinished
one instead of charging again; receipts are shown after a crash and reprinted (staff, CLI) as marked duplicates."""

from __future__ import annotations

import pytest

from kiosk.cli import main
from kiosk.domain.cart import CartError
from kiosk.payments import ChargeRequest, ChargeStatus, PaymentTerminal, TerminalError, TerminalReply, open_terminal
from kiosk.payments.simulator import Terminal as Simulator
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.paying import Till
from kiosk.store import SalesStore


def _store(tmp_path) -> SalesStore:
    return SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="T1")


def _fill(store: SalesStore) -> str:
    store.add_unit("milk", "Toned Milk 500 ml", 2800, 500, 2)
    store.add_weighed("banana", "Banana", 6000, 0, 750)
    return store.open_cart().cart_id


class Recording(PaymentTerminal):
    """Wraps the simulator; checks what the store holds at the moment the terminal is asked."""

    key = "rec"

    def __init__(self, inner: Simulator, store: SalesStore, fail: str = "") -> None:
        self.inner, self.store, self.fail, self.seen = inner, store, fail, []

    @classmethod
    def from_uri(cls, uri):  # pragma: no cover - not opened by URI
        raise NotImplementedError

    def charge(self, request: ChargeRequest) -> TerminalReply:
        intent = self.store.payment(request.idempotency_key)
        self.seen.append(("charge", intent.state if intent else None))
        if self.fail == "before":
            raise TerminalError("no answer (cable pulled)")
        reply = self.inner.charge(request)
        if self.fail == "after":  # the terminal charged, then the answer was lost
            raise TerminalError("no answer (timeout)")
        return reply

    def status(self, key: str) -> TerminalReply:
        self.seen.append(("status", key))
        return self.inner.status(key)


def test_the_simulator_charges_once_per_key(tmp_path):
    sim = open_terminal(f"sim:{tmp_path / 'ledger.sqlite'}?decline_over=100000")
    request = ChargeRequest("k1", 5000, "card", "cart-1")
    first, again = sim.charge(request), sim.charge(request)
    assert first.approved and again == first and len(sim.ledger()) == 1
    assert sim.status("k1") == first and sim.status("nope").status is ChargeStatus.NOT_FOUND
    assert sim.charge(ChargeRequest("k1", 6000, "card", "cart-1")).status is ChargeStatus.DECLINED  # key reused
    assert sim.charge(ChargeRequest("k2", 200000, "card", "cart-2")).status is ChargeStatus.DECLINED
    sim.close()
    assert Simulator(tmp_path / "ledger.sqlite").status("k1") == first  # it remembers across a restart
    with pytest.raises(TerminalError, match="unknown terminal"):
        open_terminal("visa:/dev/ttyS0")


def test_intent_first_then_approval_then_one_sale(tmp_path):
    store = _store(tmp_path)
    cart_id = _fill(store)
    terminal = Recording(Simulator(), store)
    sale = Till(CartKeeper(store), terminal).pay("card")
    assert terminal.seen == [("charge", "pending")]  # the intent was committed before the terminal was asked
    (intent,) = store.payments()
    (charge,) = terminal.inner.ledger()
    assert (intent.state, intent.approval_ref, intent.receipt_no) == ("completed", charge["approval_ref"],
                                                                      sale.receipt_no)
    assert sale.payment_ref == charge["approval_ref"] and sale.cart_id == cart_id and sale.total == charge["amount"]
    assert store.open_cart().cart_id != cart_id and store.open_cart().lines == ()


def test_a_silent_terminal_never_leads_to_a_second_charge(tmp_path):
    store = _store(tmp_path)
    _fill(store)
    sim = Simulator()
    keeper = CartKeeper(store)
    with pytest.raises(CheckoutError, match="never charged twice"):
        Till(keeper, Recording(sim, store, fail="after")).pay("card")  # charged, answer lost
    (intent,) = store.payments()
    assert intent.state == "pending" and len(sim.ledger()) == 1
    with pytest.raises(CartError, match="payment .* in progress"):
        store.add_unit("milk", "Toned Milk 500 ml", 2800, 500)  # the amount asked stays the amount billed
    terminal = Recording(sim, store)
    sale = Till(keeper, terminal).pay("card")  # the shopper taps Pay again
    assert terminal.seen == [("status", intent.idempotency_key)]  # asked, not charged
    assert len(sim.ledger()) == 1 and sale.payment_ref == sim.ledger()[0]["approval_ref"]


def test_a_decline_keeps_the_cart_and_the_next_try_is_a_new_payment(tmp_path):
    store = _store(tmp_path)
    cart_id = _fill(store)
    keeper = CartKeeper(store)
    with pytest.raises(CheckoutError, match="declined"):
        Till(keeper, Simulator(decline_over=100)).pay("card")
    assert store.open_cart().cart_id == cart_id and [p.state for p in store.payments()] == ["declined"]
    store.add_unit("curd", "Curd", 3000, 500)  # no payment in progress: the cart may change again
    sale = Till(keeper, Simulator()).pay("upi")
    assert [p.state for p in store.payments()] == ["declined", "completed"] and sale.payment_method == "upi"


@pytest.mark.parametrize("moment", ["approved-not-stored", "stored-not-committed", "never-reached", "declined"])
def test_restart_settles_an_interrupted_payment_without_charging_again(tmp_path, moment):
    store = _store(tmp_path)
    cart_id = _fill(store)
    sim = Simulator(tmp_path / "ledger.sqlite", decline_over=100 if moment == "declined" else None)
    intent = store.begin_payment(cart_id, store.open_cart().bill().total, "card", "sim")
    if moment != "never-reached":
        reply = sim.charge(ChargeRequest(intent.idempotency_key, intent.amount, "card", cart_id))
        if moment == "stored-not-committed":
            store.record_approval(intent.idempotency_key, reply.approval_ref)
    store.close()  # the kiosk dies here; it restarts:
    store = _store(tmp_path)
    sim = Simulator(tmp_path / "ledger.sqlite")
    done = Till(CartKeeper(store), sim).recover()
    charges = sim.requests("charge")
    assert len(charges) == (0 if moment == "never-reached" else 1)  # nothing charged at restart
    if moment in ("approved-not-stored", "stored-not-committed"):
        (sale,) = done.completed
        assert sale.cart_id == cart_id and sale.payment_ref == sim.ledger()[0]["approval_ref"]
        assert store.unshown_sales() == [sale]  # the shopper sees the receipt once the window is up
    else:
        assert done.completed == [] and store.open_cart().cart_id == cart_id  # the cart is still to be paid
        assert (done.cancelled, done.declined) == ((1, 0) if moment == "never-reached" else (0, 1))
    assert Till(CartKeeper(store), sim).recover().completed == []  # a second start changes nothing


def test_service_shows_an_unshown_receipt_at_start_and_staff_reprint_it(kit, tmp_path):
    from kiosk.services import SaleClosed
    from tests.services.conftest import PIN

    k = kit()
    k.service.choose("oatly-oat-milk")
    receipt = k.service.pay("card")
    assert k.service.store.unshown_sales() == []  # shown when paid
    with pytest.raises(CheckoutError, match="staff"):
        k.service.staff_reprint()
    assert k.service.staff_unlock(PIN)
    text = k.service.staff_reprint()
    assert text.startswith("*** DUPLICATE - reprint 1 ***".center(42).rstrip()) and receipt.receipt_no in text
    assert k.service.staff_reprint(receipt.receipt_no).count("reprint 2") == 1
    prints = k.service.store.receipt_prints(receipt.receipt_no)
    assert [p["kind"] for p in prints] == ["shown", "reprint", "reprint"] and prints[1]["by"] == "staff"
    # a sale committed just before a crash (never shown) is shown by the next start's first UI
    k.service.choose("oatly-oat-milk")
    store = k.service.store
    cart_id = store.open_cart().cart_id
    intent = store.begin_payment(cart_id, store.open_cart().bill().total, "card", "sim")
    store.record_approval(intent.idempotency_key, "SIM-APPROVED1")
    sale = store.complete_payment(intent.idempotency_key)
    k.events.clear()
    k.service.announce()
    (shown,) = k.of(SaleClosed)
    assert shown.receipt.receipt_no == sale.receipt_no and store.unshown_sales() == []


def test_checkout_receipt_reprint_command(tmp_path, capsys):
    store = _store(tmp_path)
    _fill(store)
    sale = Till(CartKeeper(store), Simulator()).pay("card")
    store.close()
    db = str(tmp_path / "sales.sqlite")
    assert main(["receipt", "reprint", "--last", "--store", db, "--by", "asha"]) == 0
    out = capsys.readouterr().out
    assert "DUPLICATE - reprint 1" in out and sale.receipt_text in out
    assert main(["receipt", "reprint", sale.receipt_no, "--store", db]) == 0
    assert "reprint 2" in capsys.readouterr().out
    assert main(["receipt", "reprint", "T1-999999", "--store", db]) == 2
    assert "no receipt 'T1-999999'" in capsys.readouterr().err
    with _store(tmp_path) as again:
        prints = [(p["kind"], p["by"]) for p in again.receipt_prints(sale.receipt_no)]
    assert prints == [("reprint", "asha"), ("reprint", prints[1][1])]  # never "shown": no window showed it


def test_staff_reprint_from_the_window(kit, qtbot):
    """The staff page's Reprint button lists today's receipts; the one tapped shows again, marked as a duplicate, on
    the real service."""
    from kiosk.ui.app import build_window
    from tests.services.conftest import PIN
    from tests.ui.helpers import tap, tap_list_row

    k = kit()
    window, _ = build_window(k.service, k.config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    k.service.choose("oatly-oat-milk")
    receipt = k.service.pay("card")
    qtbot.waitUntil(lambda: window.page == "receipt")
    tap(qtbot, window.receipt.new_button)
    tap(qtbot, window.staff_button)
    window.pin.edit.setText(PIN)
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.page == "staff")
    tap(qtbot, window.staff.reprint_button)
    assert window.page == "receipts" and window.receipts.receipt_numbers() == [receipt.receipt_no]
    tap_list_row(qtbot, window.receipts.list, 0)
    qtbot.waitUntil(lambda: window.page == "receipt")
    text = window.receipt.text.toPlainText()
    assert "DUPLICATE - reprint 1" in text and receipt.receipt_no in text
    assert window.receipt.title.text() == "Duplicate receipt"
    assert [p["kind"] for p in k.service.store.receipt_prints(receipt.receipt_no)] == ["shown", "reprint"]
    window.close()
