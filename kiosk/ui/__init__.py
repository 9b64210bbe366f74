"""The Qt kiosk (PySide6): window, widgets, the cart table model and the bridge that turns
service events into Qt signals on the GUI thread. Nothing here decides checkout rules; see
:mod:`kiosk.services.checkout`. Import :func:`kiosk.ui.app.run_app` to open the window."""

from kiosk.ui import qt_compat as _qt_compat

_qt_compat.install()  # before any widget emits a signal (see kiosk/ui/qt_compat.py)
