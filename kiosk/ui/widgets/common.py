"""Small helpers shared by the widgets: touch buttons, labels that elide instead of growing the window (the full
text as their tooltip), product photos (with a placeholder), and :class:`Translatable` (a widget's ``retranslate()``
runs again when the language changes).

Keyboard and accessible keypad (an ADA keypad: arrows, Enter, Back, Help): every control takes the focus by Tab
(:data:`KEY_FOCUS`), never by a tap, so a tap on an on-screen key leaves the focus in the search field;
:class:`KeyButton` (touch buttons, tiles) is pressed by Enter as by Space and moves to the nearest button of its
group (its parent widget: a keypad, a row of tiles, the header) by the arrow keys; a keypad is one Tab stop
(:func:`arrow_group`), :class:`KeyList` picks its row by Enter. :func:`focus_order` is a page's Tab order (the order
its layouts show it in). :func:`announce` has a screen reader say a notice."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent, QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QWidget,
)

from kiosk.ui.styles import REPO_ROOT

#: smallest height of anything a finger presses
TOUCH_MIN = 64
#: how a control takes the keyboard focus: by Tab (then arrows, Enter, Space), never by a tap
KEY_FOCUS = Qt.FocusPolicy.TabFocus
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
#: arrow key → (dx, dy)
ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
_PLAIN = Qt.KeyboardModifier.NoModifier | Qt.KeyboardModifier.KeypadModifier


def plain(event) -> bool:
    """A key pressed without Shift, Ctrl, Alt or Meta (the number pad's Enter and arrows count)."""
    return not event.modifiers() & ~_PLAIN


def keys_in_use(widget: QWidget) -> bool:
    """The person at the kiosk uses the keyboard or keypad (the window's ``keysInUse``, kept by
    :mod:`kiosk.ui.keyboard`): then a page or a question puts the focus on its first control."""
    return bool(widget.window().property("keysInUse"))


def arrow_group(container: QWidget, *, roving: bool = False) -> None:
    """Arrow keys move between the buttons whose parent is ``container`` (they do so anyway); ``roving``: the group
    is one Tab stop, the key used last (the keyboard's 40 keys are not 40 stops on the way to Back)."""
    container.setProperty("arrowGroup", "roving" if roving else "group")
    if roving:
        for i, button in enumerate(_members(container)):
            button.setFocusPolicy(KEY_FOCUS if i == 0 else Qt.FocusPolicy.NoFocus)


def _members(group: QWidget | None, *, shown: bool = False) -> list[QAbstractButton]:
    if group is None:
        return []
    roving = group.property("arrowGroup") == "roving"
    return [b for b in group.findChildren(QAbstractButton, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if (roving or b.focusPolicy() & KEY_FOCUS) and (not shown or (b.isVisible() and b.isEnabled()))]


def arrow_target(widget: QWidget, key: int) -> QAbstractButton | None:
    """The nearest button of ``widget``'s group in the arrow's direction (left/right: in its row), else None."""
    dx, dy = ARROWS[key]
    group = widget.parentWidget()
    if group is not None and group.layout() is not None:
        group.layout().activate()  # tiles just shown have their places now, not at the next paint
    here = widget.geometry()
    best, best_score = None, None
    for other in _members(group, shown=True):
        if other is widget:
            continue
        there = other.geometry()
        offset = there.center() - here.center()
        along = offset.x() * dx + offset.y() * dy
        if along <= 0 or (dx and not (there.top() < here.bottom() and there.bottom() > here.top())):
            continue
        score = along + 3 * abs(offset.y() if dx else offset.x())
        if best_score is None or score < best_score:
            best, best_score = other, score
    return best


class KeyButton:
    """Mixed into a button (before the Qt class): Enter presses it (Space does already), the arrow keys move to the
    nearest button of its group; in a roving group (a keypad) the key last used is the group's Tab stop."""

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt name
        key = event.key()
        if key in ENTER_KEYS and plain(event):
            if not event.isAutoRepeat() and self.isEnabled():
                self.click()
            event.accept()
            return
        if key in ARROWS and plain(event):
            target = arrow_target(self, key)
            if target is not None:
                target.setFocus(Qt.FocusReason.TabFocusReason)
            event.accept()  # at the end of a row the focus stays (no jump to another part of the page)
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:  # noqa: N802
        group = self.parentWidget()
        if group is not None and group.property("arrowGroup") == "roving":
            for button in _members(group):
                button.setFocusPolicy(KEY_FOCUS if button is self else Qt.FocusPolicy.NoFocus)
        super().focusInEvent(event)


class KeyList(QListWidget):
    """A list of big rows (search results, receipts): a Tab stop (never taken by a tap); Enter or Space emits
    ``entered(item)`` for the current row, as a tap's ``itemClicked`` does; Up on the first row goes to ``above``
    (the search field) when set."""

    entered = Signal(QListWidgetItem)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(KEY_FOCUS)
        self.setTabKeyNavigation(False)
        self.above: QWidget | None = None

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt name
        key, item = event.key(), self.currentItem()
        if (key in ENTER_KEYS or key == Qt.Key.Key_Space) and plain(event):
            if item is not None and not event.isAutoRepeat():
                self.entered.emit(item)
            event.accept()
            return
        if key == Qt.Key.Key_Up and self.above is not None and self.currentRow() <= 0:
            self.above.setFocus(Qt.FocusReason.BacktabFocusReason)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:  # noqa: N802 - a row is current as soon as the list has the focus
        if self.currentItem() is None and self.count():
            self.setCurrentRow(0)
        super().focusInEvent(event)


def focus_order(root: QWidget) -> list[QWidget]:
    """The controls under ``root`` a Tab reaches, in the order its layouts show them (rows left to right, columns top
    to bottom): visible, enabled, taking the focus by Tab; nothing inside a control (a table's scroll bars)."""
    out: list[QWidget] = []

    def visit(widget: QWidget) -> None:
        if not widget.isVisible() or not widget.isEnabled():
            return
        if widget is not root and widget.focusPolicy() & KEY_FOCUS and widget.focusProxy() is None:
            out.append(widget)
            return
        for child in _children_in_order(widget):
            visit(child)

    visit(root)
    return out


def _children_in_order(widget: QWidget) -> list[QWidget]:
    ordered: list[QWidget] = []

    def walk(layout: QLayout) -> None:
        for i in range(layout.count()):
            item = layout.itemAt(i)
            if item.widget() is not None:
                ordered.append(item.widget())
            elif item.layout() is not None:
                walk(item.layout())

    if widget.layout() is not None:
        walk(widget.layout())
    seen = set(map(id, ordered))
    rest = [c for c in widget.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if id(c) not in seen and not c.isWindow()]
    return ordered + rest


try:  # Qt 6.8+: a message for the screen reader to say (PySide6 6.11 in .venv has it)
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - an older Qt: an Alert event (the reader reads the widget's name)
    QAccessibleAnnouncementEvent = None


def _notify(event: QAccessibleEvent) -> None:
    QAccessible.updateAccessibility(event)


def announce(widget: QWidget, text: str, *, assertive: bool = False) -> None:
    """Have a screen reader say ``text`` (about ``widget``): at once for an error (``assertive``), else when it has
    finished what it says now. Does nothing while no assistive technology listens."""
    if not text:
        return
    if QAccessibleAnnouncementEvent is not None:
        event = QAccessibleAnnouncementEvent(widget, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if assertive else
                            QAccessible.AnnouncementPoliteness.Polite)
    else:  # pragma: no cover
        event = QAccessibleEvent(widget, QAccessible.Event.Alert)
    _notify(event)


class Translatable:
    """Mixed into a widget (before the Qt class): its ``retranslate()`` runs on every language change."""

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:  # pragma: no cover - each widget writes its own texts
        pass


class FitsItsText:
    """Mixed into a label or button (before the Qt class) that shows its text fitted to its width: ``text()`` is
    always the whole text, ``_refit()`` (the widget's own) decides what is shown, again on every resize and font or
    style change. What is shown is the Qt class's own ``text()``."""

    _full = ""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        text = str(text or "")
        if text != self._full:
            self._full = text
            self.updateGeometry()  # the size it asks for follows the whole text
        self._refit()

    def text(self) -> str:
        return self._full

    def _refit(self) -> None:  # pragma: no cover - each widget fits its own way
        raise NotImplementedError

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._refit()

    def changeEvent(self, event) -> None:  # noqa: N802 - a new font (style sheet) changes what fits
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._refit()


def plain_tip(text: str) -> str:
    """``text`` for a tooltip, shown as the plain text it is: Qt takes a tooltip that looks like HTML for HTML (a staff
    name ``<s>Asha</s>`` struck out, ``<img src=…>`` fetched), so such a one is escaped."""
    from PySide6.QtGui import Qt as GuiQt  # the text functions live in QtGui's Qt namespace

    text = str(text or "")
    return GuiQt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNoWrap) if GuiQt.mightBeRichText(text) \
        else text


class ElidedLabel(FitsItsText, QLabel):
    """One line that never asks for more width than it gets: text that does not fit ends in "…" and the whole text
    is the tooltip. ``text()`` is always the whole text, shown as plain text (never Qt's rich text: a staff name or a
    notice quoting one may look like HTML)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        self._own_tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - a tooltip of its own wins over the elided text
        self._own_tip = tip or ""
        super().setToolTip(plain_tip(self._own_tip))

    def shown_text(self) -> str:
        return QLabel.text(self)

    @property
    def elided(self) -> bool:
        return QLabel.text(self) != self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2 * self.margin()
        return QSize(width + 2, hint.height())

    def _refit(self) -> None:
        margins = self.contentsMargins()
        room = self.width() - margins.left() - margins.right() - 2 * self.margin() - self.indent() * 0
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(room, 0)) \
            if room > 0 else self._full
        QLabel.setText(self, shown)
        QLabel.setToolTip(self, plain_tip(self._own_tip or (self._full if shown != self._full else "")))


class ClampedLabel(FitsItsText, QLabel):
    """Text wrapped onto at most ``lines`` lines, the last one ending in "…" when it does not fit (the whole text
    is the tooltip); never asks for more width than it gets. Plain text, never rich text."""

    def __init__(self, text: str = "", name: str = "", lines: int = 2, parent=None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setObjectName(name)
        self.lines = lines
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setText(text)

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - the whole text as a tooltip is plain text too
        super().setToolTip(plain_tip(tip))

    @property
    def elided(self) -> bool:
        return QLabel.text(self).replace("\n", " ") != self._full

    def _lines_height(self) -> int:
        """The height of ``lines`` lines as QLabel draws them: the last line's descent, and Devanagari's taller
        fallback font (vowel signs below the line) when the text has any."""
        sample = "Ág" + (" कुृ" if any("\u0900" <= c <= "\u097f" for c in self._full) else "")
        box = QRect(0, 0, 1 << 20, 1 << 20)
        return self.fontMetrics().boundingRect(box, 0, "\n".join([sample] * self.lines)).height()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self._lines_height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().horizontalAdvance(self._full), self._lines_height())

    def _refit(self) -> None:
        width = max(self.width(), 1)
        metrics = self.fontMetrics()
        words, out = self._full.split(), []
        while words and len(out) < self.lines:
            current = words.pop(0)
            while words and metrics.horizontalAdvance(f"{current} {words[0]}") <= width:
                current = f"{current} {words.pop(0)}"
            out.append(current)
        if words:
            out[-1] = f"{out[-1]} {' '.join(words)}"
        if out:
            out[-1] = metrics.elidedText(out[-1], Qt.TextElideMode.ElideRight, width)
            out = [metrics.elidedText(x, Qt.TextElideMode.ElideRight, width) for x in out[:-1]] + out[-1:]
        QLabel.setText(self, "\n".join(out))
        self.setToolTip(self._full if self.elided else "")


class ElidingButton(FitsItsText, KeyButton, QPushButton):
    """A touch button whose text ends in "…" when it does not fit (the whole text is the tooltip) instead of
    widening the window — or shows ``short_text`` instead, when set and it fits ("Pay" for "Pay ₹1,173.00": better
    than a cut amount). ``text()`` is always the whole text, and what a screen reader says unless
    :meth:`set_spoken` gave it other words (⌫: "Delete last character")."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.short_text = ""
        self.spoken = ""
        self.setText(text)

    def set_spoken(self, name: str, description: str = "") -> None:
        """What a screen reader says for this button instead of its text (a glyph), and more about what it does."""
        self.spoken = name
        self.setAccessibleName(name or self._full)
        self.setAccessibleDescription(description)

    def shown_text(self) -> str:
        return QPushButton.text(self)

    @property
    def elided(self) -> bool:
        return QPushButton.text(self) != self._full

    def _padding(self) -> int:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = ""
        empty = self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, QSize(0, 0), self)
        return empty.width()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(min(super().minimumSizeHint().width(), self._padding() + 24), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(self._padding() + self.fontMetrics().horizontalAdvance(self._full) + 4, hint.height())

    def _refit(self) -> None:
        room = self.width() - self._padding()
        shown = self._full
        if self.width() > 0 and self.fontMetrics().horizontalAdvance(self._full) > room:
            short = self.short_text
            shown = short if short and self.fontMetrics().horizontalAdvance(short) <= room else \
                self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(room, 0))
        QPushButton.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")
        self.setAccessibleName(self.spoken or self._full)


def touch_button(text: str, name: str, parent: QWidget | None = None) -> ElidingButton:
    """A push button at least :data:`TOUCH_MIN` px high, named for the style sheet and tests; its text is elided
    (whole text as the tooltip) when the screen is too narrow for it. Tab, Enter, Space and the arrows work it
    (:class:`KeyButton`); a tap never moves the focus to it."""
    return as_touch_button(ElidingButton(text, parent), name)


def as_touch_button(button: QPushButton, name: str) -> QPushButton:
    """``button`` named ``name``, at least :data:`TOUCH_MIN` px high, worked by the keys, as wide as its row gives it
    (:func:`touch_button`'s set-up, for a button class of its own)."""
    button.setObjectName(name)
    button.setMinimumHeight(TOUCH_MIN)
    button.setFocusPolicy(KEY_FOCUS)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button


def label(text: str, name: str, parent: QWidget | None = None, *, wrap: bool = False) -> QLabel:
    """A label of plain text (never Qt's rich text: what it shows may quote a staff name or a product name)."""
    widget = QLabel(text, parent)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


def line(text: str, name: str, parent: QWidget | None = None) -> ElidedLabel:
    """One line of text that elides (whole text as the tooltip) rather than widen the window."""
    widget = ElidedLabel(text, parent)
    widget.setObjectName(name)
    return widget


def repolish(widget: QWidget) -> None:
    """Apply the style sheet again after a dynamic property (``level``, ``state`` …) changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def resolve_image(path: str | Path | None) -> Path | None:
    """An existing image file for a catalog image path (absolute, or relative to the working
    directory or the repository), else ``None``."""
    if not path:
        return None
    candidate = Path(path)
    for p in ((candidate,) if candidate.is_absolute() else (Path.cwd() / candidate, REPO_ROOT / candidate)):
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=256)
def _load(path: str, side: int) -> QPixmap | None:
    pixmap = QPixmap(path)
    if pixmap.isNull():
        return None
    return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def placeholder_pixmap(name: str, side: int) -> QPixmap:
    """A grey tile with the product's initials, for a product without a usable photo."""
    pixmap = QPixmap(QSize(side, side))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#dfe4ea"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(0, 0, side, side), side / 8, side / 8)
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    initials = "".join(w[0].upper() for w in words[:2]) or "?"
    font = QFont()
    font.setPixelSize(max(8, side // 3))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#7a8694"))
    painter.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return pixmap


def product_pixmap(image_path: str | Path | None, name: str, side: int) -> tuple[QPixmap, bool]:
    """``(pixmap, is_photo)``: the product photo scaled into ``side``×``side``, or a placeholder."""
    found = resolve_image(image_path)
    if found is not None:
        pixmap = _load(str(found), side)
        if pixmap is not None:
            return pixmap, True
    return placeholder_pixmap(name, side), False
