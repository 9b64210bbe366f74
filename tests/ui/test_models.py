"""The cart table model and the totals rows, without any window."""

from PySide6.QtCore import Qt

from kiosk.ui.models import DETAIL_ROLE, LINE_ID_ROLE, SKU_ROLE, CartTableModel, totals_rows
from tests.ui.fakes import FakeCheckoutService


def _cart(service: FakeCheckoutService):
    service.set_weight(548)
    service.choose("banana")  # 0.548 kg × ₹60.00/kg = ₹32.88
    service.choose("oatly-oat-milk")  # ₹349.00, GST 18 %
    service.choose("yoghurt")  # ₹125.50, GST 5 %
    return service.cart_view()


def test_rows_follow_the_cart_view_in_order_with_the_service_texts(qtmodeltester):
    service = FakeCheckoutService()
    view = _cart(service)
    model = CartTableModel(view)
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.columnCount() == 5
    cells = [[model.index(r, c).data() for c in range(5)] for r in range(3)]
    assert cells == [
        ["Banana", "0.548 kg", "₹60.00/kg", "₹32.88", "✕"],
        ["Oatly Oat Drink 1L", "1", "₹349.00", "₹349.00", "✕"],
        ["Arla Natural Yoghurt 1kg", "1", "₹125.50", "₹125.50", "✕"],
    ]
    assert [model.index(r, 0).data(LINE_ID_ROLE) for r in range(3)] == [line.line_id for line in view.lines]
    assert model.index(1, 3).data(SKU_ROLE) == "oatly-oat-milk"
    assert model.index(0, 0).data(DETAIL_ROLE) == "0.548 kg × ₹60.00/kg"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Qty / weight"
    assert model.index(0, 3).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert model.row_of(view.lines[2].line_id) == 2 and model.row_of("nope") == -1


def test_new_cart_view_resets_rows_and_signals_once(qtbot):
    service = FakeCheckoutService()
    model = CartTableModel(_cart(service))
    service.remove_line(service.cart_view().lines[0].line_id)
    with qtbot.waitSignal(model.modelReset, timeout=100):
        model.set_cart(service.cart_view())
    assert model.rowCount() == 2
    assert model.index(0, 0).data() == "Oatly Oat Drink 1L"
    model.set_cart(None)
    assert model.rowCount() == 0


def test_staff_model_has_no_remove_column(qtmodeltester):
    model = CartTableModel(_cart(FakeCheckoutService()), removable=False)
    qtmodeltester.check(model)
    assert model.columnCount() == 4
    assert not model.index(0, CartTableModel.REMOVE).isValid()


def test_totals_rows_show_gross_gst_per_rate_round_off_and_total():
    rows = totals_rows(_cart(FakeCheckoutService()).bill)
    assert [r.kind for r in rows] == ["gross", "tax", "tax", "tax", "round_off", "total"]
    assert rows[0].value == "₹507.38" and "3 items" in rows[0].label
    # GST-inclusive split per rate: taxable + CGST + SGST = the rate's gross
    assert [r.cells for r in rows[1:4]] == [
        ("0%", "₹32.88", "₹0.00", "₹0.00"),
        ("5%", "₹119.52", "₹2.99", "₹2.99"),
        ("18%", "₹295.76", "₹26.62", "₹26.62"),
    ]
    assert [r.value for r in rows[1:4]] == ["₹32.88", "₹125.50", "₹349.00"]
    assert rows[4].value == "-₹0.38" and rows[5].value == "₹507.00"
