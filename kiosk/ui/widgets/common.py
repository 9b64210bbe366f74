"""Small helpers shared by the widgets: touch buttons, labels that elide instead of growing the window (the full
text as their tooltip), product photos (with a placeholder), and :class:`Translatable` (a widget's ``retranslate()``
runs again when the language changes)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget

from kiosk.ui.styles import REPO_ROOT

#: smallest height of anything a finger presses
TOUCH_MIN = 64


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


class ElidingButton(FitsItsText, QPushButton):
    """A touch button whose text ends in "…" when it does not fit (the whole text is the tooltip) instead of
    widening the window — or shows ``short_text`` instead, when set and it fits ("Pay" for "Pay ₹1,173.00": better
    than a cut amount). ``text()`` is always the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.short_text = ""
        self.setText(text)

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
        self.setAccessibleName(self._full)


def touch_button(text: str, name: str, parent: QWidget | None = None) -> QPushButton:
    """A push button at least :data:`TOUCH_MIN` px high, named for the style sheet and tests; its text is elided
    (whole text as the tooltip) when the screen is too narrow for it."""
    button = ElidingButton(text, parent)
    button.setObjectName(name)
    button.setMinimumHeight(TOUCH_MIN)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a touch screen has no focus ring
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
