"""``run_app(service, config)``: the windowed kiosk around a running :class:`CheckoutService`.

Qt is imported only when this module is, so ``checkout kiosk --headless`` never loads it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.services.api import CheckoutApi

__all__ = ["run_app", "build_window"]

log = logging.getLogger(__name__)


def build_window(service: CheckoutApi, config: Any = None, **options: Any):
    """The window and its bridge for ``service`` (no event loop, nothing started)."""
    from kiosk.ui.bridge import ServiceBridge
    from kiosk.ui.main_window import MainWindow

    bridge = ServiceBridge(service)
    store_name = getattr(config, "store_name", None) or "Self-checkout"
    options.setdefault("receipt_return_s", float(getattr(config, "receipt_countdown_s", 20.0)))
    window = MainWindow(service, bridge, store_name=store_name, **options)
    bridge.setParent(window)
    bridge.attach()
    return window, bridge


def run_app(service: CheckoutApi, config: Any = None, *, fullscreen: bool | None = None,
            size: tuple[int, int] | None = None) -> int:
    """Open the kiosk window on ``service``, start its live mode, run Qt until the window closes.

    ``fullscreen`` defaults to on, unless ``KIOSK_WINDOWED=1`` or ``size`` is given (a
    ``width, height`` window, e.g. to try 1024×768 on a desktop); ``checkout kiosk --windowed | --fullscreen
    [--size WxH]`` set them. Returns the exit code.
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("checkout-kiosk")
    window, bridge = build_window(service, config)
    if fullscreen is None:
        fullscreen = size is None and os.environ.get("KIOSK_WINDOWED", "") not in ("1", "true", "yes")
    if size is not None:
        window.resize(*size)
    else:
        window.resize(1280, 800)
    log.info("kiosk window %s, %dx%d", "full screen" if fullscreen else "windowed", window.width(), window.height())
    if fullscreen:
        window.showFullScreen()
    else:
        window.show()
    try:
        service.start()  # live mode (a no-op when the caller started it already)
        service.announce()  # the state sent before this window listened: model, cart, weight, staff
        bridge.sync_camera_status()
        code = app.exec()
    finally:
        service.stop()
        bridge.detach()
    return int(code)
