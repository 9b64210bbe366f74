"""The shopper's and staff's flows, tapped like a person on the real window (offscreen, the fake service): an
unknown item found by picture, a weighed item with its price preview, removing with a question (and staff's
approval above the value), Help, the language switched in the middle of a sale, larger text, honest confidence,
staff correcting with the photo beside the line, marks on changed lines, the receipt and its countdown, and no stale
or doubled messages."""

from kiosk.services.events import Notice
from kiosk.ui.models import MARK_ROLE, CartTableModel
from tests.ui.fakes import PIN, TRAY_PHOTO
from tests.ui.helpers import tap, tap_cell, tap_list_row, type_keys


def names(window):
    return [line.name for line in window.cart_model.cart_view.lines]


def test_unknown_item_none_of_these_browse_by_picture_pick(qtbot, window, service):
    pid = service.place("avocado", "yoghurt", "granny-smith", scores=(0.31, 0.2, 0.1))  # a mango, wrongly guessed
    s = window.suggestions
    qtbot.waitUntil(lambda: s.state == "choose")
    assert s.title.text() == "Not sure what this is — tap your item"  # no confident tile for an unsure model
    assert [b.cue_label.text() for b in s.buttons[:3]] == ["Maybe", "Unlikely", "Unlikely"]
    assert s.none_tile.isVisible() and "None of these?" in s.none_tile.title.text()
    tap(qtbot, s.none_tile)
    assert window.page == "browse" and window.browse.group == "fruit"
    assert [b.text() for b in window.browse.department_buttons.values()] == ["Fruit", "Dairy", "Drinks"]
    mango = next(t for t in window.browse.tiles if t.view is not None and t.view.sku == "mango")
    tap(qtbot, mango)
    assert window.page == "checkout" and ("choose", "mango", pid) in service.calls  # the pick is this item's
    qtbot.waitUntil(lambda: names(window) == ["Mango"])
    assert s.state == "added" and s.visible_skus() == ["mango"] and s.buttons[0].added
    assert s.title.text() == "✓ Mango added · ₹80.00"  # the wrong tiles are gone


def test_search_from_the_step_area_and_browse_pages(qtbot, window, service):
    service.place("avocado", "yoghurt", scores=(0.2, 0.1))
    qtbot.waitUntil(lambda: window.suggestions.state == "choose")
    tap(qtbot, window.suggestions.none_tile)
    tap(qtbot, window.browse.search_button)
    assert window.page == "search"
    type_keys(qtbot, window.search.keyboard, "oat")
    tap_list_row(qtbot, window.search.list, 0)
    qtbot.waitUntil(lambda: names(window) == ["Oatly Oat Drink 1L"])
    tap(qtbot, window.search_button)
    tap(qtbot, window.search.browse_button)
    assert window.page == "browse"
    tap(qtbot, window.browse.department_buttons["dairy"])
    assert set(window.browse.shown_skus()) == {"arla-standard-milk", "yoghurt", "cheese"}
    tap(qtbot, window.browse.back_button)
    assert window.page == "checkout"


def test_weighed_item_highlights_the_tile_previews_the_price_and_says_added(qtbot, window, service):
    service.set_weight(0)
    service.place("banana", "granny-smith")
    s = window.suggestions
    qtbot.waitUntil(lambda: s.state == "choose")
    tap(qtbot, s.buttons[0])
    qtbot.waitUntil(lambda: s.state == "weigh")
    assert s.buttons[0].chosen and s.title.text() == "Put Banana on the scale" and s.detail.text() == "₹60.00/kg"
    assert window.weight.awaiting and window.weight.state_label.text() == "Empty"  # never "Stable" at 0 kg
    service.set_weight(548, stable=False)
    qtbot.waitUntil(lambda: s.title.text() == "Hold still — weighing Banana…")
    assert s.detail.text() == "0.548 kg × ₹60.00/kg = about ₹32.88"  # the bill's own pricing
    top = s.mapTo(window, s.rect().topLeft())
    service.set_weight(548)
    qtbot.waitUntil(lambda: s.title.text() == "✓ Banana added · ₹32.88")
    assert s.buttons[0].added and not window.weight.awaiting and names(window) == ["Banana"]
    assert s.mapTo(window, s.rect().topLeft()) == top  # nothing moved
    service.clear_tray(s.placement_id)
    qtbot.waitUntil(lambda: s.state == "idle")
    assert s.title.text() == "Place an item on the tray" and s.visible_skus() == []


def test_remove_asks_first_and_above_the_value_waits_for_staff(qtbot, window, service):
    service.choose("avocado")
    service.choose("cheese")  # ₹2,750.00
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2)
    tap_cell(qtbot, window.cart.table, 0, CartTableModel.REMOVE)
    assert window.confirm.open
    tap(qtbot, window.confirm.buttons["keep"])
    assert not window.confirm.open and names(window) == ["Avocado", "Aged Cheddar Wheel"]
    assert not any(c[0] == "remove_line" for c in service.calls)  # one tap never removes
    tap_cell(qtbot, window.cart.table, 1, CartTableModel.REMOVE)
    tap(qtbot, window.confirm.buttons["remove"])
    qtbot.waitUntil(lambda: window.confirm.kind == "approval")
    assert "staff approves" in window.confirm.message.text() and window.header.help_active  # staff called
    assert names(window) == ["Avocado", "Aged Cheddar Wheel"]
    # staff comes (the header stays usable over the question), signs in (the call is answered) and approves
    tap(qtbot, window.staff_button)
    assert not window.confirm.isVisible()
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff" and window.staff.removal.isVisible()
    assert "Aged Cheddar Wheel" in window.staff.removal.text.text()
    tap(qtbot, window.staff.removal.approve_button)
    qtbot.waitUntil(lambda: names(window) == ["Avocado"])
    assert not window.staff.removal.isVisible() and not window.header.help_active
    tap(qtbot, window.staff.done_button)
    assert window.page == "checkout" and not window.confirm.open  # the question went with the approval


def test_keep_the_item_ends_the_wait_for_staff(qtbot, window, service):
    service.choose("cheese")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap_cell(qtbot, window.cart.table, 0, CartTableModel.REMOVE)
    tap(qtbot, window.confirm.buttons["remove"])
    qtbot.waitUntil(lambda: window.confirm.kind == "approval")
    tap(qtbot, window.confirm.buttons["keep"])
    qtbot.waitUntil(lambda: not window.confirm.open and not window.header.help_active)
    assert ("keep_line",) in service.calls and names(window) == ["Aged Cheddar Wheel"]


def test_help_has_a_visible_state_and_staff_answers_it(qtbot, window, service):
    tap(qtbot, window.help_button)
    qtbot.waitUntil(lambda: window.header.help_active)
    assert ("call_help", "help") in service.calls
    assert window.help_button.text() == "Staff called — cancel" and window.help_button.property("active")
    assert window.banner.isVisible() and "Staff has been called" in window.banner.text()
    tap(qtbot, window.help_button)
    qtbot.waitUntil(lambda: not window.header.help_active)
    assert ("cancel_help",) in service.calls and not window.banner.isVisible()
    tap(qtbot, window.help_button)
    qtbot.waitUntil(lambda: window.header.help_active)
    window.open_staff()
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: not window.header.help_active)  # staff at the kiosk: answered


def test_language_switch_mid_transaction_keeps_the_cart(qtbot, window, service):
    service.set_weight(548)
    service.choose("banana")
    service.choose("oatly-oat-milk")
    service.place("avocado", "yoghurt", scores=(0.8, 0.1))
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2 and window.suggestions.state == "choose")
    before = [(x.line_id, x.total_text) for x in window.cart_model.cart_view.lines]
    assert window.language_button.text() == "हिन्दी"  # the other language, in its own script
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.pay_button.text() == "भुगतान ₹382.00")
    assert ("set_language", "hi") in service.calls and window.translations.language == "hi"
    assert [(x.line_id, x.total_text) for x in window.cart_model.cart_view.lines] == before
    assert window.cart.title.text() == "आपका सामान (2)"
    assert window.suggestions.title.text() == "क्या यह है? जोड़ने के लिए अपना सामान छुएँ"
    assert window.suggestions.visible_skus() == ["avocado", "yoghurt"]  # the tiles stay, in Hindi
    assert window.language_button.text() == "English" and window.help_button.text() == "मदद"
    assert window.totals.total_text() == "₹382.00"  # Indian grouping in both languages
    tap(qtbot, window.suggestions.buttons[0])  # still shopping, in Hindi
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 3)
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.pay_button.text() == "Pay ₹481.00")
    assert window.cart.title.text() == "Your items (3)"


def test_larger_text_for_this_shopper_only(qtbot, window, service):
    base = window.style_scale
    tap(qtbot, window.large_text_button)
    qtbot.waitUntil(lambda: window.style_scale > base)
    assert window.style_scale == base * 1.25 and window.large_text_button.text() == "Aa Normal text"
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    tap(qtbot, window.receipt.new_button)  # the next shopper
    qtbot.waitUntil(lambda: window.style_scale == base)
    assert ("new_shopper",) in service.calls


def test_not_recognised_shows_search_and_call_staff(qtbot, window, service):
    service.emit(type("SuggestionsReady", (), {"placement_id": "p1", "suggestions": [], "auto_added_line_id": None,
                                               "auto_added_sku": None, "not_recognised": True})())
    s = window.suggestions
    qtbot.waitUntil(lambda: s.state == "unknown")
    assert s.title.text() == "Not recognised — search or call staff"
    assert s.find_button.isVisible() and s.help_button.isVisible() and s.visible_skus() == []
    tap(qtbot, s.help_button)
    qtbot.waitUntil(lambda: window.header.help_active)
    assert ("call_help", "item not recognised") in service.calls
    tap(qtbot, s.find_button)
    assert window.page == "browse"


def staff_on_the_first_line(qtbot, window):
    """Staff signed in, the first line picked and its placement photo shown; returns the staff page."""
    window.open_staff()
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    staff = window.staff
    tap_cell(qtbot, staff.table, 0, 0)
    qtbot.waitUntil(lambda: staff.detail.path == TRAY_PHOTO)
    return staff


def test_staff_corrects_with_the_photo_and_changed_lines_keep_their_place_and_marks(qtbot, window, service):
    pid = service.place("avocado", "yoghurt", auto=True)
    service.choose("oatly-oat-milk")
    service.choose("arla-standard-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 3)
    service.clear_tray(pid)
    staff = staff_on_the_first_line(qtbot, window)
    assert staff.detail.has_photo  # the placement photo beside the line
    tap(qtbot, staff.correct_button)
    assert window.page == "search" and window.search.photo.isVisible() and window.search.photo.has_photo
    type_keys(qtbot, window.search.keyboard, "mango")
    tap_list_row(qtbot, window.search.list, 0)
    qtbot.waitUntil(lambda: names(window) == ["Mango", "Oatly Oat Drink 1L", "Arla Standard Milk 1L"])  # in place
    tap_cell(qtbot, staff.table, 2, 0)
    tap(qtbot, staff.void_button)
    qtbot.waitUntil(lambda: names(window) == ["Mango", "Oatly Oat Drink 1L"])
    rows = [(window.cart_model.line(r).name, window.cart_model.index(r, 0).data(MARK_ROLE))
            for r in range(window.cart_model.rowCount())]
    assert rows == [("Mango", "Corrected by staff (was Avocado)"), ("Oatly Oat Drink 1L", ""),
                    ("Arla Standard Milk 1L", "Voided by staff: not charged")]  # the void stays, marked


def test_one_void_one_correction_one_price_change_told_apart_on_staff_table_and_receipt(qtbot, window, service):
    for sku in ("avocado", "yoghurt", "oatly-oat-milk"):
        service.choose(sku)
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 3)
    window.open_staff()
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    staff = window.staff
    tap_cell(qtbot, staff.table, 0, 0)
    tap(qtbot, staff.void_button)  # the avocado (₹99.00): the one line voided
    qtbot.waitUntil(lambda: len(window.cart_model.cart_view.lines) == 2)
    tap_cell(qtbot, staff.table, 1, 0)
    tap(qtbot, staff.override_button)  # the yoghurt re-priced
    type_keys(qtbot, window.price.keypad, "45.50")
    tap(qtbot, window.price.ok_button)
    tap_cell(qtbot, staff.table, 2, 0)
    tap(qtbot, staff.correct_button)  # the oat drink corrected to milk
    type_keys(qtbot, window.search.keyboard, "arla")
    tap_list_row(qtbot, window.search.list, 0)
    qtbot.waitUntil(lambda: [x.sku for x in window.cart_model.cart_view.lines] == ["yoghurt", "arla-standard-milk"])
    marks = [staff.model.index(r, 0).data(MARK_ROLE) for r in range(staff.model.rowCount())]
    assert marks == ["Voided by staff: not charged", "Price changed by staff (was ₹125.50)",
                     "Corrected by staff (was Oatly Oat Drink 1L)"]
    tap(qtbot, staff.done_button)
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["cash"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    totals = window.receipt.view.totals
    notes = [(totals.itemAtPosition(r, 0).widget().text(), totals.itemAtPosition(r, 1).widget().text())
             for r in range(totals.rowCount()) if totals.itemAtPosition(r, 0).widget().objectName() == "receiptNote"]
    assert notes == [("Voided by staff: 1 (not charged)", "₹99.00"), ("Corrected by staff: 1", ""),
                     ("Re-priced by staff: 1", "")]  # four lines voided in the cart; staff voided one
    printed = window.receipt.text.toPlainText().splitlines()  # the legal record, as printed
    assert "Corrected by staff: 1" in printed and "Re-priced by staff: 1" in printed
    assert any(x.startswith("Voided by staff: 1 (not charged)") and x.endswith("₹99.00") for x in printed)


def test_receipt_legal_header_full_gst_table_print_and_countdown(qtbot, window, service):
    window.receipt.auto_return_s = 2
    service.set_weight(548)
    service.choose("banana")
    service.choose("oatly-oat-milk")
    service.choose("yoghurt")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["upi"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    view = window.receipt.view
    head = [view.head.itemAt(i).widget().text() for i in range(view.head.count())]
    assert head[0] == "Fake Mart" and head[-2:] == ["RECEIPT", f"Receipt {service.receipts[0].receipt_no} · "
                                                                "02-01-2025 10:30"]
    tax = [[view.tax.itemAtPosition(r, c).widget().text() for c in range(5)] for r in range(view.tax.rowCount())]
    assert tax == [["GST", "Taxable", "CGST", "SGST", "Total"], ["0%", "32.88", "0.00", "0.00", "32.88"],
                   ["5%", "119.52", "2.99", "2.99", "125.50"], ["18%", "295.76", "26.62", "26.62", "349.00"],
                   ["All", "448.16", "29.61", "29.61", "507.38"]]
    for r in range(view.tax.rowCount()):  # the whole GST table shows: nothing scrolls it away
        cell = view.tax.itemAtPosition(r, 4).widget()
        assert cell.isVisible() and view.rect().contains(cell.geometry().translated(0, 0).bottomRight())
    assert window.receipt.new_button.text() == "Start a new order (2 s)"
    tap(qtbot, window.receipt.print_button)  # printed off the Qt thread
    qtbot.waitUntil(lambda: window.receipt.print_status.text() == "Printed: please take your receipt.")
    assert service.printed == [service.receipts[0].receipt_no]
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=4000)  # back to the welcome screen by itself
    assert ("new_shopper",) in service.calls and window.suggestions.state == "idle"


def test_no_printer_no_print_button(qtbot, window, service):
    service.can_print = False
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert not window.receipt.print_button.isVisible()


def test_no_stale_or_doubled_messages(qtbot, window, service):
    window.open_staff()
    type_keys(qtbot, window.pin.keypad, "1111")
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.pin.error.text() == "Wrong staff PIN")
    assert not window.banner.isVisible()  # once, on the PIN page: not in the banner too
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff" and not window.banner.isVisible()  # nothing of the wrong PIN survives
    tap(qtbot, window.staff.done_button)
    service.emit(Notice("warning", "barcode not read: scan it again"))
    qtbot.waitUntil(lambda: window.banner.isVisible())
    assert window.banner.text() == "Barcode not read: scan it again"  # a capital, the shopper's language
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    service.emit(Notice("info", "place Banana on the scale and hold still"))  # the step area says it already
    qtbot.wait(50)
    assert window.banner.text() == "Barcode not read: scan it again"
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    tap(qtbot, window.receipt.new_button)
    assert window.page == "checkout" and not window.banner.isVisible()  # the next shopper starts clean


def test_technical_details_only_in_staff_mode(qtbot, window, service):
    status = window.status
    assert status.camera_label.isVisible() and status.scale_label.isVisible()
    assert not status.model_label.isVisible()  # "Model v7 · fake-net" is not for shoppers
    service.staff_unlock(PIN)
    qtbot.waitUntil(lambda: status.model_label.isVisible())
    assert status.model_label.text() == "Model v7 · fake-net"


def test_the_staff_photo_goes_with_the_line_it_belongs_to(qtbot, window, service):
    """A new cart (the sale paid meanwhile) clears the placement photo of the line that was selected: staff saw the
    last sale's item beside a cart that did not hold it (docs/screens 19, 26, 27)."""
    pid = service.place("avocado", "yoghurt", auto=True)
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    service.clear_tray(pid)
    staff = staff_on_the_first_line(qtbot, window)
    service.pay("card")
    service.choose("oatly-oat-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1 and window.cart_model.line(0).sku == "oatly-oat-milk")
    assert staff.table.selected_line_id() is None
    assert staff.detail.path == "" and not staff.detail.has_photo
    assert staff.detail.photo.text() == "Tap a line to see\nwhat the camera saw"  # not "added by search or scan"
