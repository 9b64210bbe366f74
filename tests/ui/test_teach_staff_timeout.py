"""Staff walk away from the Teach page, like a real store: signed in, Teach open, some photos taken or the catalog row
half typed, then nobody comes back. The idle time-out on the real service and window (the demo bundle, a gallery, a
clock the test moves): the shopper's screen comes back saying staff mode is locked, a burst under way stops and what
was taken or typed is gone (a late camera tick or tap takes nothing and writes nothing), the next sign-in finds an
empty Teach page; what staff did add — a catalog row, a taught product — is in the audit log with who did it."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import pytest

from tests.services.conftest import Clock
from tests.ui.helpers import tap

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "var" / "demo" / "bundle"  # the demo bundle (`make demo-bundle`): it exports embeddings
PIN = "2468"
TIMEOUT_S = 120.0


@pytest.fixture
def teach_till(tmp_path, qtbot):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.bundles.active import ActiveModel
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.services.teaching import open_gallery
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window
    from tests.services.demo_bundle import build_demo_bundle

    db = tmp_path / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         gallery=str(tmp_path / "gallery"), staff_pin_hash=hash_pin(PIN), weight_check=False,
                         weight_rerank=False, staff_timeout_s=TIMEOUT_S)
    clock = Clock()
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(db), store=store, scale=None, clock=clock,
                              recognizer_holder=ActiveModel(Recognizer.load(build_demo_bundle(), threads=1)),
                              gallery=open_gallery(config.gallery))
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    turning = [cv2.imread(str(p)) for p in sorted((REPO / "assets" / "demo" / "train" / "banana").glob("*.jpg"))]
    frames = itertools.cycle(turning)  # staff turns a banana on the tray: every frame another photo
    window.teach._frames = lambda: next(frames)
    assert service.teaching.available is None
    yield service, window, clock
    window.close()
    service.close()


def sign_in_and_open_teach(qtbot, window) -> None:
    tap(qtbot, window.staff_button)
    qtbot.keyClicks(window.pin.edit, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff"
    tap(qtbot, window.findChild(type(window.staff_button), "staffTeach"))
    assert window.page == "teach"


def fill_catalog_row(qtbot, panel) -> None:
    qtbot.keyClicks(panel.sku_edit, "mango-alphonso")
    assert panel.form.isVisible()
    qtbot.keyClicks(panel.name_edit, "Alphonso mango")
    qtbot.keyClicks(panel.price_edit, "45.50")
    qtbot.keyClicks(panel.hsn_edit, "0804")


def assert_teach_page_empty(teach) -> None:
    panel = teach.panel
    assert teach.photos == [] and teach.refused == {} and not teach._timer.isActive()
    assert [e.text() for e in (panel.sku_edit, panel.name_edit, panel.price_edit, panel.hsn_edit)] == [""] * 4
    assert panel.count.text().startswith("0 good photo(s)") and panel.message.text() == ""


def test_a_burst_under_way_at_the_time_out_takes_nothing_more(teach_till, qtbot):
    """Staff tap "Take 10 photos" and the session times out two photos in: the burst stops there (the camera's next
    frames — the shopper's items by then — are not taken) and the two are discarded."""
    service, window, clock = teach_till
    sign_in_and_open_teach(qtbot, window)
    teach = window.teach
    qtbot.keyClicks(teach.panel.sku_edit, "banana")
    tap(qtbot, teach.panel.burst_button)
    qtbot.waitUntil(lambda: len(teach.photos) >= 2, timeout=5000)
    clock.advance(TIMEOUT_S + 1)
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=3000)
    qtbot.wait(1700)  # what was left of the burst (8 × 150 ms) has had its time
    assert not service.staff_unlocked
    assert_teach_page_empty(teach)
    assert service.teaching.enrolled() == []


def test_walking_away_mid_form_then_signing_in_again(teach_till, qtbot):
    """The catalog row half typed and two photos taken, staff walk away: the shopper's screen says staff mode is
    locked, nothing reached the catalog, the gallery or the audit log but the sign-out, a shopper's tap on Staff asks
    for the PIN, a late tap on Take photo or Teach takes and writes nothing, and the next sign-in finds Teach empty."""
    service, window, clock = teach_till
    sign_in_and_open_teach(qtbot, window)
    teach, panel = window.teach, window.teach.panel
    fill_catalog_row(qtbot, panel)
    tap(qtbot, panel.take_button)
    tap(qtbot, panel.take_button)
    assert len(teach.photos) == 2
    clock.advance(TIMEOUT_S + 1)
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=3000)
    assert window.banner.isVisible() and window.banner.text() == "Staff mode locked"
    assert_teach_page_empty(teach)

    teach.take(1)  # a tap or camera tick that arrives late
    teach._teach("banana")
    panel.create.emit({"sku": "mango-alphonso", "name": "Alphonso mango", "price": "45.50", "sold_by": "unit",
                       "gst_percent": "5", "hsn": "0804"})
    qtbot.wait(50)
    assert window.page == "checkout" and teach.photos == []
    assert service.teaching._shelf.find("mango-alphonso") is None and service.teaching.enrolled() == []
    kinds = [r["kind"] for r in service.store.audit_rows()]
    assert kinds[-2:] == ["staff.signin", "staff.signout"] and not service.staff_unlocked

    tap(qtbot, window.staff_button)  # the shopper: the way in is the PIN
    assert window.page == "pin"
    tap(qtbot, window.pin.cancel_button)
    sign_in_and_open_teach(qtbot, window)
    assert_teach_page_empty(teach)
    assert not panel.form.isVisible()


def test_what_staff_added_before_walking_away_is_audited_and_stays(teach_till, qtbot):
    """The catalog row made and a product taught, then staff walk away: both stay (the row is a product on sale from
    then on, searchable at the price typed) and the audit log says who added what."""
    service, window, clock = teach_till
    sign_in_and_open_teach(qtbot, window)
    teach, panel = window.teach, window.teach.panel
    fill_catalog_row(qtbot, panel)
    tap(qtbot, panel.create_button)
    assert "added to the catalog" in panel.message.text()
    panel.sku_edit.clear()
    qtbot.keyClicks(panel.sku_edit, "banana")
    tap(qtbot, panel.burst_button)
    qtbot.waitUntil(lambda: panel.teach_button.isEnabled() and not teach._timer.isActive(), timeout=5000)
    tap(qtbot, panel.teach_button)
    assert panel.message.text().startswith("Taught: banana: enrolled"), panel.message.text()
    clock.advance(TIMEOUT_S + 1)
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=3000)

    assert "mango-alphonso" in [v.sku for v in service.search("alphonso")]
    assert service.teaching.enrolled() == ["banana"]
    rows = {r["kind"]: r for r in service.store.audit_rows()}
    added, taught = rows["staff.catalog_add"], rows["staff.teach"]
    assert added["actor"] == "staff" and added["detail"]["sku"] == "mango-alphonso"
    assert (added["detail"]["price_paise"], added["detail"]["name"]) == (4550, "Alphonso mango")
    assert taught["actor"] == "staff" and taught["detail"]["sku"] == "banana"
    assert taught["detail"]["photos"] >= service.teaching.policy.min_photos
    assert rows["staff.signout"]["detail"]["reason"] == "idle"
