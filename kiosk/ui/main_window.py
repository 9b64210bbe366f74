"""The kiosk window: a header, a notice strip, pages on a stack, a status bar — fed by the bridge's signals,
forwarding taps to the service.

Pages (``MainWindow.pages``): ``checkout`` (camera, the step area, weight, cart, totals, Search or browse, Pay),
``search``, ``browse``, ``payment``, ``receipt``, ``pin`` (staff PIN), ``staff`` and ``price`` (staff price
override). The window holds no checkout logic: every decision (auto-add, replacing a line, weighing, pricing, tax,
which removal needs staff) is the service's; the window routes a tap to one intent, shows what the events say, and
shows an intent's refusal as a notice (translated, :mod:`kiosk.ui.notices`).

Layout: landscape puts the cart beside the camera, portrait under it; sizes follow the screen (and the shopper's
larger text); every text that might not fit elides with the whole text as its tooltip, so nothing can push a
widget off the screen. Language: Qt's translation system (:mod:`kiosk.ui.i18n`); the shopper's language and text
size are the service's (``ShopperPrefsChanged``), so the next shopper starts afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLayout,
    QMainWindow,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.services.api import CheckoutApi
from kiosk.ui.bridge import ServiceBridge
from kiosk.ui.i18n import Translations, translate
from kiosk.ui.keyboard import install as install_keyboard
from kiosk.ui.models import CartTableModel
from kiosk.ui.not_recognised_today import PAGES as UNLABELLED_PAGES
from kiosk.ui.not_recognised_today import install as install_unlabelled
from kiosk.ui.notices import notice_text
from kiosk.ui.staff_access import install as install_staff_access
from kiosk.ui.styles import load_stylesheet, scale_factor, scaled_stylesheet
from kiosk.ui.teach import install as install_teach
from kiosk.ui.widgets import (
    BrowsePanel,
    CameraView,
    CartPanel,
    ConfirmOverlay,
    Header,
    KioskStatusBar,
    NoticeBanner,
    PaymentPanel,
    PaymentWaitPanel,
    PriceOverridePanel,
    ReceiptPanel,
    SearchPanel,
    StaffCallPanel,
    StaffPanel,
    SuggestionPanel,
    TotalsPanel,
    WeightPanel,
)
from kiosk.ui.widgets.common import touch_button
from kiosk.ui.widgets.receipts import ReceiptListPanel
from kiosk.ui.widgets.staff_signin import StaffSignInPanel

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

_C = "Window"
#: the shopper's pages (the header shows language, larger text and Help there)
SHOPPER_PAGES = ("checkout", "search", "browse", "payment", "receipt")
#: how much bigger the shopper's "larger text" makes everything
LARGE_TEXT = 1.25


def _hint(page: str) -> str:
    texts = {  # listed literally so that pyside6-lupdate finds them
        "checkout": translate("Window", "Place one item at a time on the tray"),
        "search": translate("Window", "Search by name or PLU"),
        "browse": translate("Window", "Browse by picture"),
        "payment": translate("Window", "Payment"),
        "receipt": translate("Window", "Thank you for shopping with us"),
        "pin": translate("Window", "Staff only"),
        "staff": translate("Window", "Staff mode"),
        "price": translate("Window", "Staff mode — price override"),
        "teach": translate("Window", "Staff mode — teach a new product"),
        "unlabelled": translate("Window", "Staff mode"),  # the page's own title says the rest (the header elides)
        "unlabelled_search": translate("Window", "Staff mode"),
    }
    return texts.get(page, "")


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
        self.store_name = store_name
        self.translations = Translations()
        self._scale = 0.0
        self.large_text = False
        self._awaiting_placement: str | None = None
        self._staff_target: str | None = None  # line being corrected / re-priced
        self._search_mode = "shopper"
        self._find_placement: str | None = None  # the placement a search/browse pick is for
        self._last_line: tuple[str, str, str] | None = None  # (line id, sku, name) just added, for its amount
        self._camera_status: Any = "connecting"
        self._waiting: dict[str, Any] = {}  # cart id → its payment checked in the background (PaymentPending)
        self._frozen = False  # the service holds the cart as the payment page shows it (freeze_cart)
        self._paying: object | None = None  # the tap on Pay waiting for the terminal (service.pay off the Qt thread)
        self.cart_model = CartTableModel(parent=self)
        self.staff_model = CartTableModel(removable=False, parent=self)
        # the screen decides the window's size, never its content (a long text, a portrait layout being left): what
        # does not fit elides or gives way, and tests/ui/test_layout.py checks nothing is cut at the sizes tills have
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self._build_chrome(store_name, notice_ms)
        self._build_pages(camera_fps, payment_ms, receipt_return_s)
        self.status = KioskStatusBar()
        self.setStatusBar(self.status)
        self.confirm = ConfirmOverlay(self.stack)  # over the page, not the header: Help and Staff stay in reach
        self.keyboard = install_keyboard(self)  # kiosk.ui.keyboard: Tab order, first control, Escape (before the wedge)
        self._demo_scale = self.bridge.simulated_scale()
        if self._demo_scale is not None:
            self._add_demo_slider()
        self._connect()
        self.teach, self.not_recognised = install_teach(self)  # kiosk.ui.teach: Teach page, "Not recognised" view
        self.unlabelled = install_unlabelled(self)  # kiosk.ui.not_recognised_today: staff label today's unknowns
        self._apply_style(force=True)
        self.render_cart(self.service.cart_view())
        self.retranslate()
        self.show_page("checkout")

    # -- building ------------------------------------------------------------------------
    def _build_chrome(self, store_name: str, notice_ms: int) -> None:
        root = QWidget()
        root.setObjectName("root")
        column = QVBoxLayout(root)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.header = Header(store_name)
        self.title, self.hint = self.header.title, self.header.hint
        self.staff_button, self.help_button = self.header.staff_button, self.header.help_button
        self.language_button, self.large_text_button = self.header.language_button, self.header.text_button
        self.banner = NoticeBanner(timeout_ms=notice_ms)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        column.addWidget(self.header)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(root)

    def _build_pages(self, camera_fps: float, payment_ms: int, receipt_return_s: float) -> None:
        self.camera = CameraView(self.bridge.frame_provider(), fps=camera_fps)
        self.suggestions = SuggestionPanel()
        self.weight = WeightPanel()
        self.cart = CartPanel(self.cart_model)
        self.totals = TotalsPanel()
        self.search_button = touch_button("", "searchButton")
        self.pay_button = touch_button("", "payButton")
        self._add_page("checkout", self._checkout_page())
        self.search = SearchPanel(self._search)
        self.browse = BrowsePanel(lambda: self._ask("browse_groups") or [], lambda g: self._ask("browse", g) or [])
        self.payment = PaymentPanel(processing_ms=payment_ms)
        self.receipt = ReceiptPanel(auto_return_s=receipt_return_s)
        self.pin = StaffSignInPanel()  # staff number + personal PIN (kiosk.ui.widgets.staff_signin)
        self.staff = self._staff_page()
        self.price = PriceOverridePanel()
        self.receipts = ReceiptListPanel()  # staff: today's receipts, to reprint one
        for name, page in (("search", self.search), ("browse", self.browse), ("payment", self.payment),
                           ("receipt", self.receipt), ("pin", self.pin), ("staff", self.staff), ("price", self.price),
                           ("receipts", self.receipts)):
            self._add_page(name, page)

    def _add_page(self, name: str, widget: QWidget) -> None:
        widget.setProperty("page", name)
        self.pages[name] = widget
        self.stack.addWidget(widget)

    def _staff_page(self) -> StaffPanel:
        """The staff panel with the staff call's Add it / Do not add and the payments not settled among its alerts."""
        staff = StaffPanel(self.staff_model)
        self.staff_call_desk = StaffCallPanel(with_buttons=True)
        staff.alerts.insertWidget(0, self.staff_call_desk)
        self.payment_wait = PaymentWaitPanel()
        staff.alerts.insertWidget(1, self.payment_wait)
        return staff

    def _checkout_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("checkoutPage")
        self.body = QBoxLayout(QBoxLayout.Direction.LeftToRight, page)
        self.body.setContentsMargins(10, 8, 10, 8)
        self.body.setSpacing(10)
        left_box = QWidget()
        left_box.setObjectName("stepColumn")
        left = QVBoxLayout(left_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(6)
        left.addWidget(self.camera, 4)
        left.addWidget(self.suggestions, 3)
        left.addWidget(self.weight)
        right_box = QWidget()
        right_box.setObjectName("cartColumn")
        right = QVBoxLayout(right_box)
        right.setContentsMargins(10, 8, 10, 10)
        right.setSpacing(6)
        right.addWidget(self.cart, 1)
        right.addWidget(self.totals)
        buttons = QHBoxLayout()
        buttons.setSpacing(10)
        buttons.addWidget(self.search_button, 1)
        buttons.addWidget(self.pay_button, 1)
        right.addLayout(buttons)
        self.body.addWidget(left_box, 11)
        self.body.addWidget(right_box, 9)
        self.left_column, self.cart_column = left_box, right_box
        left_box.installEventFilter(self)  # the tiles that fit follow the column's width
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
        self.demo_slider.setMinimumWidth(90)
        self.demo_slider.setMaximumWidth(180)
        self.demo_slider.valueChanged.connect(lambda g: self._demo_scale.set_weight(int(g)))
        self.weight.layout().addWidget(self.demo_slider)

    def _connect(self) -> None:
        self.wedge_filter = self._install_wedge()  # a USB scanner's key presses, when it types into the window
        self.staff_access = install_staff_access(self)  # kiosk.ui.staff_access: who is signed in, roles, approvals
        self._connect_events()
        self._connect_shopper()
        self._connect_staff()

    def _connect_events(self) -> None:
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
        b.notice.connect(lambda e: self._on_notice(e.level, e.message))
        b.staff_mode_changed.connect(self._on_staff_mode)
        b.update_status_changed.connect(
            lambda e: self.status.set_update(e.message, e.level, e.error if e.error else ""))
        b.outbox_changed.connect(lambda e: self.status.set_outbox(e.message, e.level, e.last_error or ""))
        b.staff_called.connect(self._on_staff_call)
        b.staff_call_ended.connect(lambda _e: self._on_staff_call(None))
        b.help_call_changed.connect(self._on_help_call)
        b.removal_pending.connect(self._on_removal_pending)
        b.removal_decided.connect(self._on_removal_decided)
        b.prefs_changed.connect(self._on_prefs)
        b.payment_pending.connect(self._on_payment_pending)
        b.printer_status.connect(lambda e: self.status.set_printer(e.level, e.reason, e.details))

    def _connect_shopper(self) -> None:
        self.header.help_requested.connect(lambda call: self._intent("call_help" if call else "cancel_help"))
        self.header.language_requested.connect(lambda code: self._intent("set_language", code))
        self.header.large_text_requested.connect(lambda on: self._intent("set_large_text", on))
        self.weight.tare_requested.connect(
            lambda container: self._intent("scale_tare", container) if container else self._intent("scale_clear_tare"))
        self.weight.zero_requested.connect(lambda: self._intent("scale_zero"))
        self.suggestions.chosen.connect(self._choose_suggestion)
        self.suggestions.find_requested.connect(lambda: self.open_browse(for_placement=True))
        self.suggestions.help_requested.connect(lambda: self._intent("call_help", "item not recognised"))
        self.cart.table.remove_requested.connect(self._ask_remove)
        self.confirm.chosen.connect(self._on_confirm)
        self.search_button.clicked.connect(self.open_search)
        self.pay_button.clicked.connect(self.open_payment)
        self.search.chosen.connect(self._search_chosen)
        self.search.cancelled.connect(self._search_cancelled)
        self.search.browse_requested.connect(lambda: self.open_browse(for_placement=self._find_placement is not None))
        self.browse.chosen.connect(self._search_chosen)
        self.browse.cancelled.connect(lambda: self.show_page("checkout"))
        self.browse.search_requested.connect(lambda: self.open_search(for_placement=self._find_placement is not None))
        self.payment.pay_requested.connect(self._pay)
        self.page_changed.connect(self._left_payment)
        self.payment.cancelled.connect(lambda: self.show_page("checkout"))
        self.receipt.done.connect(self.new_order)
        self.receipt.back.connect(self.back_to_staff)  # a duplicate or the report: staff's, not a sale
        self.receipt.print_requested.connect(self._print)

    def _connect_staff(self) -> None:
        self.staff_call_desk.resolved.connect(lambda approve: self._intent("staff_resolve", approve))
        self.staff_button.clicked.connect(self.open_staff)
        self.pin.submitted.connect(self._unlock)
        self.pin.cancelled.connect(lambda: self.staff_access.cancel_approval() or self.show_page("checkout"))
        self.staff.done.connect(self.close_staff)
        self.staff.void_requested.connect(lambda line_id: self._intent("staff_void", line_id))
        self.staff.correct_requested.connect(self._staff_correct)
        self.staff.override_requested.connect(self._staff_override)
        self.staff.reprint_requested.connect(self._reprint)
        self.receipts.chosen.connect(self._reprint_one)
        self.receipts.back.connect(self.back_to_staff)
        self.staff.day_report_requested.connect(self._day_report)
        self.staff.line_selected.connect(self._show_line_photo)
        self.staff.removal.decided.connect(lambda approve: self._intent("staff_decide_removal", approve))
        self.price.submitted.connect(self._price_submitted)
        self.price.cancelled.connect(self.back_to_staff)

    # -- pages -----------------------------------------------------------------------------
    def show_page(self, name: str) -> None:
        if name != self.page:
            self.banner.clear_notice()  # a notice belongs to the page it was about
        self.stack.setCurrentWidget(self.pages[name])
        self._render_standing()  # the payment page says itself that a payment is being checked
        self.confirm.setVisible(self.confirm.open and name == "checkout")  # a question waits on its own page
        self._set_header(name)
        self.page_changed.emit(name)

    def _set_header(self, name: str) -> None:
        """The header for page ``name``: a duplicate or the day's report on the receipt page is staff's."""
        staff_receipt = name == "receipt" and self.receipt.for_staff
        self.header.set_page(_hint("staff" if staff_receipt else name),
                             shopper=name in SHOPPER_PAGES and not staff_receipt, staff_button=name == "checkout")

    @property
    def staff_open(self) -> bool:
        """Staff mode is open, the service says now (an idle session it ends is announced); never raises."""
        try:
            return bool(self.service.staff_unlocked)
        except Exception:  # the window must keep running whatever the service does
            log.exception("staff_unlocked failed")
            return False

    def back_to_staff(self) -> None:
        """Back from one of staff's pages (a duplicate, the report, the receipts list, a price, a search, Teach):
        the staff page while staff mode is open, else the shopper's checkout — never a staff page on a locked kiosk."""
        self.show_page("staff" if self.staff_open else "checkout")

    def leave_staff_pages(self) -> None:
        """Staff mode is locked: a staff-only page on screen gives way to the shopper's checkout."""
        if not self.on_staff_page or self.staff_open:
            return
        if self.on_staff_page:  # asking may have announced an idle logout, whose event left the page already
            self.show_page("checkout")  # first: a page change clears the notice strip
            self.banner.show_notice("info", translate("Window", "Staff mode locked"))

    @property
    def on_staff_page(self) -> bool:
        """A page only signed-in staff may see (the PIN page is not: it is the way in)."""
        page = self.page
        staff_pages = ("staff", "price", "receipts", "teach", *UNLABELLED_PAGES)
        return page in staff_pages or (page == "receipt" and self.receipt.for_staff) or (
            page in ("search", "browse") and self._search_mode == "staff")

    @property
    def page(self) -> str:
        widget = self.stack.currentWidget()
        return widget.property("page") if widget is not None else ""

    def retranslate(self) -> None:
        """The language changed: the window's own texts (every widget redraws its own)."""
        self.setWindowTitle(translate("Window", "{store} — self-checkout").format(store=self.store_name))
        self.search_button.setText(translate("Window", "Search or browse"))
        self._render_pay_button()
        if self.page:
            self._set_header(self.page)
        self._on_camera_status(self._camera_status)
        self._render_standing()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- intents ---------------------------------------------------------------------------
    def _intent(self, name: str, *args: Any, notify: bool = True) -> tuple[bool, Any]:
        """Call ``service.<name>(*args)``; a refusal becomes an error notice (``notify``: the caller shows it on its
        page instead), never a crash.

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
            if notify:
                self._on_notice("error", str(exc) or type(exc).__name__)
            return False, exc

    def _ask(self, name: str, *args: Any) -> Any:
        ok, result = self._intent(name, *args)
        return result if ok else None

    def _search(self, text: str) -> list:
        ok, result = self._intent("search", text)
        return list(result) if ok else []

    def _choose_suggestion(self, sku: str) -> None:
        self.suggestions.show_choosing(sku)
        ok, line_id = self._intent("choose", sku, self.suggestions.placement_id)
        if not ok:
            self.suggestions._render_tiles()
            return
        if line_id is not None:
            view = next((b.suggestion for b in self.suggestions.buttons
                         if b.suggestion is not None and b.suggestion.sku == sku), None)
            self._added(line_id, sku, view.name if view is not None else sku)

    def _added(self, line_id: str, sku: str, name: str, picked: Any = None) -> None:
        """The step area says "✓ … added"; its amount follows with the cart (CartChanged)."""
        self._last_line = (line_id, sku, name)
        self.suggestions.show_added(sku, name, self._line_amount(line_id), picked=picked)

    def _line_amount(self, line_id: str) -> str:
        view = self.cart_model.cart_view
        line = next((x for x in getattr(view, "lines", ()) if x.line_id == line_id), None)
        return line.total_text if line is not None else ""

    def open_search(self, for_placement: bool = False) -> None:
        self._search_mode = "shopper"
        self._find_placement = self.suggestions.placement_id if for_placement else None
        self.search.reset(translate("Window", "Find your item: type its name or the PLU on its sticker"))
        self.show_page("search")

    def open_browse(self, for_placement: bool = False) -> None:
        self._search_mode = "shopper"
        self._find_placement = self.suggestions.placement_id if for_placement else None
        self.browse.open(self.browse.group)
        self.show_page("browse")

    def _search_chosen(self, sku: str) -> None:
        if self._search_mode == "staff":
            ok, _ = self._intent("staff_correct", self._staff_target, sku)
            self.back_to_staff()
            if ok:
                self.staff.table.clearSelection()
            return
        pid, self._find_placement = self._find_placement, None
        ok, line_id = self._intent("choose", sku, pid)
        if ok:
            self.show_page("checkout")
            view = next((v for v in [*self.search.results, *self.browse.views] if v.sku == sku), None)
            if line_id is not None and view is not None:
                self.suggestions.placement_id = pid
                self._added(line_id, sku, view.name, picked=view)

    def _search_cancelled(self) -> None:
        if self._search_mode == "staff":
            self.back_to_staff()
        else:
            self.show_page("checkout")

    def _ask_remove(self, line_id: str) -> None:
        """✕ on a line: ask first (the service then removes it, or holds it for staff above a value)."""
        row = self.cart_model.row_of(line_id)
        if row < 0:
            return
        line = self.cart_model.line(row)

        def render():
            return (translate("Window", "Remove {name} from your bill?").format(name=line.name),
                    translate("Window", "{qty} · {amount}. Put the item aside if you remove it.").format(
                        qty=line.qty_text, amount=line.total_text),
                    [("keep", translate("Window", "Keep it"), "secondary"),
                     ("remove", translate("Window", "Remove"), "danger")])

        self._remove_target = line_id
        self.confirm.ask("remove", render)

    def _on_confirm(self, kind: str, key: str) -> None:
        if kind == "remove" and key == "remove":
            ok, removed = self._intent("remove_line", self._remove_target)
            if ok and removed is not False:
                self.banner.show_notice("info", translate("Window", "Removed from your bill"))
        elif kind == "approval" and key == "keep":
            self._intent("keep_line")

    def open_payment(self) -> None:
        view = self.cart_model.cart_view
        if view is None or not view.lines:
            self.banner.show_notice("info", translate("Window", "Your cart is empty"))
            return
        ok, view = self._intent("freeze_cart")  # the cart stays as this page shows it until the shopper leaves or pays
        if not ok:
            return
        self._frozen = True
        self.payment.prepare(view.bill.total_text, view.bill.total)
        self.show_page("payment")

    def _left_payment(self, page: str) -> None:
        """Off the payment page by any way but the sale (Back to cart, …): the cart may change again."""
        if self._frozen and page != "payment":
            self._frozen = False
            self._intent("unfreeze_cart")

    def _pay(self, method: str) -> None:
        """The method tapped: the service asks the terminal (seconds at the PIN pad) off the Qt thread; the page says
        it waits for the terminal, its buttons and Pay are off until the answer (:meth:`_paid`)."""
        if self._paying is not None:
            return
        self._paying = tap = object()
        self._render_pay_button()
        # the total shown when the method was tapped; why not: on the payment page only, once
        self.bridge.call_off_thread("pay", method, self.payment.agreed_paise,
                                    done=lambda ok, result: self._paid(tap, ok, result))

    def _paid(self, tap: object, ok: bool, result: Any) -> None:
        """The terminal's answer to ``tap``; nothing when the sale it paid was already closed (SaleClosed comes first
        and ends the wait: the next shopper's Pay works at once)."""
        if self._paying is not tap:
            if not ok:
                log.warning("pay refused after its sale closed (%s): %s", type(result).__name__, result)
            return
        self._paying = None
        self._render_pay_button()
        if not ok:
            log.warning("pay refused (%s): %s", type(result).__name__, result)
            if str(result).startswith("payment declined"):  # this tap settled what waited: nothing waits now
                self._waiting.clear()
                self._render_waiting()
            self.payment.failed(notice_text(str(result)) or str(result))
        # on success SaleClosed (queued by the bridge) opens the receipt page

    def _print(self) -> None:
        """The printer is asked off the Qt thread (up to its 10 s: a printer switched off), Print off meanwhile."""
        if self.receipt.print_pending:
            return
        if self.receipt.kind == "report":
            self._print_day_report()
            return
        receipt = self.receipt.receipt
        self.receipt.printing()
        self.bridge.call_off_thread("print_receipt", getattr(receipt, "receipt_no", None),
                                    done=lambda ok, result: self._printed(receipt, "print_receipt", ok, result))

    def _printed(self, shown: Any, name: str, ok: bool, result: Any) -> None:
        """A print ended: said on the receipt page when it still shows what was printed, else the notice only."""
        if not ok:
            log.warning("%s refused (%s): %s", name, type(result).__name__, result)
            self._on_notice("error", str(result) or type(result).__name__)
        self.receipt.printed(ok, "" if ok else (notice_text(str(result)) or ""), shown=shown)

    def new_order(self) -> None:
        """The receipt was taken (or timed out): the welcome screen, as a new shopper finds it."""
        self._intent("new_shopper")
        self.suggestions.clear()
        self._stop_awaiting()
        self.confirm.close_question()
        self.banner.clear_notice()
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
            self.pin.show_error(translate("Window", "Wrong PIN — try again"))

    def close_staff(self) -> None:
        try:
            self.bridge.staff_lock()
        except Exception as exc:  # locking must never keep staff pages open
            log.warning("staff_lock failed: %s", exc)
        self.show_page("checkout")

    def _line_photo(self, line_id: str) -> str:
        ok, path = self._intent("line_photo", line_id)
        return path if ok and path else ""

    def _show_line_photo(self, line_id: str) -> None:
        self.staff.show_photo(self._line_photo(line_id))

    def _staff_correct(self, line_id: str) -> None:
        self._staff_target = line_id
        self._search_mode = "staff"
        line = self.staff_model.line(self.staff_model.row_of(line_id))
        self.search.reset(translate("Window", "Staff: correct “{name}” to…").format(name=line.name),
                          photo=self._line_photo(line_id))
        self.show_page("search")

    def _staff_override(self, line_id: str) -> None:
        self._staff_target = line_id
        line = self.staff_model.line(self.staff_model.row_of(line_id))
        self.price.prepare(line.name, line.unit_price_text)
        self.show_page("price")

    def _reprint(self) -> None:
        """Staff: today's receipts to pick one from (its duplicate is recorded by the service)."""
        ok, rows = self._intent("staff_receipts_today")
        if ok:
            self.receipts.show_receipts(rows)
            self.show_page("receipts")

    def _reprint_one(self, receipt_no: str) -> None:
        ok, text = self._intent("staff_reprint", receipt_no)
        if ok:
            self.receipt.show_duplicate(text)
            self.show_page("receipt")

    def _day_report(self) -> None:
        """Staff (a supervisor, or with one's approval): today's takings, as the end-of-day report prints them."""
        ok, text = self._intent("staff_day_report")
        if ok:
            self.receipt.show_report(text, bool(getattr(self.service, "can_print", False)))
            self.show_page("receipt")
        else:
            self.staff_access.needs_supervisor(text, self._day_report)

    def _print_day_report(self) -> None:
        self.receipt.printing()
        self.bridge.call_off_thread("staff_day_report", True, done=self._day_report_printed)

    def _report_showing(self) -> bool:
        """The day's report is on screen, for staff still signed in."""
        return self.page == "receipt" and self.receipt.kind == "report" and self.staff_open

    def _print_day_report_approved(self) -> None:
        """A supervisor approved the report's print on the PIN page: back to the report, which prints meanwhile."""
        if self.receipt.kind != "report" or not self.staff_open:
            self.back_to_staff()
            return
        self.show_page("receipt")
        self._print_day_report()

    def _day_report_printed(self, ok: bool, result: Any) -> None:
        """The report's print ended (off the Qt thread, seconds later). It never changes the page: staff may have left
        meanwhile (Back, Done, the idle time-out) and a shopper be at the kiosk, paying. Said on the report when it
        still shows; a refusal after staff left is a notice only (the printer's state is on staff's line too)."""
        showing = self._report_showing()
        if not ok:
            log.warning("staff_day_report refused (%s)", type(result).__name__)  # staff intents: never the text
            self._on_notice("error", str(result) or type(result).__name__)
            if showing and self.staff_access.needs_supervisor(result, self._print_day_report_approved):
                self.receipt.printed(False, "", shown=None)  # Print back on; the supervisor's approval prints it
                return
        self.receipt.printed(ok, "" if ok else (notice_text(str(result)) or ""), shown="report" if showing else None)

    def _price_submitted(self, paise: int) -> None:
        ok, result = self._intent("staff_override_price", self._staff_target, paise)
        if not ok and self.staff_access.needs_supervisor(result, lambda: self._price_submitted(paise)):
            return
        if ok:
            self.staff.table.clearSelection()
            self.show_page("staff")
        else:
            self.price.error.setText(notice_text(str(result)) or str(result))

    # -- rendering events --------------------------------------------------------------------
    def render_cart(self, view: Any) -> None:
        selected = self.staff.table.selected_line_id()
        self.cart_model.set_cart(view)
        self.staff_model.set_cart(view)
        if any(cart != view.cart_id for cart in self._waiting):  # a new cart: what was checked is over
            self._waiting = {cart: e for cart, e in self._waiting.items() if cart == view.cart_id}
            self._render_waiting()
        self.staff.table.select_line(selected)
        self.totals.set_bill(view.bill)
        self.payment.set_amount(view.bill.total_text, view.bill.total)  # the payment page shows the bill as it is
        self._render_pay_button()
        if self._last_line is not None and self.suggestions.state == "added":
            line_id, sku, name = self._last_line
            amount = self._line_amount(line_id)
            if amount:
                self.suggestions.show_added(sku, name, amount)

    def _render_pay_button(self) -> None:
        view = self.cart_model.cart_view
        has_lines = bool(view is not None and view.lines)
        self.pay_button.setEnabled(has_lines and not self._paying)
        self.pay_button.short_text = translate("Window", "Pay")  # where the amount does not fit (the total shows it)
        self.pay_button.setText(translate("Window", "Pay {total}").format(total=view.bill.total_text) if has_lines
                                else translate("Window", "Pay"))

    def _on_notice(self, level: str, message: str) -> None:
        """A notice (or refusal) from the service: translated; on the PIN page in the PIN's error line only."""
        text = notice_text(message)
        if text is None:
            return
        level = str(getattr(level, "value", level)).lower()
        if self.page == "pin" and level != "info":
            self.pin.show_error(text)
        else:
            self.banner.show_notice(level, text)

    def _stop_awaiting(self) -> None:
        self._awaiting_placement = None
        self.weight.set_awaiting(None)

    def _on_suggestions(self, event: Any) -> None:
        self._stop_awaiting()
        self._last_line = None
        if event.auto_added_line_id is not None:
            self._last_line = (event.auto_added_line_id, event.auto_added_sku or "", "")
        self.suggestions.show_suggestions(event.placement_id, event.suggestions, event.auto_added_line_id,
                                          event.auto_added_sku, bool(getattr(event, "not_recognised", False)))

    def _on_placement_cleared(self, event: Any) -> None:
        if self.suggestions.placement_id == event.placement_id and self.suggestions.state != "held":
            self.suggestions.clear()
        if self._awaiting_placement is not None and self._awaiting_placement == event.placement_id:
            self._stop_awaiting()

    def _on_weighing_ended(self, event: Any) -> None:
        if self.weight.awaiting and self.weight.awaiting_sku == event.sku:
            self._stop_awaiting()
        if self.suggestions.state != "weigh":
            return
        name = self.suggestions._focus.get("name", event.sku)
        if event.line_id is not None:
            self._added(event.line_id, event.sku, name)
        elif self.suggestions.visible_skus():
            self.suggestions._set_state("choose")
        else:
            self.suggestions.clear()

    def _on_awaiting_weight(self, event: Any) -> None:
        self._awaiting_placement = event.placement_id
        self.weight.set_awaiting(event.sku, event.name)
        view = next((b.suggestion for b in self.suggestions.buttons
                     if b.suggestion is not None and b.suggestion.sku == event.sku), None)
        self.suggestions.show_weighing(event.sku, event.name, getattr(event, "price_paise", 0),
                                       view.price_text if view is not None else "")
        self._on_weight_preview()

    def _on_weight(self, event: Any) -> None:
        net = getattr(event, "net", None)
        self.weight.set_reading(event.reading, net)
        self.status.set_scale(event.reading)
        self._on_weight_preview()

    def _on_weight_preview(self) -> None:
        net, reading = self.weight.net, self.weight.reading
        if net is not None:
            state = getattr(net.state, "value", "")
            grams = net.net if net.shows_weight and net.net > 0 and state not in ("spent",) else None
            self.suggestions.update_weight(grams, state == "motion")
        elif reading is not None:
            self.suggestions.update_weight(reading.grams if reading.grams > 0 else None, not reading.stable)

    def _on_staff_call(self, event: Any) -> None:
        """A held item (StaffCalled) or its end (None): the shopper waits, the staff page has the buttons."""
        self.suggestions.set_held(event)
        self.staff_call_desk.set_call(event)

    def _on_help_call(self, event: Any) -> None:
        """The Help button's call (``event`` ``None``: show the state as it is, in the current language)."""
        if event is not None:
            self.header.set_help(bool(event.active))
        self._render_standing()

    def _render_standing(self) -> None:
        """The notice strip's standing message: staff called (Help), else a payment being checked (on the shopper's
        pages but the payment page, which says it itself; staff's page has it among its alerts), else none."""
        waiting = next(reversed(self._waiting.values()), None)
        if self.header.help_active:
            self.banner.set_standing("info", translate("Window", "Staff has been called: please wait, someone is on "
                                                                 "the way"))
        elif waiting is not None and self.page in ("checkout", "search", "browse"):
            self.banner.set_standing("info", translate("Window", "Checking your payment of {amount} with the "
                                                                 "terminal: please wait").format(
                amount=waiting.amount_text))
        else:
            self.banner.set_standing(None)

    def _on_payment_pending(self, event: Any) -> None:
        """A payment the kiosk checks with the terminal in the background (``active``), or its end. Only the open
        cart's: one that comes after its sale closed (a question under way meanwhile) is over. A cart has one payment
        under way at a time; the end of an older one (``since``: when it began; an approval heard after it was
        released) leaves the newer one shown."""
        shown = self._waiting.get(event.cart_id)
        if event.active and event.cart_id == self._open_cart():
            self._waiting[event.cart_id] = event
        elif shown is not None and (event.active or shown.since == event.since):
            del self._waiting[event.cart_id]
        self._render_waiting()

    def _open_cart(self) -> str | None:
        return getattr(self.cart_model.cart_view, "cart_id", None)

    def _render_waiting(self) -> None:
        """Staff's line, the payment page's "checking" and the strip's standing message, from ``_waiting``."""
        waiting = list(self._waiting.values())
        self.payment_wait.set_waiting(waiting[::-1])  # the newest first
        if waiting:
            self.payment.set_checking(waiting[-1])
        elif self.payment.waiting is not None:
            self.payment.settled()
        self._render_standing()

    def _on_removal_pending(self, event: Any) -> None:
        self.staff.removal.set_pending(event)

        def render():
            return (translate("Window", "Staff must approve this removal"),
                    translate("Window", "{name} ({amount}) stays on your bill until staff approves. Staff has been "
                                  "called.").format(name=event.name, amount=event.total_text),
                    [("keep", translate("Window", "Keep the item"), "secondary")])

        self.confirm.ask("approval", render)

    def _on_removal_decided(self, event: Any) -> None:
        self.staff.removal.set_pending(None)
        self.confirm.close_question("approval")
        if event.by != "shopper":
            self.banner.show_notice("info", translate("Window", "Staff removed the item from your bill")
                                    if event.approved
                                    else translate("Window", "Staff kept the item on your bill"))

    def _on_prefs(self, event: Any) -> None:
        self.header.set_prefs(event.language, bool(event.large_text), tuple(event.languages))
        if event.language != self.translations.language:
            self.translations.switch(event.language)
        if bool(event.large_text) != self.large_text:
            self.large_text = bool(event.large_text)
            self._apply_style(force=True)

    def _on_sale_closed(self, event: Any) -> None:
        self._frozen = False  # the sale ended it: the next cart is another
        self._paying = None  # the tap that paid it waits no more (its answer may come after this event)
        self._waiting.clear()  # a tap on Pay may settle what was checked in the background: nothing waits now
        self._render_waiting()
        self.receipt.show_receipt(event.receipt, getattr(event, "receipt_text", "") or None,
                                  can_print=bool(getattr(event, "can_print", False)))
        self.suggestions.clear()
        self._stop_awaiting()
        self.confirm.close_question()
        self.show_page("receipt")

    def _on_camera_status(self, event: Any) -> None:
        self._camera_status = event
        status = getattr(event, "status", event)
        retry_in = getattr(event, "retry_in", None)
        self.status.set_camera(status, retry_in)
        state = str(getattr(status, "value", status))
        live, starting = state == "live", state == "connecting"
        if not starting or self.camera.overlay is not None:  # starting: the first frame takes the overlay away
            self.camera.set_overlay(None if live else CameraView.STARTING if starting
                                    else self.status.camera_label.text())
        self.suggestions.set_camera_ok(live or starting)

    def _on_staff_mode(self, event: Any) -> None:
        self.status.set_technical(bool(event.unlocked))
        # every staff-only page, the receipts list and duplicate too; an event older than a sign-in is not acted on
        if not event.unlocked:
            self.leave_staff_pages()

    # -- size and style ----------------------------------------------------------------------
    def _apply_style(self, force: bool = False) -> None:
        factor = scale_factor(max(self.width(), 1024), max(self.height(), 768))
        room = min(self.width() / 1024, self.height() / 768) * LARGE_TEXT  # larger text only where it still fits
        larger = max(factor, min(factor * LARGE_TEXT, room))
        self.header.set_large_text_possible(larger > factor or self.large_text)
        factor = round(larger if self.large_text else factor, 4)
        portrait = self.height() > self.width() * 1.1
        self.body.setDirection(QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight)
        self.body.setStretch(0, 6 if portrait else 11)
        self.body.setStretch(1, 5 if portrait else 9)
        if force or factor != self._scale:
            self._scale = factor
            self.setStyleSheet(scaled_stylesheet(load_stylesheet(), factor))
            for table in (self.cart.table, self.staff.table):
                table.set_row_height(round(58 * factor))
                table.setMinimumHeight(round(60 * factor))  # one row at least; the page gives it the rest
            self.suggestions.set_photo_size(round(64 * factor))
            self.weight.setMinimumHeight(round(64 * factor))
            self.banner.ensurePolished()  # hidden until its first notice: its font from this sheet, not the last one
            self.banner.setFixedHeight(self.banner.fontMetrics().lineSpacing() + round(10 * factor))  # + padding
            self.browse.tile_size = round(140 * factor)
        self._fit_tiles()

    def _fit_tiles(self) -> None:
        width = self.left_column.width() if self.left_column.width() > 10 else self.width() * 11 // 20
        per_tile = round(96 * self._scale)
        self.suggestions.set_visible_count(max(2, min(SuggestionPanel.COUNT, (width + 8) // (per_tile + 8) - 1)))

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt name: Tab goes round the page shown
        keyboard = getattr(self, "keyboard", None)
        return keyboard.tab(next) if keyboard is not None else super().focusNextPrevChild(next)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        if watched is self.left_column and event.type() == QEvent.Type.Resize:
            self._fit_tiles()
        return super().eventFilter(watched, event)

    @property
    def style_scale(self) -> float:
        return self._scale

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._apply_style()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.camera.start()
        self._apply_style()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.camera.stop()
        self.translations.switch("en")  # the translator is the application's: leave it as it was found
        super().closeEvent(event)
