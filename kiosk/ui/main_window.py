"""The kiosk window: pages on a stack, fed by the bridge's signals, forwarding taps to the service.

Pages (``MainWindow.pages``): ``checkout`` (camera, suggestions, weight, cart, totals, Search,
Pay), ``search``, ``payment``, ``receipt``, ``pin`` (staff PIN), ``staff`` and ``price``
(staff price override). The window holds no checkout logic: every decision (auto-add,
replacing a line, weighing, pricing, tax) is the service's; the window only routes a tap to
one intent, shows what the events say, and shows an intent's refusal as a notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QSizePolicy, QSlider, QStackedWidget, QVBoxLayout, QWidget

from kiosk.services.api import CheckoutApi
from kiosk.ui.bridge import ServiceBridge
from kiosk.ui.models import CartTableModel
from kiosk.ui.staff_access import install as install_staff_access
from kiosk.ui.styles import load_stylesheet, scale_factor, scaled_stylesheet
from kiosk.ui.teach import install as install_teach
from kiosk.ui.widgets import (
    CameraView,
    CartPanel,
    KioskStatusBar,
    NoticeBanner,
    PaymentPanel,
    PriceOverridePanel,
    ReceiptPanel,
    SearchPanel,
    StaffCallPanel,
    StaffPanel,
    SuggestionPanel,
    TotalsPanel,
    WeightPanel,
)
from kiosk.ui.widgets.common import label, touch_button
from kiosk.ui.widgets.staff_signin import StaffSignInPanel

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """``service``: a CheckoutService (or anything with the same intents); ``bridge``: its
    :class:`ServiceBridge` (made and attached here when not given)."""

    #: the page now shown (name), after every page change
    page_changed = Signal(str)

    def __init__(self, service: CheckoutApi, bridge: ServiceBridge | None = None, *, store_name: str = "Self-checkout",
                 camera_fps: float = 15.0, payment_ms: int = 1200, receipt_return_s: float = 30.0,
                 notice_ms: int = 6000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.bridge = bridge if bridge is not None else ServiceBridge(service, self).attach()
        self.setObjectName("kioskWindow")
        self.setWindowTitle(f"{store_name} — self-checkout")
        self._scale = 0.0
        self._awaiting_placement: str | None = None
        self._staff_target: str | None = None  # line being corrected / re-priced
        self._search_mode = "shopper"

        self.cart_model = CartTableModel(parent=self)
        self.staff_model = CartTableModel(removable=False, parent=self)

        # -- header + notice (all pages) --------------------------------------------------
        root = QWidget()
        root.setObjectName("root")
        column = QVBoxLayout(root)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        header = QWidget()
        header.setObjectName("header")
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(16, 4, 8, 4)
        self.title = label(store_name, "headerTitle")
        self.hint = label("Place one item at a time on the tray", "headerHint")
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.staff_button = touch_button("Staff", "staffButton")
        policy = QSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        policy.setRetainSizeWhenHidden(True)  # the header keeps its height on every page
        self.staff_button.setSizePolicy(policy)
        self.staff_button.setMinimumWidth(120)
        header_row.addWidget(self.title)
        header_row.addSpacing(24)
        header_row.addWidget(self.hint, 1)
        header_row.addWidget(self.staff_button)
        self.banner = NoticeBanner(timeout_ms=notice_ms)
        column.addWidget(header)
        column.addWidget(self.banner)

        # -- pages -------------------------------------------------------------------------
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        column.addWidget(self.stack, 1)
        self.setCentralWidget(root)

        self.camera = CameraView(self.bridge.frame_provider(), fps=camera_fps)
        self.suggestions = SuggestionPanel()
        self.weight = WeightPanel()
        self.cart = CartPanel(self.cart_model)
        self.totals = TotalsPanel()
        self.search_button = touch_button("Search item", "searchButton")
        self.pay_button = touch_button("Pay", "payButton")
        self.pay_button.setMinimumHeight(80)
        self.search_button.setMinimumHeight(80)
        self._add_page("checkout", self._checkout_page())

        self.search = SearchPanel(self._search)
        self.payment = PaymentPanel(processing_ms=payment_ms)
        self.receipt = ReceiptPanel(auto_return_s=receipt_return_s)
        self.pin = StaffSignInPanel()  # staff number + personal PIN (kiosk.ui.widgets.staff_signin)
        self.staff = self._staff_page()
        self.price = PriceOverridePanel()
        for name, page in (("search", self.search), ("payment", self.payment), ("receipt", self.receipt),
                           ("pin", self.pin), ("staff", self.staff), ("price", self.price)):
            self._add_page(name, page)

        self.status = KioskStatusBar()
        self.setStatusBar(self.status)

        self._demo_scale = self.bridge.simulated_scale()
        if self._demo_scale is not None:
            self._add_demo_slider()

        self._connect()
        self.teach, self.not_recognised = install_teach(self)  # kiosk.ui.teach: Teach page, "Not recognised" view
        self._apply_style(force=True)
        self.render_cart(self.service.cart_view())
        self.show_page("checkout")

    # -- building ------------------------------------------------------------------------
    def _add_page(self, name: str, widget: QWidget) -> None:
        widget.setProperty("page", name)
        self.pages[name] = widget
        self.stack.addWidget(widget)

    def _staff_page(self) -> StaffPanel:
        """The staff panel with the staff call's Add it / Do not add on top."""
        staff = StaffPanel(self.staff_model)
        self.staff_call_desk = StaffCallPanel(with_buttons=True)
        staff.layout().insertWidget(0, self.staff_call_desk)
        return staff

    def _checkout_page(self) -> QWidget:
        self.staff_call = StaffCallPanel()  # the shopper's "staff is on the way"
        page = QWidget()
        page.setObjectName("checkoutPage")
        row = QHBoxLayout(page)
        row.setContentsMargins(12, 10, 12, 10)
        row.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(8)
        left.addWidget(self.camera, 5)
        left.addWidget(self.suggestions, 3)
        left.addWidget(self.staff_call)
        left.addWidget(self.weight)
        right_box = QWidget()
        right_box.setObjectName("cartColumn")
        right = QVBoxLayout(right_box)
        right.setContentsMargins(10, 8, 10, 10)
        right.setSpacing(8)
        right.addWidget(self.cart, 1)
        right.addWidget(self.totals)
        buttons = QHBoxLayout()
        buttons.setSpacing(10)
        buttons.addWidget(self.search_button, 2)
        buttons.addWidget(self.pay_button, 3)
        right.addLayout(buttons)
        row.addLayout(left, 11)
        row.addWidget(right_box, 9)
        return page

    def _install_wedge(self):
        """A USB scanner typing into the window (``[barcodes] scanner = "wedge:"``): its key filter, else None."""
        scanner = self.bridge.wedge_scanner()
        if scanner is None:
            return None
        from PySide6.QtWidgets import QApplication

        from kiosk.ui.wedge_keys import WedgeKeyFilter

        wedge = WedgeKeyFilter(scanner, self)
        QApplication.instance().installEventFilter(wedge)
        return wedge

    def _add_demo_slider(self) -> None:
        """A slider that sets the simulated scale's load (demo and development only)."""
        self.demo_slider = QSlider(Qt.Orientation.Horizontal)
        self.demo_slider.setObjectName("demoScaleSlider")
        self.demo_slider.setRange(0, 3000)
        self.demo_slider.setSingleStep(5)
        self.demo_slider.setToolTip("Simulated scale: drag to put grams on the platter")
        self.demo_slider.setMinimumWidth(160)
        self.demo_slider.valueChanged.connect(lambda g: self._demo_scale.set_weight(int(g)))
        self.weight.layout().addWidget(self.demo_slider)

    def _connect(self) -> None:
        self.wedge_filter = self._install_wedge()  # a USB scanner's key presses, when it types into the window
        self.staff_access = install_staff_access(self)  # kiosk.ui.staff_access: who is signed in, roles, approvals
        b = self.bridge
        b.cart_changed.connect(lambda e: self.render_cart(e.cart_view))
        b.suggestions_ready.connect(self._on_suggestions)
        b.placement_cleared.connect(self._on_placement_cleared)
        b.awaiting_weight.connect(self._on_awaiting_weight)
        b.weighing_ended.connect(self._on_weighing_ended)
        b.weight_changed.connect(self._on_weight)
        b.sale_closed.connect(self._on_sale_closed)
        b.model_changed.connect(lambda e: self.status.set_model(
            "—" if e.version is None else f"v{e.version}", e.description))
        b.camera_status_changed.connect(self._on_camera_status)
        b.notice.connect(lambda e: self.banner.show_notice(e.level, e.message))
        b.staff_mode_changed.connect(self._on_staff_mode)
        b.update_status_changed.connect(
            lambda e: self.status.set_update(e.message, e.level, e.error if e.error else ""))
        b.outbox_changed.connect(lambda e: self.status.set_outbox(e.message, e.level, e.last_error or ""))
        b.staff_called.connect(self._on_staff_call)
        b.staff_call_ended.connect(lambda _e: self._on_staff_call(None))
        self.weight.tare_requested.connect(
            lambda container: self._intent("scale_tare", container) if container else self._intent("scale_clear_tare"))
        self.weight.zero_requested.connect(lambda: self._intent("scale_zero"))
        self.staff_call_desk.resolved.connect(lambda approve: self._intent("staff_resolve", approve))

        self.suggestions.chosen.connect(self._choose_suggestion)
        self.cart.table.remove_requested.connect(lambda line_id: self._intent("remove_line", line_id))
        self.search_button.clicked.connect(self.open_search)
        self.pay_button.clicked.connect(self.open_payment)
        self.search.chosen.connect(self._search_chosen)
        self.search.cancelled.connect(self._search_cancelled)
        self.payment.pay_requested.connect(self._pay)
        self.payment.cancelled.connect(lambda: self.show_page("checkout"))
        self.receipt.done.connect(self.new_order)
        self.staff_button.clicked.connect(self.open_staff)
        self.pin.submitted.connect(self._unlock)
        self.pin.cancelled.connect(lambda: self.staff_access.cancel_approval() or self.show_page("checkout"))
        self.staff.done.connect(self.close_staff)
        self.staff.void_requested.connect(lambda line_id: self._intent("staff_void", line_id))
        self.staff.correct_requested.connect(self._staff_correct)
        self.staff.override_requested.connect(self._staff_override)
        self.staff.reprint_requested.connect(self._reprint)
        self.price.submitted.connect(self._price_submitted)
        self.price.cancelled.connect(lambda: self.show_page("staff"))

    # -- pages -----------------------------------------------------------------------------
    def show_page(self, name: str) -> None:
        self.stack.setCurrentWidget(self.pages[name])
        self.staff_button.setVisible(name == "checkout")
        hints = {
            "checkout": "Place one item at a time on the tray",
            "search": "Search by name or PLU",
            "payment": "Payment",
            "receipt": "Thank you for shopping with us",
            "pin": "Staff only",
            "staff": "Staff mode",
            "price": "Staff mode — price override",
            "teach": "Staff mode — teach a new product",
        }
        self.hint.setText(hints[name])
        self.page_changed.emit(name)

    @property
    def page(self) -> str:
        return self.stack.currentWidget().property("page")

    # -- intents ---------------------------------------------------------------------------
    def _intent(self, name: str, *args: Any) -> tuple[bool, Any]:
        """Call ``service.<name>(*args)``; a refusal becomes an error notice, never a crash.

        The log names the intent and the refusal, never what was typed: no arguments at all (a PIN, a search), and
        for staff intents not even the refusal's text (it might quote the input), at any log level."""
        fn: Callable = getattr(self.service, name)
        try:
            return True, fn(*args)
        except Exception as exc:  # the service's refusals (UserError, CartError …) and its bugs alike
            if name.startswith("staff_"):
                log.warning("%s refused (%s)", name, type(exc).__name__)
            else:
                log.warning("%s refused (%s): %s", name, type(exc).__name__, exc)
            self.banner.show_notice("error", str(exc) or type(exc).__name__)
            return False, exc

    def _search(self, text: str) -> list:
        ok, result = self._intent("search", text)
        return list(result) if ok else []

    def _choose_suggestion(self, sku: str) -> None:
        ok, line_id = self._intent("choose", sku, self.suggestions.placement_id)
        if ok:
            for button in self.suggestions.buttons:
                if button.suggestion is not None:
                    button.set_suggestion(button.suggestion, added=line_id is not None and button.suggestion.sku == sku)
            chosen = next((b.suggestion for b in self.suggestions.buttons
                           if b.suggestion is not None and b.suggestion.sku == sku), None)
            if chosen is not None and line_id is not None:
                self.suggestions.title.setText(f"Added {chosen.name}. Not right? Tap the correct item")

    def open_search(self) -> None:
        self._search_mode = "shopper"
        self.search.reset("Find your item: type its name or the PLU on its sticker")
        self.show_page("search")

    def _search_chosen(self, sku: str) -> None:
        if self._search_mode == "staff":
            ok, _ = self._intent("staff_correct", self._staff_target, sku)
            self.show_page("staff")
            if ok:
                self.staff.table.clearSelection()
            return
        ok, _ = self._intent("choose", sku, None)
        if ok:
            self.show_page("checkout")

    def _search_cancelled(self) -> None:
        self.show_page("staff" if self._search_mode == "staff" else "checkout")

    def open_payment(self) -> None:
        view = self.cart_model.cart_view
        if view is None or not view.lines:
            self.banner.show_notice("info", "Your cart is empty")
            return
        self.payment.prepare(view.bill.total_text)
        self.show_page("payment")

    def _pay(self, method: str) -> None:
        ok, result = self._intent("pay", method)
        if not ok:
            self.payment.failed(str(result))
        # on success SaleClosed (queued by the bridge) opens the receipt page

    def new_order(self) -> None:
        self.suggestions.clear()
        self.weight.set_awaiting(None)
        self.show_page("checkout")

    # staff
    def open_staff(self) -> None:
        self.staff_access.open_sign_in()

    def _unlock(self, pin: str) -> None:
        if self.staff_access.handle_pin(pin):  # a supervisor's approval
            return
        ok, unlocked = self._intent("staff_unlock", pin, self.staff_access.staff_number())
        if ok and unlocked is True:
            self.staff.table.clearSelection()
            self.show_page("staff")
        else:
            self.pin.show_error("Wrong PIN — try again")

    def close_staff(self) -> None:
        try:
            self.bridge.staff_lock()
        except Exception as exc:  # locking must never keep staff pages open
            log.warning("staff_lock failed: %s", exc)
        self.show_page("checkout")

    def _staff_correct(self, line_id: str) -> None:
        self._staff_target = line_id
        self._search_mode = "staff"
        line = self.staff_model.line(self.staff_model.row_of(line_id))
        self.search.reset(f"Staff: correct “{line.name}” to…")
        self.show_page("search")

    def _staff_override(self, line_id: str) -> None:
        self._staff_target = line_id
        line = self.staff_model.line(self.staff_model.row_of(line_id))
        self.price.prepare(line.name, line.unit_price_text)
        self.show_page("price")

    def _reprint(self) -> None:
        """Staff: the last sale's receipt again, marked as a duplicate (recorded by the service)."""
        ok, text = self._intent("staff_reprint")
        if ok:
            self.receipt.show_duplicate(text)
            self.show_page("receipt")

    def _price_submitted(self, paise: int) -> None:
        ok, result = self._intent("staff_override_price", self._staff_target, paise)
        if not ok and self.staff_access.needs_supervisor(result, lambda: self._price_submitted(paise)):
            return
        if ok:
            self.staff.table.clearSelection()
            self.show_page("staff")
        else:
            self.price.error.setText(self.banner.text())

    # -- rendering events --------------------------------------------------------------------
    def render_cart(self, view: Any) -> None:
        selected = self.staff.table.selected_line_id()
        self.cart_model.set_cart(view)
        self.staff_model.set_cart(view)
        self.staff.table.select_line(selected)
        self.totals.set_bill(view.bill)
        has_lines = bool(view.lines)
        self.pay_button.setEnabled(has_lines)
        self.pay_button.setText(f"Pay {view.bill.total_text}" if has_lines else "Pay")

    def _stop_awaiting(self) -> None:
        self._awaiting_placement = None
        self.weight.set_awaiting(None)

    def _on_suggestions(self, event: Any) -> None:
        self._stop_awaiting()
        self.suggestions.show_suggestions(event.placement_id, event.suggestions, event.auto_added_line_id,
                                          event.auto_added_sku)

    def _on_placement_cleared(self, event: Any) -> None:
        if self.suggestions.placement_id == event.placement_id:
            self.suggestions.clear()
        if self._awaiting_placement is not None and self._awaiting_placement == event.placement_id:
            self._stop_awaiting()

    def _on_weighing_ended(self, event: Any) -> None:
        if self.weight.awaiting and self.weight.awaiting_sku == event.sku:
            self._stop_awaiting()

    def _on_awaiting_weight(self, event: Any) -> None:
        self._awaiting_placement = event.placement_id
        self.weight.set_awaiting(event.sku, event.name)

    def _on_weight(self, event: Any) -> None:
        self.weight.set_reading(event.reading, getattr(event, "net", None))
        self.status.set_scale(event.reading)

    def _on_staff_call(self, event: Any) -> None:
        """A held item (StaffCalled) or its end (None): the shopper waits, the staff page has the buttons."""
        self.staff_call.set_call(event)
        self.staff_call_desk.set_call(event)

    def _on_sale_closed(self, event: Any) -> None:
        self.receipt.show_receipt(event.receipt, getattr(event, "receipt_text", "") or None)
        self.suggestions.clear()
        self._stop_awaiting()
        self.show_page("receipt")

    def _on_camera_status(self, event: Any) -> None:
        status = getattr(event, "status", event)
        retry_in = getattr(event, "retry_in", None)
        self.status.set_camera(status, retry_in)
        state = str(getattr(status, "value", status))
        self.camera.set_overlay(None if state == "live" else self.status.camera_label.text())

    def _on_staff_mode(self, event: Any) -> None:
        if not event.unlocked and self.page in ("staff", "price") or (
                not event.unlocked and self.page == "search" and self._search_mode == "staff"):
            self.banner.show_notice("info", "Staff mode locked")
            self.show_page("checkout")

    # -- size and style ----------------------------------------------------------------------
    def _apply_style(self, force: bool = False) -> None:
        factor = scale_factor(max(self.width(), 1024), max(self.height(), 768))
        if force or factor != self._scale:
            self._scale = factor
            self.setStyleSheet(scaled_stylesheet(load_stylesheet(), factor))
            self.cart.table.set_row_height(round(56 * factor))
            self.staff.table.set_row_height(round(56 * factor))
            self.suggestions.set_photo_size(round(72 * factor))
            self.weight.setMinimumHeight(round(70 * factor))

    @property
    def style_scale(self) -> float:
        return self._scale

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._apply_style()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.camera.start()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.camera.stop()
        super().closeEvent(event)
