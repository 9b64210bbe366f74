"""The window's keyboard: a shopper on an accessible keypad (arrows, Enter, Back, Help — what US self-checkouts
offer under the ADA) or a keyboard, and staff at the PIN pad, can do everything a tap does.

:func:`install` is the main window's one hook. The controls themselves take Tab, Enter, Space and the arrows
(:mod:`kiosk.ui.widgets.common`); here is what belongs to the window:

* **Tab order**: Tab and Shift+Tab go round the header's buttons and the page shown, in the order the page shows
  them (a question over the page: the header and the question's buttons only); never to a hidden page, never stuck.
* **Where the focus starts**: each page, when shown, puts it on its first sensible control (the first tile, the
  search field, the first way to pay, the staff PIN …) while the keys are in use; with touch only, a page puts it
  on its text field if it has one (typing goes there) and nowhere else, so no focus ring shows on a touch screen.
  The first key pressed with nothing focused (arrows, Enter, Space, Delete) starts at the page's first control.
* **Escape** (or the keypad's Back) is the page's Back / Cancel: on a question the safe answer ("Keep it", never
  "Remove"), on the payment page only while no payment is under way, nothing on the checkout page (the cart is never
  given up by a key), on the staff page nothing (Done locks it). **F1** (the keypad's Help key) is the Help button.

"Keys in use" (the window's ``keysInUse`` property) starts with a navigation key (Tab, an arrow, Enter, Escape …)
pressed in the window and ends with a tap. A scanner's keys never start it: this filter is installed before the
wedge scanner's, which takes a scan's keys first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QWidget

from kiosk.ui.widgets.common import ARROWS, ENTER_KEYS, focus_order

__all__ = ["KeyboardAccess", "install"]

#: keys that say someone is working the kiosk by keyboard or keypad (typing letters does not)
NAVIGATION = {Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Escape, Qt.Key.Key_Back, Qt.Key.Key_Delete,
              Qt.Key.Key_F1, Qt.Key.Key_Help, *ARROWS, *ENTER_KEYS}
#: keys that, with nothing focused, start at the page's first control
STARTERS = {*ARROWS, *ENTER_KEYS, Qt.Key.Key_Space, Qt.Key.Key_Delete}
_TAPS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)


class KeyboardAccess(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        window.setProperty("keysInUse", False)
        # before the wedge scanner's filter, which (installed later) sees keys first; an application filter also sees
        # a key that no control took on its way up to the window
        QApplication.instance().installEventFilter(self)
        for key in (Qt.Key.Key_Escape, Qt.Key.Key_Back):
            QShortcut(QKeySequence(key), window, self.back)
        for key in (Qt.Key.Key_F1, Qt.Key.Key_Help):
            QShortcut(QKeySequence(key), window, self.help)
        window.page_changed.connect(self.page_shown)
        window.suggestions.state_changed.connect(self._step_changed)

    # -- keys in use -----------------------------------------------------------------------------------------------
    @property
    def keys_in_use(self) -> bool:
        return bool(self.window.property("keysInUse"))

    def _in_window(self, obj: QObject) -> bool:
        return obj.isWidgetType() and obj.window() is self.window

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        kind = event.type()
        if kind == QEvent.Type.KeyPress:
            if watched is self.window and event.key() in STARTERS and not self._on_control():
                self.focus_first()  # the first key with nothing focused starts at the page's first control
                return True
            if event.key() in NAVIGATION and not self.keys_in_use and self._in_window(watched):
                self.window.setProperty("keysInUse", True)
        elif kind in _TAPS and self.keys_in_use and self._in_window(watched):
            self.window.setProperty("keysInUse", False)  # a tap: touch again, no focus ring left on a button
            focus = QApplication.focusWidget()
            if focus is not None and not isinstance(focus, QLineEdit):
                self._page().setFocus(Qt.FocusReason.MouseFocusReason)
        return False

    # -- where the focus goes --------------------------------------------------------------------------------------
    def _page(self) -> QWidget:
        return self.window.stack.currentWidget()

    def _question(self) -> bool:
        return self.window.confirm.isVisible()

    def stops(self) -> list[QWidget]:
        """The Tab order now: the header's buttons, then the question's buttons or the page's controls."""
        return focus_order(self.window.header) + focus_order(self.window.confirm if self._question() else self._page())

    def first_control(self) -> QWidget | None:
        """The page's (or the question's) first sensible control; a page says so with ``first_control()``, else
        its first text field, else its first control."""
        if self._question():
            return self.window.confirm.first_control()
        page = self._page()
        chooser = self._checkout_first if page.property("page") == "checkout" else getattr(page, "first_control", None)
        chosen = chooser() if chooser is not None else None
        if chosen is not None and chosen.isVisible() and chosen.isEnabled():
            return chosen
        controls = focus_order(page)
        return next((w for w in controls if isinstance(w, QLineEdit)), controls[0] if controls else None)

    def _checkout_first(self) -> QWidget | None:
        w = self.window
        first = w.suggestions.first_control() if w.suggestions.isVisible() else None
        return first or (w.pay_button if w.pay_button.isEnabled() else w.search_button)

    def _on_control(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and focus in self.stops()

    def focus_first(self) -> None:
        target = self.first_control()
        if target is not None:
            target.setFocus(Qt.FocusReason.TabFocusReason)

    def tab(self, forward: bool) -> bool:
        """Tab / Shift+Tab (and Qt moving the focus off a widget being hidden): the next stop round the page."""
        stops = self.stops()
        if not self.keys_in_use:  # a widget hid under a touch shopper: no focus ring, typing goes to the field
            self.page_shown(self.window.page)
            return True
        if not stops:
            return True
        focus = QApplication.focusWidget()
        if focus in stops:
            target = stops[(stops.index(focus) + (1 if forward else -1)) % len(stops)]
        elif focus is not None and not (focus.isVisible() and focus.isEnabled()):
            target = self.first_control()  # Qt moves the focus off a control being hidden or disabled: not far
            if target is None:  # nothing on the page can be used now (a payment under way): the page holds it
                self._page().setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        else:
            target = (self.first_control() or stops[0]) if forward else stops[-1]
        target.setFocus(Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason)
        return True

    def page_shown(self, _name: str = "") -> None:
        """A page (or a question) came up: keys in use — its first control; touch — its text field, else the page
        itself (nothing shows a focus ring)."""
        target = self.first_control()
        if self.keys_in_use and target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        elif isinstance(target, QLineEdit):
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        elif not isinstance(QApplication.focusWidget(), QLineEdit) or not QApplication.focusWidget().isVisible():
            self._page().setFocus(Qt.FocusReason.OtherFocusReason)

    def _step_changed(self, state: str) -> None:
        """New suggestions (or "not recognised") while the keys are in use: the focus goes to them."""
        if (state in ("choose", "unknown") and self.keys_in_use and self.window.page == "checkout"
                and not self._question()):
            self.focus_first()

    # -- Escape and Help -------------------------------------------------------------------------------------------
    def _back_button(self) -> QAbstractButton | None:
        w, page = self.window, self.window.page
        if page == "payment" and (w.payment.busy or w.payment.waiting is not None):
            return None  # a payment under way: Escape never leaves it
        buttons: dict[str, Any] = {"search": w.search.back_button, "browse": w.browse.back_button,
                                   "payment": w.payment.cancel_button, "pin": w.pin.cancel_button,
                                   "price": w.price.cancel_button, "receipts": w.receipts.back_button,
                                   "receipt": w.receipt.new_button if w.receipt.for_staff else None}
        return buttons.get(page)

    def back(self) -> None:
        """Escape / Back: the safe answer to a question, else the page's Back or Cancel (see the module docstring)."""
        self.window.setProperty("keysInUse", True)
        if self._question():
            self.window.confirm.cancel()
            return
        button = self._back_button()
        if button is not None and button.isVisible() and button.isEnabled():
            button.click()

    def help(self) -> None:
        """F1 / the keypad's Help key: the header's Help button (call staff, or cancel the call), where it shows."""
        self.window.setProperty("keysInUse", True)
        button = self.window.help_button
        if button.isVisible() and button.isEnabled():
            button.click()


def install(window) -> KeyboardAccess:
    return KeyboardAccess(window)
