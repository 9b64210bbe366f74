"""The kiosk window driven like a shopper (and staff) would, offscreen, on the fake service."""

import numpy as np

from kiosk.services.events import CameraStatusChanged, Notice
from kiosk.ui.models import CartTableModel
from tests.ui.fakes import PIN
from tests.ui.helpers import tap, tap_cell, tap_list_row, type_keys


def cart_rows(window):
    m = window.cart_model
    return [(m.index(r, 0).data(), m.index(r, 1).data(), m.index(r, 3).data()) for r in range(m.rowCount())]


def test_place_tap_second_suggestion_pay_receipt_new_cart(qtbot, window, service):
    assert window.page == "checkout" and not window.pay_button.isEnabled()
    pid = service.place("granny-smith", "oatly-oat-milk", "avocado")
    buttons = window.suggestions.buttons
    qtbot.waitUntil(lambda: buttons[2].isVisible())
    assert [b.name_label.text() for b in buttons[:3]] == ["Granny Smith apple", "Oatly Oat Drink 1L", "Avocado"]
    assert [b.price_label.text() for b in buttons[:3]] == ["₹220.00/kg", "₹349.00", "₹99.00"]
    assert not buttons[3].isVisible()  # three suggestions: the fourth slot stays empty
    assert buttons[0].has_photo and buttons[1].has_photo  # demo product photos
    assert not buttons[2].has_photo  # no image: placeholder
    assert not any(b.added for b in buttons)  # below the threshold nothing was added

    tap(qtbot, buttons[1])
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    assert service.calls[-1] == ("choose", "oatly-oat-milk", pid)
    assert cart_rows(window) == [("Oatly Oat Drink 1L", "1", "₹349.00")]
    assert buttons[1].added and window.totals.total_text() == "₹349.00"
    assert window.pay_button.text() == "Pay ₹349.00"

    tap(qtbot, window.pay_button)
    assert window.page == "payment" and window.payment.amount.text() == "₹349.00"
    tap(qtbot, window.payment.method_buttons["upi"])
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=2000)
    text = window.receipt.text.toPlainText()
    assert "Oatly Oat Drink 1L" in text and "TOTAL" in text and "349.00" in text and "Paid by" in text
    assert service.receipts[0].receipt_no in window.receipt.summary.text()
    assert service.calls[-1] == ("pay", "upi")

    tap(qtbot, window.receipt.new_button)
    assert window.page == "checkout"
    assert window.cart_model.rowCount() == 0 and window.cart.empty_hint.isVisible()
    assert not window.pay_button.isEnabled() and window.totals.total_text() == "₹0.00"
    assert window.suggestions.visible_skus() == []


def test_auto_added_top1_is_marked_and_tapping_another_replaces_it(qtbot, window, service):
    service.place("avocado", "oatly-oat-milk", "yoghurt", auto=True)
    qtbot.waitUntil(lambda: window.suggestions.buttons[0].added)
    assert cart_rows(window) == [("Avocado", "1", "₹99.00")]
    assert "Not right?" in window.suggestions.title.text()
    tap(qtbot, window.suggestions.buttons[2])
    qtbot.waitUntil(lambda: cart_rows(window) == [("Arla Natural Yoghurt 1kg", "1", "₹125.50")])
    assert window.suggestions.buttons[2].added and not window.suggestions.buttons[0].added


def test_weight_item_waits_for_a_stable_reading(qtbot, window, service):
    service.place("banana", "granny-smith")
    qtbot.waitUntil(lambda: window.suggestions.buttons[0].isVisible())
    tap(qtbot, window.suggestions.buttons[0])
    qtbot.waitUntil(lambda: window.weight.awaiting)
    assert window.suggestions.title.text() == "Put Banana on the scale" and window.suggestions.state == "weigh"
    assert window.suggestions.buttons[0].chosen  # the tapped tile stays highlighted while it is weighed
    assert window.cart_model.rowCount() == 0
    service.set_weight(300, stable=False)
    qtbot.waitUntil(lambda: window.weight.weight_label.text() == "0.300 kg")
    assert window.weight.state_label.text() == "Settling…" and window.weight.awaiting
    service.set_weight(548, stable=True)
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    assert cart_rows(window) == [("Banana", "0.548 kg", "₹32.88")]
    assert not window.weight.awaiting and window.weight.prompt.text() == ""
    qtbot.waitUntil(lambda: window.suggestions.title.text() == "✓ Banana added · ₹32.88")
    assert window.suggestions.buttons[0].added  # weighed items get their ✓ too
    assert window.weight.weight_label.text() == "0.548 kg"
    assert window.status.scale_label.text().startswith("Scale: 0.548")


def test_remove_line_with_the_cross(qtbot, window, service):
    service.choose("avocado")
    service.choose("yoghurt")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2)
    avocado = window.cart_model.line(0).line_id
    tap_cell(qtbot, window.cart.table, 0, CartTableModel.REMOVE)
    assert window.confirm.open and "Avocado" in window.confirm.title.text()  # asked first, never one tap
    tap(qtbot, window.confirm.buttons["remove"])
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    assert ("remove_line", avocado) in service.calls
    assert cart_rows(window) == [("Arla Natural Yoghurt 1kg", "1", "₹125.50")]
    assert window.totals.total_text() == "₹126.00"  # ₹125.50 rounds up with +₹0.50


def test_search_by_plu_on_the_keyboard_and_by_name(qtbot, window, service):
    tap(qtbot, window.search_button)
    assert window.page == "search"
    type_keys(qtbot, window.search.keyboard, "110")
    assert window.search.edit.text() == "110"
    assert window.search.result_skus() == ["avocado"]
    tap_list_row(qtbot, window.search.list, 0)
    assert window.page == "checkout"
    qtbot.waitUntil(lambda: cart_rows(window) == [("Avocado", "1", "₹99.00")])
    assert ("choose", "avocado", None) in service.calls

    tap(qtbot, window.search_button)
    assert window.search.edit.text() == "" and window.search.result_skus() == []
    type_keys(qtbot, window.search.keyboard, "arla")
    assert window.search.result_skus() == ["arla-standard-milk", "yoghurt"]
    tap(qtbot, window.search.keyboard.keys["⌫"])
    assert window.search.edit.text() == "ARL"
    type_keys(qtbot, window.search.keyboard, "zz")
    assert window.search.result_skus() == [] and "Nothing found" in window.search.hint.text()
    tap(qtbot, window.search.back_button)
    assert window.page == "checkout"


def test_staff_pin_wrong_then_right_then_void_override_correct(qtbot, window, service):
    service.choose("avocado")
    service.choose("yoghurt")
    service.choose("oatly-oat-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 3)
    tap(qtbot, window.staff_button)
    assert window.page == "pin"
    type_keys(qtbot, window.pin.keypad, "1111")
    assert window.pin.edit.text() == "1111" and window.pin.edit.echoMode() != window.pin.edit.EchoMode.Normal
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.pin.error.text() == "Wrong staff PIN")  # once, on the PIN page only
    assert window.page == "pin" and not window.banner.isVisible()
    assert window.pin.edit.text() == ""
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff"
    staff = window.staff
    assert not staff.void_button.isEnabled()  # nothing selected yet

    # void the avocado
    tap_cell(qtbot, staff.table, 0, 0)
    assert staff.void_button.isEnabled()
    avocado = staff.model.line(0).line_id
    tap(qtbot, staff.void_button)
    qtbot.waitUntil(lambda: len(window.cart_model.cart_view.lines) == 2)
    assert ("staff_void", avocado) in service.calls
    # the voided line stays listed, struck out and marked, in its place
    assert window.cart_model.line(0).line_id == avocado and window.cart_model.line(0).mark == "voided"
    staff.table.clearSelection()

    # override the yoghurt's price to ₹45.50
    tap_cell(qtbot, staff.table, 1, 0)
    yoghurt = staff.model.line(1).line_id
    tap(qtbot, staff.override_button)
    assert window.page == "price"
    type_keys(qtbot, window.price.keypad, "45.50")
    tap(qtbot, window.price.ok_button)
    assert ("staff_override_price", yoghurt, 4550) in service.calls
    assert window.page == "staff"
    qtbot.waitUntil(lambda: ("Arla Natural Yoghurt 1kg", "1", "₹45.50") in cart_rows(window))
    assert [r[0] for r in cart_rows(window)][:2] == ["Avocado", "Arla Natural Yoghurt 1kg"]  # kept its place

    # correct the oat drink to an avocado, found by name
    row = staff.model.row_of(next(line.line_id for line in staff.model.cart_view.lines if line.sku == "oatly-oat-milk"))
    tap_cell(qtbot, staff.table, row, 0)
    oat = staff.table.selected_line_id()
    tap(qtbot, staff.correct_button)
    assert window.page == "search" and "correct" in window.search.title.text()
    type_keys(qtbot, window.search.keyboard, "avo")
    tap_list_row(qtbot, window.search.list, 0)
    assert ("staff_correct", oat, "avocado") in service.calls
    assert window.page == "staff"
    qtbot.waitUntil(lambda: sorted(x.name for x in window.cart_model.cart_view.lines) == [
        "Arla Natural Yoghurt 1kg", "Avocado"])

    tap(qtbot, staff.done_button)
    assert window.page == "checkout" and service.calls[-1] == ("staff_lock",) and not service.unlocked


def test_staff_action_refused_by_the_service_shows_a_notice(qtbot, window, service):
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    service.unlocked = True
    window.show_page("staff")
    tap_cell(qtbot, window.staff.table, 0, 0)
    service.unlocked = False  # e.g. the staff time-out ran out meanwhile
    tap(qtbot, window.staff.void_button)
    assert window.banner.isVisible() and "locked" in window.banner.text()
    assert window.cart_model.rowCount() == 1


def test_pay_refused_stays_on_payment_with_the_reason(qtbot, window, service):
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    service.cart = type(service.cart)()  # the cart was emptied behind the window's back
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: "not completed" in window.payment.info.text(), timeout=1000)
    assert window.page == "payment" and window.payment.method_buttons["card"].isEnabled()


def test_camera_view_shows_the_newest_frame_and_status(qtbot, window, service):
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, :, 2] = 255  # BGR: pure red
    service.frame = type("Frame", (), {"image": image})()
    assert window.camera.overlay == "Starting camera…"
    qtbot.waitUntil(lambda: window.camera.frames_shown >= 1, timeout=2000)
    assert window.camera.overlay is None
    assert window.camera.image.pixelColor(5, 5).red() == 255 and window.camera.image.pixelColor(5, 5).blue() == 0
    shown = window.camera.frames_shown
    qtbot.wait(100)
    assert window.camera.frames_shown == shown  # the same frame is not redrawn
    service.emit(CameraStatusChanged("reconnecting", "gone", 2.0))
    qtbot.waitUntil(lambda: window.camera.overlay is not None)
    assert "reconnecting in 2 s" in window.camera.overlay and "reconnecting" in window.status.camera_label.text()
    service.emit(CameraStatusChanged("live"))
    qtbot.waitUntil(lambda: window.camera.overlay is None)
    assert window.status.camera_label.text() == "Camera: live"


def test_notices_and_model_version_in_the_status_bar(qtbot, window, service):
    assert window.status.model_label.text() == "Model v7 · fake-net"
    service.emit(Notice("warning", "too many wrong PINs"))
    qtbot.waitUntil(lambda: window.banner.isVisible())
    assert window.banner.text() == "Too many wrong PINs" and window.banner.property("level") == "warning"
    window.status.set_update("Update v8 ready")
    assert not window.status.update_label.isVisible()  # technical: staff mode only
    assert not window.status.model_label.isVisible()
    service.staff_unlock(PIN)
    qtbot.waitUntil(lambda: window.status.update_label.isVisible() and window.status.model_label.isVisible())


def test_tray_cleared_hides_that_placements_suggestions(qtbot, window, service):
    pid = service.place("avocado", "yoghurt")
    qtbot.waitUntil(lambda: window.suggestions.visible_skus() == ["avocado", "yoghurt"])
    service.clear_tray("another")
    qtbot.wait(20)
    assert window.suggestions.visible_skus() == ["avocado", "yoghurt"]
    service.clear_tray(pid)
    qtbot.waitUntil(lambda: window.suggestions.visible_skus() == [])


def test_what_the_style_sheet_promises_is_painted(qtbot, window, service):
    """The navy header under the white store name, the "✓ Added" badge clear of the tile's photo, and the step
    title's colour following the step (green when added, amber when not recognised) — seen in the painted pixels
    and the palette, not only in the properties."""
    from PySide6.QtGui import QColor, QPalette

    image = window.grab().toImage()
    corner = window.header.mapTo(window, window.header.rect().topLeft())
    assert image.pixelColor(corner.x() + 3, corner.y() + 3) == QColor("#1f3a5f")
    title = window.suggestions.title

    def colour() -> str:
        return title.palette().color(QPalette.ColorRole.WindowText).name()

    service.place("avocado", "oatly-oat-milk", auto=True)
    tile = window.suggestions.buttons[0]
    qtbot.waitUntil(lambda: tile.added and tile.badge.isVisible())
    assert colour() == "#146a31"
    badge, photo = tile.badge.geometry(), tile.photo.geometry()
    assert not badge.intersects(photo) and tile.rect().contains(badge)
    service.emit(type("SuggestionsReady", (), {"placement_id": "p8", "suggestions": [], "auto_added_line_id": None,
                                                "auto_added_sku": None, "not_recognised": True})())
    qtbot.waitUntil(lambda: window.suggestions.state == "unknown")
    assert colour() == "#8a5a00"
