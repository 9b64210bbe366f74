"""The window's side of teaching products and of items the model does not know (:mod:`kiosk.ui.widgets.teach`).

:func:`install` is the main window's one hook: when the service can teach (``service.teaching``, a
:class:`kiosk.services.teaching.TeachDesk`) it adds a "Teach a new product" button to the staff page and the
``teach`` page; in every case it puts the "Not recognised — search or call staff" view in the checkout page, shown
instead of the suggestion tiles when the service says so (``SuggestionsReady.not_recognised``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from kiosk.errors import UserError
from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import ElidingButton, Translatable, as_touch_button
from kiosk.ui.widgets.teach import REFUSALS, NotRecognisedPanel, TeachPanel, service_text

__all__ = ["NotRecognisedView", "TeachController", "install"]

log = logging.getLogger(__name__)


class TeachController(QObject):
    """Between :class:`TeachPanel` and the service's ``teaching`` desk: photos from ``frames()`` (the newest camera
    frame), each judged as it is taken; the catalog row; Teach."""

    def __init__(self, window, teaching, frames: Callable[[], Any], burst_ms: int = 150) -> None:
        super().__init__(window)
        self.window, self.teaching, self._frames = window, teaching, frames
        self.panel = TeachPanel()
        self.photos: list[Any] = []
        self._marks: list[Any] = []  # each photo's fingerprint (teaching.fingerprint)
        self.refused: dict[str, int] = {}
        self._look_alike: tuple[str, ...] = ()  # what the last refusal took the photos for
        self._pending = 0
        self._timer = QTimer(self)
        self._timer.setInterval(burst_ms)
        self._timer.timeout.connect(self._take_one)
        p = self.panel
        p.lookup.connect(self._lookup)
        p.create.connect(self._create)
        p.take.connect(self.take)
        p.clear_photos.connect(self.clear)
        p.teach.connect(self._teach)
        p.teach_different.connect(self._teach_different)
        p.done.connect(window.back_to_staff)  # the staff page, while staff mode is open

    def open(self) -> None:
        self.clear()
        self.panel.reset()
        why = self.teaching.available
        if why:
            self.panel.show_message(mark("Teach", "Cannot teach here: {why}"), error=True, why=service_text(why))
        self.window.show_page("teach")

    # -- photos ----------------------------------------------------------------------------------------------------
    def take(self, count: int) -> None:
        """Take ``count`` photos from the camera, one every ``burst_ms`` (staff turns the item meanwhile)."""
        self._forget_look_alike()
        self._pending += count
        self._take_one()
        if self._pending:
            self._timer.start()

    def _take_one(self) -> None:
        if self._pending <= 0:
            self._timer.stop()
            return
        if not self.window.staff_open:  # a tick or tap after staff mode ended: the camera sees the shopper's items
            self.discard()
            return
        self._pending -= 1
        frame = self._frames()
        if frame is None:
            self._pending = 0
            self.panel.show_message(mark("Teach", "No camera frame yet: is the camera connected?"), error=True)
            return
        image = getattr(frame, "image", frame)
        verdict = self.teaching.check_frame(image)
        reason = verdict.reason
        if verdict.usable:  # counted once: a frame Teach would refuse as the same photo again is not a new photo
            seen = self.teaching.fingerprint(image)
            if any(self.teaching.same_photo(seen, other) for other in self._marks):
                reason = "duplicate"
            else:
                self.photos.append(image.copy())
                self._marks.append(seen)
        if reason:
            self.refused[reason] = self.refused.get(reason, 0) + 1
        self._show_count()

    def clear(self) -> None:
        self._pending = 0
        self._timer.stop()
        self.photos, self.refused, self._marks = [], {}, []
        self._forget_look_alike()
        self._show_count()

    def _forget_look_alike(self) -> None:
        """The offer to teach as a different product holds for the photos refused, not for new ones."""
        self._look_alike = ()
        self.panel.show_look_alike(None)

    def discard(self) -> None:
        """Staff mode ended (Done, the idle time-out, a changed account): the burst stops, and the photos, the SKU
        and the catalog row typed go — nothing of one session waits on the page for the next."""
        self.clear()
        self.panel.reset()

    def _show_count(self) -> None:
        self.panel.show_photos(len(self.photos), sum(self.refused.values()), self.refused,
                               self.teaching.policy.min_photos)

    # -- catalog and teaching ---------------------------------------------------------------------------------------
    def _lookup(self, sku: str) -> None:
        if not sku:
            self.panel.show_lookup(None)
            return
        text, exists = self.teaching.lookup(sku)
        self.panel.show_lookup(text, exists)
        self._show_count()

    def _create(self, fields: dict) -> None:
        from kiosk.domain.money import parse_inr

        try:
            paise = parse_inr(fields.pop("price")) if fields.get("price") else ""
            sku = self.teaching.create_sku({**fields, "price_paise": str(paise)})
        except (UserError, ValueError, TypeError) as exc:
            self.panel.show_service_message(str(exc), error=True)
            return
        self.panel.show_message(mark("Teach", "{sku} added to the catalog: now take its photos"), sku=sku)
        self._lookup(sku)

    def _teach(self, sku: str, different_from: tuple[str, ...] = ()) -> None:
        from kiosk.services.teaching import LookAlike, PhotosRefused

        self._forget_look_alike()
        try:
            result = self.teaching.teach(sku, list(self.photos), different_from)
        except LookAlike as exc:  # said in the staff member's language, the products named
            self.panel.show_message(mark("Teach", "{sku}: the till takes these photos for {names}, so they were not "
                                                  "taught. If it is a different product, say so below."),
                                    error=True, sku=sku, names=", ".join(exc.names))
            self._look_alike = exc.looks_like
            self.panel.show_look_alike(", ".join(exc.names))
            return
        except PhotosRefused as exc:
            self._photos_refused(sku, exc.photos)
            return
        except UserError as exc:
            self.panel.show_service_message(str(exc), error=True)
            return
        self.clear()
        self.panel.show_message(mark("Teach", "Taught: {summary}. It is suggested from the next placement on."),
                                summary=taught_text(result))


    def _photos_refused(self, sku: str, photos: dict) -> None:
        """Too few usable photos, or none new, in the staff member's language."""
        if photos.get("all_taught"):
            self.panel.show_message(mark("Teach", "{sku}: all {usable} usable photo(s) are taught here already, "
                                                  "nothing new to add"), error=True, sku=sku, usable=photos["usable"])
            return
        why = refusal_words(photos.get("refused", {}))
        self.panel.show_message(mark("Teach", "{sku}: {usable} usable photo(s) of {total}, at least {needed} needed "
                                              "(refused: {why})"), error=True, sku=sku, usable=photos["usable"],
                                total=photos["total"], needed=photos["needed"], why=why)

    def _teach_different(self, sku: str) -> None:
        """Staff confirmed the item is not what the till took its photos for: teach it as a different product."""
        self._teach(sku, tuple(self._look_alike))


def refusal_words(counts: dict[str, int]) -> str:
    """"2 blurred, 1 empty tray" (photos refused, by reason) in the current language."""
    return ", ".join(f"{n} {translate('Teach', REFUSALS[r]) if r in REFUSALS else r}"
                     for r, n in sorted(counts.items()))


def taught_text(result: Any) -> str:
    """What :meth:`kiosk.gallery.EnrollResult.summary` says, in the current language (its notes — a similar product
    already taught — as the gallery words them)."""
    refused = [v for v in result.verdicts if not v.usable]
    text = translate("Teach", "{sku}: enrolled {n} photo(s)").format(sku=result.sku, n=result.usable)
    if refused:
        counts: dict[str, int] = {}
        for v in refused:
            counts[v.reason] = counts.get(v.reason, 0) + 1
        why = refusal_words(counts)
        text += translate("Teach", ", refused {n} ({why})").format(n=len(refused), why=why)
    return text + "".join(f"; {note}" for note in result.notes)


class NotRecognisedView(QObject):
    """Swaps the suggestion tiles for :class:`NotRecognisedPanel` while the item on the tray is not recognised."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = NotRecognisedPanel()
        self.placement_id: str | None = None
        parent = window.suggestions.parentWidget().layout()
        parent.insertWidget(parent.indexOf(window.suggestions) + 1, self.panel, 3)
        self.panel.hide()
        window.bridge.suggestions_ready.connect(self._on_suggestions)
        window.bridge.placement_cleared.connect(self._on_cleared)
        self.panel.search.connect(window.open_search)
        self.panel.call_staff.connect(self._call_staff)

    def _on_suggestions(self, event: Any) -> None:
        shown = bool(getattr(event, "not_recognised", False))
        self.placement_id = event.placement_id if shown else None
        self.panel.setVisible(shown)
        self.window.suggestions.setVisible(not shown)

    def _on_cleared(self, event: Any) -> None:
        if self.placement_id is not None and event.placement_id == self.placement_id:
            self.placement_id = None
            self.panel.hide()
            self.window.suggestions.show()

    def _call_staff(self) -> None:
        if hasattr(self.window.service, "call_help"):
            self.window._intent("call_help", "item not recognised")
        else:
            self.window.open_staff()


class TeachButton(Translatable, ElidingButton):
    """The staff page's "Teach a new product": a touch button (:func:`~kiosk.ui.widgets.common.touch_button`) that
    follows the language."""

    def __init__(self) -> None:
        super().__init__("")
        as_touch_button(self, "staffTeach")
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(translate("Teach", "Teach a new product"))


def install(window) -> tuple[TeachController | None, NotRecognisedView | None]:
    """The hook :class:`~kiosk.ui.main_window.MainWindow` calls once its pages exist."""
    # a step area that shows "Not recognised — search or call staff" itself needs no panel of ours
    unknown = None if getattr(window.suggestions, "shows_not_recognised", False) else NotRecognisedView(window)
    teaching = getattr(window.service, "teaching", None)
    if teaching is None:
        return None, unknown
    controller = TeachController(window, teaching, window.bridge.frame_provider())
    window._add_page("teach", controller.panel)
    button = TeachButton()
    window.staff.add_action(button, needs_line=False)  # the actions' row: its own row pushed alerts off 800×600
    button.clicked.connect(controller.open)

    def locked(event: Any) -> None:
        if event.unlocked:
            return
        controller.discard()
        if window.page == "teach":
            window.show_page("checkout")

    window.bridge.staff_mode_changed.connect(locked)
    # whichever way staff mode ended first moves the page (the lock event, or the window's own check of the session,
    # which may come before it), leaving the page with staff mode shut discards what was on it
    window.stack.currentChanged.connect(lambda _index: None if window.staff_open else controller.discard())
    return controller, unknown
