"""The live camera picture: polls a frame provider on a QTimer (~15 fps) and paints the newest
BGR frame scaled to fit, with the camera's state written over it when it is not live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.ui.i18n import mark, translate

__all__ = ["CameraView", "bgr_to_qimage"]


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a BGR (or grey) uint8 array."""
    if image.dtype != np.uint8:
        raise ValueError(f"camera frames must be uint8, got {image.dtype}")
    if image.ndim == 2:
        h, w = image.shape
        fmt = QImage.Format.Format_Grayscale8
    elif image.ndim == 3 and image.shape[2] == 3:
        h, w = image.shape[:2]
        fmt = QImage.Format.Format_BGR888
    else:
        raise ValueError(f"camera frames must be HxW or HxWx3, got shape {image.shape}")
    image = np.ascontiguousarray(image)
    return QImage(image.data, w, h, image.strides[0], fmt).copy()


class CameraView(QWidget):
    """Shows the newest frame of ``frame_provider`` (a non-blocking callable returning a frame
    with ``.image``, a bare array, or ``None`` when there is nothing new)."""

    STARTING = mark("Camera", "Starting camera…")
    NO_CAMERA = mark("Camera", "No camera")

    def __init__(self, frame_provider: Callable[[], Any] | None = None, *, fps: float = 15.0, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraView")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._provider = frame_provider
        self._image: QImage | None = None
        self._source: Any = None
        self._overlay = self.STARTING if frame_provider is not None else self.NO_CAMERA
        self.frames_shown = 0
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(1000 / fps)))
        self._timer.timeout.connect(self.poll)

    # -- feeding ------------------------------------------------------------------------
    def start(self) -> None:
        if self._provider is not None:
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def polling(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> None:
        """Take the newest frame from the provider, if any (never blocks)."""
        if self._provider is None:
            return
        frame = self._provider()
        if frame is not None and frame is not self._source:  # a peek returns the same frame until a new one
            self.show_frame(frame)

    def show_frame(self, frame: Any) -> None:
        self._source = frame
        image = getattr(frame, "image", frame)
        self._image = bgr_to_qimage(image)
        self.frames_shown += 1
        if self._overlay == self.STARTING:
            self._overlay = None
        self.update()

    def set_overlay(self, text: str | None) -> None:
        """Text written over the picture (camera lost, reconnecting…); ``None`` when live."""
        self._overlay = text or None
        self.update()

    @property
    def overlay(self) -> str | None:
        return self._overlay

    @property
    def image(self) -> QImage | None:
        return self._image

    # -- painting -----------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(480, 360)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1c2530"))
        if self._image is not None:
            target = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            rect = QRect(0, 0, target.width(), target.height())
            rect.moveCenter(self.rect().center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, self._image)
        if self._overlay:
            font = QFont(self.font())
            font.setPixelSize(max(14, min(self.height() // 14, 40)))
            font.setBold(True)
            painter.setFont(font)
            band = QRect(0, self.height() // 2 - font.pixelSize(), self.width(), font.pixelSize() * 2)
            painter.fillRect(band, QColor(0, 0, 0, 150))
            painter.setPen(QColor("#ffffff"))
            text = translate("Camera", self._overlay) if self._overlay in (self.STARTING, self.NO_CAMERA) \
                else self._overlay
            painter.drawText(band.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignCenter,
                             painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, band.width() - 16))
        painter.end()
