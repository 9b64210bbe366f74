"""Small helpers shared by the widgets: touch buttons and product photos (with a placeholder)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget

from kiosk.ui.styles import REPO_ROOT

#: smallest height of anything a finger presses
TOUCH_MIN = 64


def touch_button(text: str, name: str, parent: QWidget | None = None) -> QPushButton:
    """A push button at least :data:`TOUCH_MIN` px high, named for the style sheet and tests."""
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setMinimumHeight(TOUCH_MIN)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a touch screen has no focus ring
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button


def label(text: str, name: str, parent: QWidget | None = None, *, wrap: bool = False) -> QLabel:
    widget = QLabel(text, parent)
    widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


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
