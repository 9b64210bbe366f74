"""The old shared staff PIN (``staff_pin_hash`` before any staff account exists), in the real window on the real
service, like a store that has not made accounts yet: wrong PINs lock the pad and say for how long; the sign-in and
what is done under it are audited as the shared PIN's, never with a PIN typed in the wrong field; a shared PIN that
signs in as an assistant (``[staff] legacy_pin_role``) is told no supervisor can approve more, instead of being sent
to an approval page that can never approve; and once the first staff account exists, a session the shared PIN opened
ends (per-person rights and limits from then on)."""

from __future__ import annotations

from kiosk.staff.rules import StaffRules
from tests.services.conftest import Clock
from tests.ui.helpers import tap, tap_cell, type_keys
from tests.ui.real import PIN, make_real

WRONG = "1357"


def sign_in(qtbot, window, pin: str) -> None:
    tap(qtbot, window.staff_button)
    assert window.page == "pin" and not window.pin.number.isVisible()  # the shared PIN: no staff number
    type_keys(qtbot, window.pin.keypad, pin)
    tap(qtbot, window.pin.ok_button)
    qtbot.wait(20)  # the service's notice (a queued event) follows on the PIN page


def audit(service) -> list[tuple[str, str, dict]]:
    return [(r["kind"], r["actor"], r["detail"]) for r in service.store.audit_rows() if r["kind"] != "audit.started"]


def test_wrong_shared_pins_lock_the_pad_and_the_sign_in_is_the_shared_pins(tmp_path, qtbot):
    clock = Clock()
    service, window, _rec, _scale = make_real(tmp_path, qtbot, clock=clock)
    said = []
    for pin in (WRONG, WRONG, WRONG, WRONG, PIN):
        sign_in(qtbot, window, pin)
        said.append(window.pin.error.text())
        tap(qtbot, window.pin.cancel_button)
    assert said == ["Wrong staff PIN"] * 3 + ["Too many wrong PINs: try again in 31 s"] * 2
    assert not service.staff_unlocked  # the right PIN while locked is refused unchecked
    clock.advance(31)
    sign_in(qtbot, window, PIN)
    assert window.page == "staff"
    assert window.staff_access.badge.text().startswith("staff (supervisor)")
    rows = audit(service)
    assert [(k, a, d.get("reason")) for k, a, d in rows] == [("staff.signin_refused", "staff", "wrong_pin")] * 3 + [
        ("staff.signin_refused", "staff", "locked")] * 2 + [("staff.signin", "staff", None)]
    assert rows[-1][2] == {"name": "staff", "role": "supervisor", "shared_pin": True}  # no account behind it
    assert not any(WRONG in str(r) or PIN in str(r) for r in rows)
    window.close()
    service.close()


def test_a_shared_pin_session_ends_once_staff_accounts_exist(tmp_path, qtbot):
    """The manager adds the first account (``checkout staff add``) while a shared-PIN session is open on the staff
    page: it ends within the staff page's idle check, saying why, and the PIN page now asks for a staff number."""
    from kiosk.staff.accounts import add_account

    clock = Clock()
    service, window, _rec, _scale = make_real(tmp_path, qtbot, clock=clock)
    sign_in(qtbot, window, PIN)
    assert window.page == "staff"
    add_account(service.store, "Asha Rao", "assistant", "5820", by="manager")
    clock.advance(30)  # well within the idle time-out
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=3000)
    assert not service.staff_unlocked and service.staff_member is None
    qtbot.waitUntil(lambda: window.banner.text() == "Staff mode is locked: staff accounts are in use now: sign in "
                                                   "with your staff number and PIN")
    out = [d for k, a, d in audit(service) if k == "staff.signout"]
    assert out == [{"reason": "account_changed", "change": "shared_pin_retired"}]
    tap(qtbot, window.staff_button)
    assert window.pin.number.isVisible()
    type_keys(qtbot, window.pin.keypad, "101")
    tap(qtbot, window.pin.ok_button)
    type_keys(qtbot, window.pin.keypad, PIN)  # the shared PIN under a staff number: refused
    tap(qtbot, window.pin.ok_button)
    assert window.page == "pin" and not service.staff_unlocked
    window.close()
    service.close()


def test_an_assistant_shared_pin_is_told_no_supervisor_can_approve(tmp_path, qtbot):
    """``legacy_pin_role = "assistant"``: a price override over the assistant's limit is refused on the price page with
    why — no staff account, so no supervisor — not sent to an approval page where every number and PIN is refused (and
    where the shared PIN typed into the number field was written to the audit log)."""
    clock = Clock()
    service, window, _rec, _scale = make_real(tmp_path, qtbot, clock=clock,
                                              staff=StaffRules(legacy_pin_role="assistant"))
    service.choose("arla-standard-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    sign_in(qtbot, window, PIN)
    assert window.page == "staff" and "(assistant)" in window.staff_access.badge.text()
    qtbot.waitUntil(lambda: window.staff.model.rowCount() == 1)
    tap_cell(qtbot, window.staff.table, 0, 0)
    tap(qtbot, window.staff.override_button)
    type_keys(qtbot, window.price.keypad, "1")
    tap(qtbot, window.price.ok_button)
    qtbot.wait(20)
    assert window.page == "price" and not window.staff_access.approving
    assert window.price.error.text() == ("This needs a supervisor, and the shared staff PIN has none: ask the store "
                                         "manager to add staff accounts")
    (line,) = service.cart_view().lines
    assert line.unit_price == 7200  # nothing changed
    refused = [(a, d["action"], d["role"]) for k, a, d in audit(service) if k == "staff.refused"]
    assert refused == [("staff", "override", "assistant")]

    assert service.staff_approve(PIN, PIN) is False  # the PIN typed as a staff number, should a caller ask anyway
    assert not any(PIN in str(r) for r in audit(service))
    window.close()
    service.close()
