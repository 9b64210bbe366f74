"""Screenshots of the kiosk window: in live mode on the demo replay (``docs/kiosk.png``), or every screen state in
every language (``--states``: ``docs/screens/``, see ``tools/screen_states.py``).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/screenshot.py --states --out docs/screens [--size 1024x768] \
        [--bundle var/demo/bundle] [--languages en hi]

Runs the real :class:`~kiosk.services.checkout.CheckoutService` in live mode (capture thread on
``folder:assets/demo/camera?fps=8&hold=8``, recognition worker, the scale script) behind the real
window, and grabs the window while an item lies on the tray with its suggestions up and the cart
holds the items before it. Run it under an X server::

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python tools/screenshot.py --out docs/kiosk.png

Recognition: with ``--bundle DIR`` the real recogniser of that bundle runs; items it does not add on its own
are tapped (first suggestion) like a shopper would. Without one (no bundle is
committed: ``make demo`` trains it), a *replay recogniser* stands in: it knows the replay's nine
items (``assets/demo/basket.csv``), matches each frame to the nearest replay photo and answers with the
basket's SKU and two look-alikes, confident (auto-added) for most items and unsure for ``--ask`` items,
which the shopper has to tap. The catalog, prices, store, trigger, scale and window are all real.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEMO = REPO / "assets" / "demo"
CAMERA_URI = "folder:assets/demo/camera?fps=8&hold=8"
SCALE_URI = "script:assets/demo/scale.txt"

#: two plausible runners-up per basket item (what a real top-3 tends to look like)
LOOKALIKES = {
    "banana": ("mango", "yellow-bell-pepper"),
    "oatly-oat-milk": ("oatly-natural-oatghurt", "alpro-fresh-soy-milk"),
    "granny-smith": ("golden-delicious", "lime"),
    "arla-standard-milk": ("arla-medium-fat-milk", "arla-ecological-medium-fat-milk"),
    "satsumas": ("orange", "red-grapefruit"),
    "avocado": ("lime", "kiwi"),
    "yellow-onion": ("garlic", "floury-potato"),
    "god-morgon-orange-juice": ("god-morgon-orange-red-grapefruit-juice", "bravo-orange-juice"),
    "carrots": ("sweet-potato", "orange-bell-pepper"),
}


class ReplayRecognizer:
    """Stands in for a model on the demo replay only (see the module docstring)."""

    model_version = 1
    auto_add_threshold = 0.9

    def __init__(self, ask: set[str]):
        from kiosk.recognition.recognizer import Recognition, Suggestion

        self._Recognition, self._Suggestion = Recognition, Suggestion
        self.ask = ask
        self.photos: list[tuple[np.ndarray, str | None]] = []
        basket = {row["frame"]: row["sku"] for row in csv.DictReader(open(DEMO / "basket.csv", encoding="utf-8"))}
        for path in sorted((DEMO / "camera").glob("*.jpg")):
            image = cv2.imread(str(path))
            self.photos.append((cv2.resize(image, (64, 64)).astype(np.int16), basket.get(path.name)))

    def recognize(self, image):
        small = cv2.resize(image, (64, 64)).astype(np.int16)
        _, sku = min(self.photos, key=lambda p: int(np.abs(p[0] - small).mean() * 1000))
        if sku is None:
            return self._Recognition([], {}, self.model_version)
        a, b = LOOKALIKES.get(sku, ("orange", "lime"))
        scores = (0.58, 0.27, 0.08) if sku in self.ask else (0.96, 0.02, 0.01)
        return self._Recognition([self._Suggestion(s, p) for s, p in zip((sku, a, b), scores)],
                                 {"inference": 0.0}, self.model_version)

    def close(self) -> None:
        pass


def build_service(work: Path, args):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.config import KioskConfig
    from kiosk.scale import open_scale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore

    db = work / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, DEMO / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(work / "sales.sqlite"), captures=str(work / "captures"),
                         camera=CAMERA_URI, scale=SCALE_URI, store_name=args.store_name, kiosk_id="K7",
                         bundle=str(args.bundle or work / "no-bundle"))
    if args.bundle:
        return CheckoutService.from_config(config), config
    service = CheckoutService(config, catalog=open_catalog(db),
                              store=SalesStore.open(config.store, kiosk_id="K7", store_info=config.store_info),
                              recognizer_holder=ReplayRecognizer(set(args.ask)), scale=open_scale(SCALE_URI))
    return service, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "kiosk.png")
    parser.add_argument("--size", default="1280x800", help="window size WxH (default 1280x800)")
    parser.add_argument("--at-item", type=int, default=5, help="grab while the Nth basket item is on the tray")
    parser.add_argument("--ask", nargs="*", default=["satsumas"], help="replay recogniser: items it is unsure of")
    parser.add_argument("--bundle", type=Path, help="use this model bundle instead of the replay recogniser "
                        "(--states: its auto-add threshold and model version for the scripted answers)")
    parser.add_argument("--store-name", default="Green Basket · Koramangala")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    parser.add_argument("--states", action="store_true",
                        help="every screen state in every language into the folder --out (default docs/screens, "
                             "window 1024x768 unless --size)")
    parser.add_argument("--languages", nargs="*", default=["en", "hi"], help="--states: these languages")
    args = parser.parse_args(argv)
    os.chdir(REPO)  # the demo URIs and catalog image paths are relative to the repository
    if args.states:
        from tools.screen_states import take_states

        out = args.out if args.out.suffix != ".png" else REPO / "docs" / "screens"
        size = args.size if "--size" in (argv if argv is not None else sys.argv) else "1024x768"
        files = take_states(out, args.languages, tuple(int(x) for x in size.lower().split("x")), args.bundle)
        print(f"screenshot: {len(files)} states in {out} ({sum(f.stat().st_size for f in files) // 1024} KiB)")
        return 0
    width, height = (int(x) for x in args.size.lower().split("x"))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.app import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="kiosk-shot-") as tmp:
        service, config = build_service(Path(tmp), args)
        window, bridge = build_window(service, config)
        window.resize(width, height)
        window.move(0, 0)
        window.show()
        seen = {"placements": 0, "saved": False}

        def grab() -> None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(args.out)):
                print(f"screenshot: cannot write {args.out}", file=sys.stderr)
            else:
                seen["saved"] = True
                print(f"screenshot: {args.out} ({width}x{height}, platform {app.platformName()}, "
                      f"{window.cart_model.rowCount()} cart lines, suggestions {window.suggestions.visible_skus()})")
            app.quit()

        def on_suggestions(event) -> None:
            seen["placements"] += 1
            if seen["placements"] == args.at_item:
                QTimer.singleShot(200, grab)  # let the camera view and the weight catch up
            elif seen["placements"] < args.at_item and getattr(event, "auto_added_line_id", "") is None:
                # not sure enough to add it alone: the shopper taps the first suggestion, as at the till
                QTimer.singleShot(100, window.suggestions.buttons[0].click)

        bridge.suggestions_ready.connect(on_suggestions)
        QTimer.singleShot(int(args.timeout * 1000), app.quit)
        service.start()
        service.announce()
        bridge.sync_camera_status()
        app.exec()
        service.close()
    if not seen["saved"]:
        print(f"screenshot: item {args.at_item} never showed its suggestions in {args.timeout} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
