"""The step area under the camera: what the kiosk saw and the one next step, as a small state machine.

States (``SuggestionPanel.state``), each with one obvious next step and the same height, so nothing on the page
moves when it changes:

* ``idle`` — "Place an item on the tray" (or, with the camera lost, "find it with Search or browse");
* ``choose`` — up to four tiles ordered by score, each with a confidence cue (three bars and a word; the scores
  are calibrated probabilities, so "Likely" means right about 7 times in 10 or more), and a fixed
  "None of these — search or browse" tile;
* ``weigh`` — the tapped tile highlighted, "Put … on the scale" / "Hold still — weighing …" and a live price
  preview (the same pricing as the bill: :func:`kiosk.domain.pricing.weighed_line_total`);
* ``added`` — "✓ … added · ₹…", the tile marked; a tap on another tile corrects it; then the next item;
* ``unknown`` — "Not recognised — search or call staff" with both buttons, instead of tiles;
* ``held`` — the weight did not fit the item: "Please wait: staff is on the way".

Every transition replaces the title, the detail line and the tiles, so nothing stale stays up; a screen reader
is told the new title (:func:`~kiosk.ui.widgets.common.announce`), and each tile's accessible name says the item,
its price, the confidence words and whether it is added or being weighed. The panel decides nothing about the
checkout: it shows what it is given and emits ``chosen(sku)``, ``find_requested()``, ``help_requested()`` and
``state_changed(state)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from kiosk.domain.money import format_inr
from kiosk.domain.pricing import weighed_line_total
from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import (
    KEY_FOCUS,
    TOUCH_MIN,
    ClampedLabel,
    KeyButton,
    Translatable,
    announce,
    label,
    line,
    product_pixmap,
    repolish,
    touch_button,
)
from kiosk.ui.widgets.weight import format_grams

__all__ = ["CONFIDENCE_BANDS", "ClampedLabel", "ConfidenceCue", "NoneTile", "SuggestionButton", "SuggestionPanel",
           "confidence_band"]

_C = "Suggestions"
#: (lowest calibrated score, band, words): what a tile says about how sure the model is
CONFIDENCE_BANDS = ((0.70, "high", mark("Suggestions", "Likely")), (0.30, "medium", mark("Suggestions", "Maybe")),
                    (0.0, "low", mark("Suggestions", "Unlikely")))


def confidence_band(score: float) -> tuple[str, str]:
    """``(band, words)`` for a calibrated score: high ≥ 0.70, medium ≥ 0.30, low below."""
    for lowest, band, words in CONFIDENCE_BANDS:
        if score >= lowest:
            return band, words
    return CONFIDENCE_BANDS[-1][1:]


class ConfidenceCue(QWidget):
    """Three bars, filled up to the band (high 3, medium 2, low 1), green / amber / grey."""

    COLOURS = {"high": "#1b873f", "medium": "#c98a00", "low": "#8a96a3"}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("confidenceCue")
        self.band = "low"
        self.setFixedSize(24, 14)

    def set_band(self, band: str) -> None:
        self.band = band
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        filled = {"high": 3, "medium": 2}.get(self.band, 1)
        w, h = self.width(), self.height()
        bar = (w - 4) / 3
        for i in range(3):
            painter.setBrush(QColor(self.COLOURS[self.band] if i < filled else "#d6dde6"))
            painter.setPen(Qt.PenStyle.NoPen)
            top = h * (2 - i) / 3 * 0.6
            painter.drawRoundedRect(QRectF(i * (bar + 2), top, bar, h - top), 2, 2)
        painter.end()


class SuggestionButton(Translatable, KeyButton, QPushButton):
    """A tile: product photo, the name (two lines at most), the price and the confidence cue; "✓ Added" in the
    cue's place when the item is on the bill (never over the photo, however small larger text makes it), a thick
    border while it is the one being weighed (``chosen``). Its accessible name says all of it in words."""

    PHOTO = 72

    def __init__(self, index: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"suggestion{index}")
        self.setProperty("role", "suggestion")
        self.setFocusPolicy(KEY_FOCUS)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.suggestion: Any = None
        self.has_photo = False
        self.with_cue = True
        self._side = 0
        self._base = self.PHOTO
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.setSpacing(1)
        self.photo = label("", "suggestionPhoto")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = ClampedLabel("", "suggestionName", 2)
        self.price_label = line("", "suggestionPrice")
        self.price_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cue_row = QHBoxLayout()
        cue_row.setSpacing(3)
        self.cue = ConfidenceCue()
        self.cue_label = line("", "suggestionCue")
        cue_row.addStretch(1)
        cue_row.addWidget(self.cue, 0, Qt.AlignmentFlag.AlignVCenter)
        cue_row.addWidget(self.cue_label, 0)
        self.badge = label("", "suggestionBadge")
        cue_row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        cue_row.addStretch(1)
        self.cue_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        column.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.name_label, 1)
        column.addWidget(self.price_label)
        column.addLayout(cue_row)
        for child in (self.photo, self.name_label, self.price_label, self.badge, self.cue, self.cue_label):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.badge.hide()
        self.retranslate()
        self.set_photo_size(self.PHOTO)
        self.set_suggestion(None)

    def retranslate(self) -> None:
        self.badge.setText(translate("Suggestions", "✓ Added"))
        if self.suggestion is not None:
            self._show_cue()
            self._name_it()

    def _name_it(self) -> None:
        """The accessible name: the item, its price, how sure the model is (when the cue shows) and its state."""
        parts = [self.suggestion.name, self.price_label.text()]
        if self.with_cue and not self.added:
            parts.append(self.cue_label.text())
        if self.added:
            parts.append(translate("Suggestions", "added to your bill"))
        elif self.chosen:
            parts.append(translate("Suggestions", "being weighed"))
        self.setAccessibleName(", ".join(p for p in parts if p))

    def set_photo_size(self, side: int) -> None:
        """Smallest photo edge in px (the window scales it with the screen); a taller tile shows a bigger one."""
        self._base = side
        self.setMinimumHeight(max(TOUCH_MIN, side // 2 + self._text_height()))
        self._fit_photo()

    def _text_height(self) -> int:
        return (self.name_label.fontMetrics().lineSpacing() * 2 + self.price_label.fontMetrics().lineSpacing()
                + max(16, self.cue_label.fontMetrics().lineSpacing(), self.badge.sizeHint().height()) + 18)

    def _fit_photo(self) -> None:
        room = min(self.height() - self._text_height(), self.width() - 16, 3 * self._base)
        side = max(24, room)
        if side != self._side or self.photo.width() != side:
            self._side = side
            self.photo.setFixedSize(side, side)
            if self.suggestion is not None:
                self.photo.setPixmap(product_pixmap(self.suggestion.image_path, self.suggestion.name, side)[0])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit_photo()

    def set_suggestion(self, suggestion: Any, *, added: bool = False, chosen: bool = False,
                       cue: bool = True) -> None:
        """Show a ``SuggestionView`` (``None`` empties the tile). ``added``: on the bill; ``chosen``: tapped and
        being weighed; ``cue``: show the model's confidence (not for a search or browse pick)."""
        self.suggestion = suggestion
        self.with_cue = cue
        if suggestion is None:
            self.photo.clear()
            self.name_label.setText("")
            self.price_label.setText("")
            self.has_photo = False
            self.setEnabled(False)
            self.setVisible(False)
            added = chosen = False
        else:
            pixmap, self.has_photo = product_pixmap(suggestion.image_path, suggestion.name, self._side)
            self.photo.setPixmap(pixmap)
            self.name_label.setText(suggestion.name)
            per_kg = str(getattr(suggestion, "sold_by", "")).endswith("weight")
            price = suggestion.price_text
            self.price_label.setText(price if not per_kg or "kg" in price else f"{price}/kg")
            self.setEnabled(True)
            self.setVisible(True)
            self._show_cue()
        self.setProperty("added", added)
        self.setProperty("chosen", chosen)
        repolish(self)
        self.badge.setVisible(added)
        for w in (self.cue, self.cue_label):
            w.setVisible(self.with_cue and not added)
        if suggestion is not None:
            self._name_it()

    def _show_cue(self) -> None:
        band, words = confidence_band(float(getattr(self.suggestion, "score", 0.0)))
        self.cue.set_band(band)
        self.cue_label.setText(translate(_C, words))
        self.setProperty("band", band)
        for w in (self.cue, self.cue_label):
            w.setVisible(self.with_cue and not self.added)

    @property
    def added(self) -> bool:
        return bool(self.property("added"))

    @property
    def chosen(self) -> bool:
        return bool(self.property("chosen"))


class NoneTile(Translatable, KeyButton, QPushButton):
    """The fixed way out next to the tiles: "None of these?" / "Search or browse"."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("noneOfThese")
        self.setProperty("role", "noneTile")
        self.setFocusPolicy(KEY_FOCUS)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 8, 6, 8)
        self.icon = label("⌕", "noneIcon")
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = ClampedLabel("", "noneTitle", 2)
        self.hint = ClampedLabel("", "noneHint", 2)
        for w in (self.icon, self.title, self.hint):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        column.addStretch(1)
        column.addWidget(self.icon)
        column.addWidget(self.title)
        column.addWidget(self.hint)
        column.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Suggestions", "None of these?"))
        self.hint.setText(translate("Suggestions", "Search or browse"))
        self.setAccessibleName(f"{self.title.text()} {self.hint.text()}")
        self._fit()

    def _fit(self) -> None:
        """A short tile (a small screen, larger text) drops the icon, then the hint's second line, rather than cut
        the title: the words say what the tile does."""
        column = self.layout()
        margins, spacing = column.contentsMargins(), column.spacing()
        for w in (self.icon, self.title, self.hint):
            w.ensurePolished()
        room = self.height() - margins.top() - margins.bottom()
        title = self.title.minimumSizeHint().height()
        hint_line = self.hint.fontMetrics().lineSpacing()
        self.icon.setVisible(room >= self.icon.sizeHint().height() + title + 2 * hint_line + 2 * spacing)
        lines = 2 if room >= title + 2 * hint_line + spacing else 1
        if lines != self.hint.lines:
            self.hint.lines = lines
            self.hint.updateGeometry()
            self.hint.setText(self.hint.text())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802 - a new style sheet (larger text) changes what fits
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:
            QTimer.singleShot(0, self, self._fit)  # once the labels have their new fonts


class SuggestionPanel(Translatable, QWidget):
    """The step area (see the module docstring); emits ``chosen(sku)``, ``find_requested()`` (None of these,
    Search or browse) and ``help_requested()`` (Call staff)."""

    chosen = Signal(str)
    find_requested = Signal()
    help_requested = Signal()
    state_changed = Signal(str)
    COUNT = 4
    #: the panel shows the "not recognised" state itself (kiosk.ui.teach then adds no panel of its own)
    shows_not_recognised = True

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("suggestionPanel")
        self.state = "idle"
        self.placement_id: Any = None
        self.auto_added_line_id: str | None = None
        self.camera_ok = True
        self._shown: list[Any] = []
        self._focus: dict[str, Any] = {}  # the item being weighed or just added: sku, name, price, amount
        self._reason = ""
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.title = line("", "suggestionTitle")
        self.detail = line("", "suggestionDetail")
        column.addWidget(self.title)
        column.addWidget(self.detail)
        self.stack = QStackedWidget()
        column.addWidget(self.stack, 1)
        self.stack.addWidget(self._tiles_page())
        self.stack.addWidget(self._message_page())
        self.retranslate()
        self._set_state("idle")

    def _tiles_page(self) -> QWidget:
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.buttons: list[SuggestionButton] = []
        for i in range(self.COUNT):
            button = SuggestionButton(i, self)
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # the tiles never move: an empty slot keeps its place
            button.setSizePolicy(policy)
            button.clicked.connect(lambda _=False, b=button: self._tapped(b))
            self.buttons.append(button)
            row.addWidget(button, 1)
        self.none_tile = NoneTile(self)
        self.none_tile.clicked.connect(self.find_requested)
        row.addWidget(self.none_tile, 1)
        return page

    def _message_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("stepMessage")
        column = QVBoxLayout(page)
        column.setContentsMargins(8, 4, 8, 4)
        self.message = ClampedLabel("", "stepMessageText", 2)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.find_button = touch_button("", "stepFind")
        self.help_button = touch_button("", "stepHelp")
        self.find_button.clicked.connect(self.find_requested)
        self.help_button.clicked.connect(self.help_requested)
        row.addWidget(self.find_button)
        row.addWidget(self.help_button)
        column.addStretch(1)
        column.addWidget(self.message)
        column.addLayout(row)
        column.addStretch(1)
        return page

    # -- what the tiles do -----------------------------------------------------------------------
    def _tapped(self, button: SuggestionButton) -> None:
        if button.suggestion is not None:
            self.chosen.emit(button.suggestion.sku)

    def visible_skus(self) -> list[str]:
        return [b.suggestion.sku for b in self.buttons if b.suggestion is not None]

    def set_visible_count(self, count: int) -> None:
        """How many suggestion tiles fit the width (the window says; 4 at 1024 px and up)."""
        for i, button in enumerate(self.buttons):
            button.setProperty("slot_hidden", i >= count)
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(i < count)  # a slot that does not fit gives its width to the others
            button.setSizePolicy(policy)
        self._render_tiles()

    def set_photo_size(self, side: int) -> None:
        for button in self.buttons:
            button.set_photo_size(side)

    # -- states ----------------------------------------------------------------------------------
    def show_suggestions(self, placement_id: Any, suggestions: Sequence[Any], auto_added_line_id: str | None,
                         added_sku: str | None = None, not_recognised: bool = False) -> None:
        """A newly placed item: its suggestions (best first), or "not recognised" (none, or the model says so)."""
        self.placement_id = placement_id
        self.auto_added_line_id = auto_added_line_id
        self._shown = list(suggestions)
        self._focus = {}
        if not_recognised or not self._shown:
            self._set_state("unknown")
            return
        if auto_added_line_id is not None:
            sku = added_sku if added_sku is not None else self._shown[0].sku
            view = next((s for s in self._shown if s.sku == sku), self._shown[0])
            self._focus = {"sku": view.sku, "name": view.name, "auto": True}
            self._set_state("added")
        else:
            self._set_state("choose")

    def show_choosing(self, sku: str) -> None:
        """The shopper tapped ``sku``: highlighted until the service says what became of it."""
        view = next((s for s in self._shown if s.sku == sku), None)
        self._focus = {"sku": sku, "name": view.name if view is not None else sku}
        self._render_tiles()

    def show_weighing(self, sku: str, name: str, price_paise: int = 0, price_text: str = "") -> None:
        self._focus = {"sku": sku, "name": name, "price": int(price_paise or 0), "price_text": price_text,
                       "grams": None, "moving": False}
        self._set_state("weigh")

    def update_weight(self, grams: int | None, moving: bool) -> None:
        """The live net weight (``None``: nothing priceable on the scale) while an item is being weighed."""
        if self.state == "weigh":
            self._focus.update(grams=grams, moving=moving)
            self._render_text()

    def show_added(self, sku: str, name: str, amount_text: str = "", *, picked: Any = None) -> None:
        """The item is on the bill. ``picked``: its view when it came from search or browse (shown as the tile)."""
        if picked is not None:
            self._shown = [picked]
        self._focus = {"sku": sku, "name": name, "amount": amount_text}
        self._set_state("added")

    def set_held(self, call: Any) -> None:
        """The weight did not fit the item (``StaffCalled``), or the call ended (``None``)."""
        if call is None:
            if self.state == "held":
                self.clear()
            return
        self._focus = {"sku": call.sku, "name": call.name}
        self._reason = call.reason
        self._set_state("held")

    def set_camera_ok(self, ok: bool) -> None:
        self.camera_ok = ok
        if self.state == "idle":
            self._render_text()

    def clear(self, title: str | None = None) -> None:
        """Back to waiting for the next item (every tile, banner-like line and highlight goes)."""
        self.placement_id = None
        self.auto_added_line_id = None
        self._shown, self._focus = [], {}
        self._set_state("idle")
        if title is not None:
            self.title.setText(title)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.setProperty("state", state)
        for widget in (self, self.title, self.detail):  # the title's colour follows the panel's state
            repolish(widget)
        self.stack.setCurrentIndex(0 if state in ("choose", "weigh", "added") else 1)
        self._render_tiles()
        self._render_text()
        announce(self, self.title.text())
        self.state_changed.emit(state)

    def first_control(self) -> QWidget | None:
        """Where the keyboard starts in the step area: the first tile, else Search or browse, else Call staff."""
        shown = (*self.buttons, self.none_tile) if self.stack.currentIndex() == 0 else (self.find_button,
                                                                                          self.help_button)
        return next((w for w in shown if w.isVisibleTo(self) and w.isEnabled()), None)

    # -- drawing ---------------------------------------------------------------------------------
    def _render_tiles(self) -> None:
        shown = self._shown if self.state in ("choose", "weigh", "added") else []
        focus = self._focus.get("sku")
        slots = [b for b in self.buttons if not b.property("slot_hidden")]
        for i, button in enumerate(slots):
            s = shown[i] if i < len(shown) else None
            is_focus = s is not None and s.sku == focus
            button.set_suggestion(s, added=is_focus and self.state == "added",
                                  chosen=is_focus and self.state in ("choose", "weigh"),
                                  cue=s is not None and float(getattr(s, "score", 1.0)) < 1.0)
        for b in self.buttons:
            if b.property("slot_hidden"):
                b.hide()

    def retranslate(self) -> None:
        self.find_button.setText(translate("Suggestions", "Search or browse"))
        self.help_button.setText(translate("Suggestions", "Call staff"))
        self._render_text()

    def _render_text(self) -> None:
        title, detail, message = self._texts()
        self.title.setText(title)
        self.detail.setText(detail)
        self.message.setText(message)
        self.help_button.setVisible(self.state == "unknown" or (self.state == "idle" and not self.camera_ok))
        self.find_button.setVisible(self.state in ("idle", "unknown"))

    def _texts(self) -> tuple[str, str, str]:
        f, state = self._focus, self.state
        name = f.get("name", "")
        if state == "choose":
            sure = bool(self._shown) and float(getattr(self._shown[0], "score", 0.0)) >= CONFIDENCE_BANDS[0][0]
            title = translate("Suggestions", "Is it this? Tap your item to add it") if sure else \
                translate("Suggestions", "Not sure what this is — tap your item")
            return title, translate("Suggestions", "Not listed? Tap “None of these” to search or browse"), ""
        if state == "weigh":
            return self._weigh_texts(name)
        if state == "added":
            amount = f.get("amount", "")
            if f.get("auto"):
                return (translate("Suggestions", "✓ Added {name}. Not right? Tap the correct item").format(name=name),
                        translate("Suggestions", "Then place the next item on the tray"), "")
            title = translate("Suggestions", "✓ {name} added · {amount}") if amount else \
                translate("Suggestions", "✓ {name} added")
            return (title.format(name=name, amount=amount),
                    translate("Suggestions", "Place the next item. Not right? Tap the correct item"), "")
        if state == "unknown":
            return (translate("Suggestions", "Not recognised — search or call staff"),
                    translate("Suggestions", "The camera does not know this item"),
                    translate("Suggestions", "Find it by name or picture, or call staff to help"))
        if state == "held":
            return (translate("Suggestions", "Please wait: staff is on the way"),
                    translate("Suggestions", "Staff must check {name}").format(name=name),
                    translate("Suggestions", "The weight on the tray does not fit {name}. Staff will check it.").format(
                        name=name))
        if not self.camera_ok:
            return (translate("Suggestions", "The camera is not working"),
                    translate("Suggestions", "Find your item by name or picture"),
                    translate("Suggestions", "Use Search or browse, or call staff"))
        return (translate("Suggestions", "Place an item on the tray"),
                translate("Suggestions", "One item at a time, then wait for it"),
                translate("Suggestions", "No barcode? No problem: the camera recognises the item"))

    def _weigh_texts(self, name: str) -> tuple[str, str, str]:
        f = self._focus
        grams, price = f.get("grams"), f.get("price", 0)
        per_kg = translate("Suggestions", "{price}/kg").format(price=format_inr(price)) if price else \
            f.get("price_text", "")
        if not grams:
            return translate("Suggestions", "Put {name} on the scale").format(name=name), per_kg, ""
        preview = format_inr(weighed_line_total(price, grams)) if price else ""
        title = translate("Suggestions", "Hold still — weighing {name}…") if f.get("moving") else \
            translate("Suggestions", "Weighing {name}…")
        detail = translate("Suggestions", "{weight} × {per_kg} = about {amount}").format(
            weight=format_grams(grams), per_kg=per_kg, amount=preview) if preview else format_grams(grams)
        return title.format(name=name), detail, ""
