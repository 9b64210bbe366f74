"""Every screen state of the kiosk window, grabbed to PNG: ``tools/screenshot.py --states`` (``make screenshots``).

The real :class:`~kiosk.services.checkout.CheckoutService` on the demo catalog, a throw-away sales store, the real
trigger fed the demo camera's photos, a simulated scale set by hand and an ESC/POS "printer" writing to a file; only
the recogniser is scripted (it answers what each state needs: sure, unsure, wrong). The window is driven through the
states a shopper and staff meet, in each language, and each is grabbed as ``<lang>-<nn>-<state>.png``; the PNGs
are made small with pngquant when it is installed (``apt-get install pngquant``), else Pillow's palette.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
CAMERA = DEMO / "camera"
PIN = "2468"


class ScriptedRecognizer:
    """Answers ``answer`` (``[(sku, score), …]``) for every placement; the auto-add threshold is the bundle's."""

    model_version = 7
    auto_add_threshold = 0.9

    def __init__(self) -> None:
        from kiosk.recognition.recognizer import Recognition, Suggestion

        self._recognition, self._suggestion = Recognition, Suggestion
        self.answer: list[tuple[str, float]] = []

    def recognize(self, image):
        return self._recognition([self._suggestion(s, p) for s, p in self.answer], {"inference": 1.0},
                                 self.model_version)

    def close(self) -> None:
        pass


def open_service(work: Path):
    """The service of the states: (service, config, recogniser, scale)."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.scale import SimulatedScale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore

    db = work / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, DEMO / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(work / "sales.sqlite"), captures=str(work / "captures"),
                         staff_pin_hash=hash_pin(PIN), kiosk_id="K7", store_name="Green Basket · Koramangala",
                         store_address="80 Feet Road, Koramangala, Bengaluru 560034", gstin="29ABCDE1234F1Z5",
                         store_phone="080 4123 4567", receipt_printer=f"escpos:{work / 'printer.prn'}",
                         weight_check=False, remove_approval_above_paise=30000)
    recognizer, scale = ScriptedRecognizer(), SimulatedScale(0)
    store = SalesStore.open(config.store, kiosk_id="K7", store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(db), store=store, recognizer_holder=recognizer, scale=scale)
    return service, config, recognizer, scale


def tray_frame(name: str) -> np.ndarray:
    """A camera frame: one of the demo camera's, or a product photo laid on the empty tray."""
    if (CAMERA / name).exists():
        return cv2.imread(str(CAMERA / name))
    frame = cv2.imread(str(CAMERA / "00_empty.jpg"))
    item = cv2.imread(str(DEMO / "products" / name))
    h, w = frame.shape[:2]
    side = min(h, w) // 2
    frame[h // 4:h // 4 + side, w // 2 - side // 2:w // 2 - side // 2 + side] = cv2.resize(item, (side, side))
    return frame


class Driver:
    """The window on the service, and the hands that drive both."""

    def __init__(self, app, work: Path, size: tuple[int, int]) -> None:
        from kiosk.ui.app import build_window

        self.app = app
        self.service, self.config, self.recognizer, self.scale = open_service(work)
        self.window, self.bridge = build_window(self.service, self.config, payment_ms=0, receipt_return_s=20,
                                                notice_ms=60000)
        self.window.resize(*size)
        self.window.show()
        self.service.announce()
        from kiosk.services.events import CameraStatusChanged

        self.service._emit(CameraStatusChanged("live"))
        self.pump()
        for _ in range(8):
            self.service.process_frame(tray_frame("00_empty.jpg"))  # the trigger learns the empty tray
        self.weigh(0)

    def pump(self, ms: int = 120) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def weigh(self, grams: int, stable: bool = True) -> None:
        self.scale.set_weight(grams, stable)
        self.service.poll_scale()
        self.pump(60)

    def place(self, photo: str, answer: list[tuple[str, float]], grams: int = 0) -> None:
        """An item put on the tray (after the last one was taken off) and what the model says of it."""
        self.recognizer.answer = answer
        for _ in range(6):
            self.service.process_frame(tray_frame("00_empty.jpg"))
        self.weigh(grams, stable=bool(grams))
        frame = tray_frame(photo)
        for _ in range(8):
            self.service.process_frame(frame)
        self.window.camera.show_frame(frame)
        self.pump()

    def tap(self, widget) -> None:
        widget.click()
        self.pump()


def walk(d: Driver, shot) -> None:
    """The states, in the order a shopper and then staff meet them; ``shot(name)`` grabs one."""
    w, s = d.window, d.service
    w.camera.show_frame(tray_frame("00_empty.jpg"))
    shot("welcome")
    d.place("03_oatly-oat-milk.jpg", [("oatly-oat-milk", 0.97), ("alpro-fresh-soy-milk", 0.02)], grams=1062)
    shot("auto-added")
    d.place("mango.jpg", [("papaya", 0.41), ("cantaloupe", 0.22), ("lemon", 0.12), ("orange", 0.08)], grams=240)
    shot("not-sure-choose")
    d.tap(w.suggestions.none_tile)
    d.tap(w.browse.department_buttons["fruit"])
    shot("browse-by-picture")
    while "mango" not in w.browse.shown_skus() and w.browse.next_button.isEnabled():
        d.tap(w.browse.next_button)
    shot("browse-next-page")
    d.tap(next(t for t in w.browse.tiles if t.view is not None and t.view.sku == "mango"))
    shot("picked-from-browse")
    d.place("01_banana.jpg", [("banana", 0.74), ("mango", 0.1), ("yellow-bell-pepper", 0.05)])
    d.tap(w.suggestions.buttons[0])
    d.weigh(548, stable=False)
    shot("weighing-price-preview")
    d.weigh(548)
    shot("weighed-added")
    d.place("07_arla-standard-milk.jpg", [], grams=1059)
    shot("not-recognised")
    s.choose("arla-standard-milk")
    d.pump()
    w.cart.table.remove_requested.emit(w.cart_model.line(0).line_id)
    d.pump()
    shot("remove-confirm")
    w.confirm.close_question()
    s.choose("god-morgon-orange-juice")
    s.choose("god-morgon-orange-juice")
    s.choose("alpro-vanilla-soyghurt")  # ₹350.00: above the ₹300 this kiosk removes without staff
    d.pump()
    w._ask_remove(next(x.line_id for x in w.cart_model.cart_view.lines if x.sku == "alpro-vanilla-soyghurt"))
    d.tap(w.confirm.buttons["remove"])
    shot("removal-needs-staff")
    d.tap(w.confirm.buttons["keep"])
    d.tap(w.help_button)
    shot("help-called")
    d.tap(w.help_button)
    d.tap(w.search_button)
    for key in "BAN":
        d.tap(w.search.keyboard.keys[key])
    shot("search")
    d.tap(w.search.back_button)
    w._on_camera_status(type("CameraStatusChanged", (), {"status": "reconnecting", "retry_in": 4.0})())
    d.pump()
    shot("camera-lost")
    w._on_camera_status("live")
    d.tap(w.staff_button)
    for key in "1111":
        d.tap(w.pin.keypad.keys[key])
    d.tap(w.pin.ok_button)
    shot("staff-pin-wrong")
    for key in PIN:
        d.tap(w.pin.keypad.keys[key])
    d.tap(w.pin.ok_button)
    staff_states(d, shot)


def staff_states(d: Driver, shot) -> None:
    w, s = d.window, d.service
    lines = w.staff_model.cart_view.lines
    oat = next(x.line_id for x in lines if x.sku == "oatly-oat-milk")
    w.staff.table.select_line(oat)
    d.pump()
    shot("staff-line-photo")
    d.tap(w.staff.correct_button)
    for key in "OAT":
        d.tap(w.search.keyboard.keys[key])
    shot("staff-correct-with-photo")
    s.staff_correct(oat, "oatly-natural-oatghurt")
    juice = [x.line_id for x in w.staff_model.cart_view.lines if x.sku == "god-morgon-orange-juice"]
    s.staff_void(juice[0])
    s.staff_override_price(juice[1], 9900)
    d.pump()
    w.show_page("staff")
    w.staff.table.clearSelection()
    d.pump()
    shot("staff-marks")
    d.tap(w.staff.done_button)
    d.tap(w.pay_button)
    shot("payment")
    d.tap(w.payment.method_buttons["upi"])
    d.pump(300)
    shot("receipt")
    d.tap(w.receipt.print_button)
    shot("receipt-printed")


def shrink(path: Path) -> None:
    """A small PNG: pngquant when installed, else Pillow's 256-colour palette."""
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "55-85", "--speed", "1",
                        "--output", str(path), str(path)], check=False)
        return
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def take_states(out: Path, languages: list[str], size: tuple[int, int]) -> list[Path]:
    """Grab every state in every language into ``out``; returns the files."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for language in languages:
        with tempfile.TemporaryDirectory(prefix="kiosk-states-") as tmp:
            d = Driver(app, Path(tmp), size)
            d.service.set_language(language)
            d.pump()

            def shot(name: str, d=d, language=language) -> None:
                d.pump(150)
                path = out / f"{language}-{len([f for f in files if f.name.startswith(language)]) + 1:02d}-{name}.png"
                d.window.grab().save(str(path))
                shrink(path)
                files.append(path)

            walk(d, shot)
            d.window.close()
            d.service.close()
    return files
