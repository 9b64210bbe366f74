"""End to end, offscreen: the kiosk window on the real CheckoutService reading a scale over a pseudo-terminal (the
MT-SICS simulator speaking real bytes, the serial driver reading them), under a retail scale's legal settings
(e = 5 g, Min = 20 e = 100 g, bag tare 5 g).

Zero on an empty tray, the Bag tare, motion and overload shown and never priced, the net priced, and the load that
priced one banana not reused for the next."""

from __future__ import annotations

import pytest

from kiosk.recognition.recognizer import Recognition, Suggestion
from tests.ui.helpers import tap


class SilentRecognizer:
    model_version = 3
    auto_add_threshold = 0.9

    def recognize(self, image):
        return Recognition([Suggestion("banana", 0.5)], {"inference": 1.0}, self.model_version)

    def close(self):
        pass


@pytest.fixture
def rig(tmp_path, qtbot, demo_catalog_db):
    from kiosk.config import KioskConfig
    from kiosk.scale import SimulatedScale, open_scale
    from kiosk.scale.simulator import ScaleSimulator
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    config = KioskConfig.from_dict({
        "catalog": str(demo_catalog_db), "store": str(tmp_path / "sales.sqlite"),
        "captures": str(tmp_path / "captures"), "store_name": "Green Basket",
        "weighing": {"division_g": 5, "min_divisions": 20, "capacity_g": 15000, "containers": {"bag": 5}},
    })
    sim = ScaleSimulator("mt-sics", SimulatedScale(0))
    sim.start()
    scale = open_scale(f"{sim.uri}&timeout=0.3")
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(demo_catalog_db), store=store,
                              recognizer_holder=SilentRecognizer(), scale=scale)
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    yield service, window, sim
    service.close()
    sim.stop()


def shows(window, weight: str, state: str) -> bool:
    return window.weight.weight_label.text() == weight and window.weight.state_label.text() == state


def rows(window) -> list[tuple[str, str]]:
    m = window.cart_model
    return [(m.index(r, 0).data(), m.index(r, 1).data()) for r in range(m.rowCount())]


def test_zero_bag_tare_motion_overload_and_a_stale_load_over_a_pty(qtbot, rig):
    service, window, sim = rig
    load = sim.scale

    # an empty tray drifted to 10 g: shown (under Min, never priced), then the Zero key zeroes it over the wire
    load.set_weight(10)
    service.poll_scale()
    qtbot.waitUntil(lambda: shows(window, "0.010 kg", "Under minimum"))
    tap(qtbot, window.weight.zero_button)
    assert b"Z" in sim.commands
    qtbot.waitUntil(lambda: shows(window, "0.000 kg", "Empty"))
    drift = 10  # the simulated platter keeps its 10 g; the scale reads from the new zero

    def put(grams: int, stable: bool = True) -> None:
        load.set_weight(grams + drift, stable)

    # the Bag button: the bag's 5 g preset tare; an empty tray now reads a net below zero, never priced
    tap(qtbot, window.weight.bag_button)
    service.poll_scale()
    qtbot.waitUntil(lambda: window.weight.caption.text() == "NET · tare 0.005 kg (bag)")
    assert window.weight.bag_button.text() == "No bag" and window.weight.state_label.text() == "Net below 0"

    # banana chosen: it waits; moving and overloaded loads are shown and not priced
    assert service.choose("banana") is None
    qtbot.waitUntil(lambda: window.weight.awaiting)
    put(400, stable=False)
    service.poll_scale()
    qtbot.waitUntil(lambda: window.weight.state_label.text() == "Settling…")
    load.set_status("overload")
    service.poll_scale()
    qtbot.waitUntil(lambda: shows(window, "—", "Too heavy"))
    assert window.cart_model.rowCount() == 0 and service.awaiting_weight is not None

    # settled in its bag at 555 g gross: priced on the 550 g net
    load.set_status(None)
    put(555)
    service.poll_scale()
    qtbot.waitUntil(lambda: rows(window) == [("Banana", "0.550 kg")])
    assert not window.weight.awaiting

    # the same load never prices the next banana: it waits until the tray changes
    assert service.choose("banana") is None
    service.poll_scale()
    qtbot.waitUntil(lambda: window.weight.state_label.text() == "Take item off")
    service.poll_scale()
    assert len(rows(window)) == 1 and service.awaiting_weight is not None
    put(0)
    service.poll_scale()
    put(705)
    service.poll_scale()
    qtbot.waitUntil(lambda: rows(window) == [("Banana", "0.550 kg"), ("Banana", "0.705 kg")])
    # the bag's tare served one item only
    assert window.weight.caption.text() == "Scale" and window.weight.bag_button.text() == "Bag"
    lines = service.cart_view().lines
    assert [x.grams for x in lines] == [550, 705]
