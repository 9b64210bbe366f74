import pytest

from tests.ui.fakes import FakeCheckoutService


@pytest.fixture
def service():
    return FakeCheckoutService()


@pytest.fixture
def window(qtbot, service):
    """The real kiosk window on the fake service, 1024×768, shown offscreen; payment is instant."""
    from kiosk.ui.app import build_window

    win, _bridge = build_window(service, None, payment_ms=0, receipt_return_s=0, camera_fps=50)
    qtbot.addWidget(win)
    win.resize(1024, 768)
    win.show()
    qtbot.waitExposed(win)
    service.announce()
    qtbot.waitUntil(lambda: win.status.model_label.text().startswith("Model v7"))
    return win
