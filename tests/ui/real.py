"""The kiosk window on the real CheckoutService (the demo catalog, a real sales store, a simulated scale, a scripted
recogniser, optionally a payment terminal and a clock the test moves), for tests that need the service's own rules
(a PIN lockout, a terminal's decline, the staff session's idle time-out)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.test_integration import ScriptedRecognizer

REPO = Path(__file__).resolve().parents[2]
PIN = "2468"


def make_real(tmp_path, qtbot, *, terminal=None, clock=None, receipt_return_s: float = 0, payment_ms: int = 0,
              **config):
    """``(service, window, recognizer, scale)``, the window shown at 1024×768; ``config``: more KioskConfig fields.
    The caller closes the window and the service."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.scale.simulated import SimulatedScale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    db = tmp_path / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         staff_pin_hash=hash_pin(PIN), store_name="Green Basket", **config)
    recognizer, scale = ScriptedRecognizer(), SimulatedScale(0)
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(db), store=store, recognizer_holder=recognizer,
                              scale=scale, terminal=terminal, clock=clock)
    window, _ = build_window(service, config, payment_ms=payment_ms, receipt_return_s=receipt_return_s)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    return service, window, recognizer, scale


def milk_to_payment(qtbot, service, window, recognizer) -> None:
    """A shopper places a milk, taps its suggestion and then Pay: the payment page is open, the bill one line."""
    from tests.ui.helpers import tap
    from tests.ui.test_integration import place

    recognizer.answer = [("arla-standard-milk", 0.6), ("oatly-oat-milk", 0.2)]
    place(service, "07_arla-standard-milk.jpg")
    qtbot.waitUntil(lambda: window.suggestions.state == "choose")
    tap(qtbot, window.suggestions.buttons[0])
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.pay_button)
    assert window.page == "payment"
