"""The window's side of "Not recognised today" (:mod:`kiosk.services.not_recognised`): a "Not recognised today (N)"
button on the staff page opens the list of today's items nobody labelled (``unlabelled`` page,
:class:`~kiosk.ui.widgets.not_recognised.UnlabelledListPanel`); "Pick the product…" opens the catalog search
(``unlabelled_search``, a :class:`~kiosk.ui.widgets.search.SearchPanel` with the item's tray photo) and the SKU picked
becomes the placement's staff label; "Not a product" keeps it out of training. The list is read again after each.

:func:`install` is the main window's one hook; a service without the intents (an older one) gets no button.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton

from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import ElidingButton, Translatable, as_touch_button
from kiosk.ui.widgets.not_recognised import UnlabelledListPanel
from kiosk.ui.widgets.search import SearchPanel

__all__ = ["PAGES", "UnlabelledController", "install"]

PAGES = ("unlabelled", "unlabelled_search")


class UnlabelledButton(Translatable, ElidingButton):
    """The staff page's "Not recognised today (N)"."""

    def __init__(self) -> None:
        super().__init__("")
        as_touch_button(self, "staffUnlabelled")
        self.count = 0
        self.retranslate()

    def set_count(self, n: int) -> None:
        self.count = n
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(translate("Unlabelled", "Not recognised today ({n})").format(n=self.count))


class UnlabelledController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = UnlabelledListPanel()
        self.search = SearchPanel(window._search)
        self.button = UnlabelledButton()
        self.target: str | None = None  # the placement being labelled
        window._add_page("unlabelled", self.panel)
        window._add_page("unlabelled_search", self.search)
        self.button.clicked.connect(self.open)
        self.panel.back.connect(window.back_to_staff)
        self.panel.pick.connect(self._pick)
        self.panel.not_a_product.connect(self._not_a_product)
        self.search.chosen.connect(self._chosen)
        self.search.cancelled.connect(self._back_to_list)
        window.page_changed.connect(lambda page: self.refresh_count() if page == "staff" else None)

    def _items(self) -> list[Any]:
        ok, views = self.window._intent("staff_not_recognised_today")
        return list(views) if ok else []

    def refresh_count(self) -> None:
        if self.window.staff_open:
            ok, views = self.window._intent("staff_not_recognised_today", notify=False)
            self.button.set_count(len(views) if ok else 0)

    def open(self) -> None:
        self.panel.show_items(self._items())
        self.button.set_count(len(self.panel.views))
        self.window.show_page("unlabelled")

    def _back_to_list(self) -> None:
        if self.window.staff_open:
            self.open()
        else:
            self.window.back_to_staff()

    def _pick(self, placement_id: str) -> None:
        view = next((v for v in self.panel.views if v.placement_id == placement_id), None)
        if view is None:
            return
        self.target = placement_id
        self.search.reset(translate("Unlabelled", "Staff: what was this item? ({time})").format(time=view.time),
                          photo=view.image_path)
        self.window.show_page("unlabelled_search")

    def _chosen(self, sku: str) -> None:
        target, self.target = self.target, None
        if target is not None:
            self.window._intent("staff_label_placement", target, sku)
        self._back_to_list()

    def _not_a_product(self, placement_id: str) -> None:
        self.window._intent("staff_not_a_product", placement_id)
        self._back_to_list()


def _place_button(window, button: QPushButton) -> None:
    """In the staff actions' row, after "Teach a new product" when the page has it: a row of its own pushed the staff
    page's alerts off an 800×600 screen."""
    window.staff.add_action(button, needs_line=False)


def install(window) -> UnlabelledController | None:
    """The hook :class:`~kiosk.ui.main_window.MainWindow` calls once its pages (and Teach's) exist."""
    if not hasattr(window.service, "staff_not_recognised_today"):
        return None
    controller = UnlabelledController(window)
    _place_button(window, controller.button)

    def locked(event: Any) -> None:
        if event.unlocked:
            controller.refresh_count()
            return
        controller.target = None
        if window.page in PAGES:
            window.show_page("checkout")

    window.bridge.staff_mode_changed.connect(locked)
    return controller
