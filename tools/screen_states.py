"""Every screen state of the kiosk window, grabbed to PNG: ``tools/screenshot.py --states`` (``make screenshots``).

The real :class:`~kiosk.services.checkout.CheckoutService` on the demo catalog, a throw-away sales store, the real
trigger fed the demo camera's photos, a simulated scale set by hand and an ESC/POS "printer" writing to a file; only
the recogniser is scripted (it answers what each state needs: sure, unsure, wrong). The window is driven through the
states a shopper and staff meet, in each language, and each is grabbed as ``<lang>-<nn>-<state>.png``; the PNGs
are made small with pngquant when it is installed (``apt-get install pngquant``), else Pillow's palette.
With a model bundle (``--bundle var/demo/bundle``) the scripted recogniser takes that bundle's auto-add threshold and
model version, so the states show what this model's threshold does with the scripted scores.
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
    """Answers ``answer`` (``[(sku, score), …]``) for every placement; the auto-add threshold and model version are
    the bundle's when one is given (its manifest only: no model runs), else 0.9 and 7."""

    model_version = 7
    auto_add_threshold = 0.9

    def __init__(self, bundle: Path | None = None) -> None:
        from kiosk.recognition.recognizer import Recognition, Suggestion

        self._recognition, self._suggestion = Recognition, Suggestion
        self.answer: list[tuple[str, float]] = []
        if bundle is not None:
            from kiosk.bundle_format.bundle import read_manifest

            manifest = read_manifest(Path(bundle))
            self.auto_add_threshold, self.model_version = manifest.auto_add_threshold, manifest.model_version

    def recognize(self, image):
        return self._recognition([self._suggestion(s, p) for s, p in self.answer], {"inference": 1.0},
                                 self.model_version)

    def close(self) -> None:
        pass


def open_service(work: Path, bundle: Path | None = None):
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
                         store_phone="080 4123 4567", receipt_printer=f"escpos:file:{work / 'printer.prn'}",
                         weight_check=False, remove_approval_above_paise=30000)
    recognizer, scale = ScriptedRecognizer(bundle), SimulatedScale(0)
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

    def __init__(self, app, work: Path, size: tuple[int, int], bundle: Path | None = None) -> None:
        from kiosk.ui.app import build_window

        self.app = app
        self.service, self.config, self.recognizer, self.scale = open_service(work, bundle)
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
        self.weigh(0)  # the tray emptied and settled: the last item's load is spent (a weighed item needs a new one)
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
    sure = min(0.999, max(0.97, d.recognizer.auto_add_threshold + 0.01))  # above the threshold: added by itself
    d.place("03_oatly-oat-milk.jpg", [("oatly-oat-milk", sure), ("alpro-fresh-soy-milk", 0.02)], grams=1062)
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
    d.tap(w.large_text_button)
    shot("larger-text")
    d.tap(w.large_text_button)
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
    s.staff_unlock(PIN)  # the shared PIN's role: supervisor
    w.show_page("staff")
    d.pump()
    d.tap(w.staff.reprint_button)
    shot("staff-receipts")
    d.tap(w.receipts.back_button)
    d.tap(w.staff.day_button)
    d.pump(300)
    shot("end-of-day")
    device_states(d, shot)


def sign_in(d: Driver) -> None:
    w = d.window
    d.tap(w.staff_button)
    for key in PIN:
        d.tap(w.pin.keypad.keys[key])
    d.tap(w.pin.ok_button)


def device_states(d: Driver, shot) -> None:
    """A card payment whose answer was lost (the terminal approved it; the kiosk asks again in the background, here
    by hand: its watch waits an hour), then a receipt printer whose roll is near its end."""
    from kiosk.printing import open_printer
    from kiosk.printing.simulator import PrinterSimulator

    w, s = d.window, d.service
    language = s._prefs.language  # the walk's (a new shopper starts in the store's first language)
    terminal = s._till.terminal  # the simulated terminal
    s.payments.first_s = 3600.0
    d.tap(w.receipt.new_button)  # back to the staff page
    d.tap(w.staff.done_button)
    s.choose("arla-standard-milk")
    d.pump()
    d.tap(w.pay_button)
    terminal.misbehave("drop")  # approved at the terminal, the answer lost on the way back
    d.tap(w.payment.method_buttons["card"])
    terminal.misbehave("silent")  # the kiosk's first question about it is not answered either
    s.payments.check_now()
    d.pump()
    shot("payment-being-checked")
    d.tap(w.payment.cancel_button)
    sign_in(d)
    shot("staff-payment-pending")
    s.payments.check_now()  # the terminal answers: approved, the sale closes and its receipt shows
    d.pump(300)
    with PrinterSimulator() as printer:
        s._receipts.printer.close()  # the file "printer" cannot tell its paper: one that can
        s._receipts.printer = open_printer(printer.uri)
        printer.paper = "near_end"
        d.tap(w.receipt.print_button)
        d.pump(300)
        d.tap(w.receipt.new_button)
        s.set_language(language)
        sign_in(d)
        shot("staff-printer-paper-low")


def shrink(path: Path) -> None:
    """A small PNG: pngquant when installed, else Pillow's 256-colour palette."""
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "55-85", "--speed", "1",
                        "--output", str(path), str(path)], check=False)
        return
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


#: every state the walk grabs, in its order, with what a reviewer sees in it (the index docs/screens/README.md)
STATES = {
    "welcome": "Waiting for an item: one next step (place it on the tray), Search or browse for anything else.",
    "auto-added": "A sure match (above the bundle's auto-add threshold) is added by itself: “✓ Added” on "
                  "its tile; a tap on another tile corrects it.",
    "not-sure-choose": "An item the model does not know (a mango): up to four tiles by score, each with its "
                       "confidence cue, and the fixed “None of these?” tile.",
    "browse-by-picture": "None of these → browse by picture: departments and photo tiles, a page at a time.",
    "browse-next-page": "The next page of Fruit, with the mango on it.",
    "picked-from-browse": "Picked from browse: “✓ Mango added · ₹80.00”, the wrong tiles gone.",
    "weighing-price-preview": "A weighed item: the tapped tile highlighted, “Hold still — weighing …” "
                              "and the live price preview while the scale settles.",
    "weighed-added": "The weight is stable: “✓ Banana added · ₹38.09”, priced like the bill.",
    "larger-text": "Larger text for this shopper (Aa Larger): everything bigger, nothing cut.",
    "not-recognised": "Not recognised: Search or browse and Call staff instead of tiles.",
    "remove-confirm": "✕ on a line asks first: Keep it or Remove.",
    "removal-needs-staff": "A removal above this kiosk's limit (₹300 here) waits for staff: the item stays on "
                           "the bill and staff is called.",
    "help-called": "Help: “Staff called — cancel” (amber) and the notice strip; a second tap cancels.",
    "search": "Search by name or PLU on the on-screen keyboard.",
    "camera-lost": "The camera lost: the camera view and the status bar say so in words; Staff, the ✕ buttons "
                   "and the total stay on screen.",
    "staff-pin-wrong": "The staff PIN page after a wrong PIN.",
    "staff-line-photo": "Staff mode: the selected line beside the photo the camera took of it.",
    "staff-correct-with-photo": "Correcting a line: the search beside the placement photo.",
    "staff-marks": "After a correction, a void and a price change: each marked, each in its place.",
    "payment": "Payment: the total and the ways to pay.",
    "receipt": "The receipt: the store's legal header (name, address, GSTIN), the lines with staff marks, the full "
               "GST table, Print, and the countdown to a new order.",
    "receipt-printed": "After Print: the receipt went to the ESC/POS printer; Print again.",
    "staff-receipts": "Reprint on the staff page: today's receipts, newest first; a tap prints that one again as a "
                      "duplicate.",
    "end-of-day": "End of day (staff page, a supervisor): today's takings as the report prints them — sales, "
                  "payments per method, the GST table, what staff changed.",
    "payment-being-checked": "A card payment whose answer was lost: the payment page says it is being checked with "
                             "the terminal (a moving bar, not a frozen screen); the kiosk asks again by itself and "
                             "never charges twice.",
    "staff-payment-pending": "Staff see that payment waiting: its amount, since when, how often the terminal was "
                             "asked and its last answer (the cart page's strip tells the shopper too).",
    "staff-printer-paper-low": "After a receipt, the printer's roll near its end: the status bar tells staff, beside "
                               "the camera, the scale and head office (the shopper is not told).",
}
LANGUAGE_TITLES = {"en": "English", "hi": "हिन्दी (Hindi)"}


class _Enough(Exception):
    """Raised by ``shot`` after the last state asked for (``until``)."""


def take_states(out: Path, languages: list[str], size: tuple[int, int], bundle: Path | None = None,
                until: str | None = None) -> list[Path]:
    """Grab every state (up to ``until``) in every language into ``out`` as ``<lang>-<nn>-<state>.png``, replacing
    that language's old ones, and write the index ``README.md``; returns the files."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for language in languages:
        for old in out.glob(f"{language}-[0-9][0-9]-*.png"):
            old.unlink()
        with tempfile.TemporaryDirectory(prefix="kiosk-states-") as tmp:
            d = Driver(app, Path(tmp), size, bundle)
            d.service.set_language(language)
            d.pump()
            taken: list[Path] = []

            def shot(name: str, d=d, language=language, taken=taken) -> None:
                d.pump(150)
                path = out / f"{language}-{len(taken) + 1:02d}-{name}.png"
                d.window.grab().save(str(path))
                shrink(path)
                taken.append(path)
                if name == until:
                    raise _Enough

            try:
                walk(d, shot)
            except _Enough:
                pass
            finally:
                d.window.close()
                d.service.close()
            files += taken
    write_index(out, files, size, d.recognizer.auto_add_threshold if bundle is not None else None)
    return files


def write_index(out: Path, files: list[Path], size: tuple[int, int], threshold: float | None) -> Path:
    """``out/README.md``: every state, its languages side by side, with what it shows."""
    languages = list(dict.fromkeys(f.name[:2] for f in files))
    by_state: dict[str, dict[str, str]] = {}
    for f in files:
        by_state.setdefault(f.stem[3:], {})[f.name[:2]] = f.name
    model = (f"the demo bundle's auto-add threshold ({threshold:.3f})" if threshold is not None
             else "a fixed auto-add threshold (0.9)")
    text = [f"# Every screen state of the kiosk, {size[0]}×{size[1]}, "
            f"{' and '.join(LANGUAGE_TITLES.get(x, x) for x in languages)}", "",
            "Made by `make screenshots` (`tools/screenshot.py --states`, walk in `tools/screen_states.py`): the real "
            "window and checkout service on the demo catalog, offscreen Qt, a simulated scale and an ESC/POS printer "
            f"writing to a file; only the recogniser's answers are scripted, with {model}. Do not edit these files: "
            "regenerate them.", ""]
    header = " | ".join(LANGUAGE_TITLES.get(x, x) for x in languages)
    for key, shots in by_state.items():
        number, name = key.split("-", 1)
        text += [f"## {int(number)}. {name.replace('-', ' ').capitalize()}", "", STATES.get(name, ""), "",
                 f"| {header} |", "|" + "---|" * len(languages),
                 "| " + " | ".join(f"![{name}, {x}]({shots[x]})" if x in shots else "" for x in languages) + " |", ""]
    index = out / "README.md"
    index.write_text("\n".join(text), encoding="utf-8")
    return index
