"""run_app: opens the window on the service, starts live mode, shows the state sent before it listened."""

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.ui.app import run_app
from kiosk.ui.main_window import MainWindow
from tests.ui.fakes import FakeCheckoutService


class LiveFake(FakeCheckoutService):
    def __init__(self):
        super().__init__()
        self.started = self.stopped = 0

    def start(self):
        self.started += 1

    def stop(self):
        self.stopped += 1


def test_run_app_runs_until_the_window_closes(qapp):
    service = LiveFake()
    service.choose("avocado")  # state from before the window existed
    seen = {}

    def close_window():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen["model"] = window.status.model_label.text()
        seen["rows"] = window.cart_model.rowCount()
        seen["pay"] = window.pay_button.text()
        window.close()
        qapp.quit()

    QTimer.singleShot(300, close_window)
    qapp.setQuitOnLastWindowClosed(False)  # one quit only: a second one would end the next test's loops
    try:
        assert run_app(service, None, fullscreen=False, size=(1024, 768)) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(True)
    assert service.started == 1 and service.stopped == 1
    assert seen == {"model": "Model v7 · fake-net", "rows": 1, "pay": "Pay ₹99.00"}
    assert service.listeners == []  # the bridge let go of the service
