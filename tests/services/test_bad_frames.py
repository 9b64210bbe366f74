"""A replay holding the three bad frames of issue 15 bills nothing from them: they are skipped (and counted)
before the trigger sees them. Without the checks, the truncated JPEG became a phantom item."""

from __future__ import annotations

import io

import cv2
import numpy as np

from kiosk.bundle_format.preprocess import decode_frame
from kiosk.headless import run_headless
from tests.bad_frames import write_bad_frames
from tests.services.conftest import EMPTY, item_frame


def test_a_replay_skips_and_counts_bad_frames_and_bills_only_the_real_item(kit, tmp_path):
    k = kit([("oatly-oat-milk", 0.97)], threshold=0.5)
    folder = tmp_path / "replay"
    folder.mkdir()
    big_item = cv2.resize(item_frame((30, 200, 230)), (640, 480), interpolation=cv2.INTER_NEAREST)
    noisy = np.clip(big_item.astype(int) + np.random.default_rng(1).integers(-30, 30, big_item.shape), 0, 255)
    write_bad_frames(folder, noisy.astype(np.uint8), prefix="02_")
    for name, image in (("00_empty", EMPTY), ("03_empty", EMPTY), ("04_item", item_frame()), ("05_empty", EMPTY)):
        cv2.imwrite(str(folder / f"{name}.png"), image)
    bad = sorted(folder.glob("02_*"))
    # what OpenCV alone made of the truncated frame: a picture of an item, billed before this fix
    truncated = (folder / "02_truncated.jpg").read_bytes()
    assert cv2.imdecode(np.frombuffer(truncated, np.uint8), cv2.IMREAD_COLOR) is not None
    assert all(decode_frame(p.read_bytes())[0] is None for p in bad)

    err = io.StringIO()
    receipt = run_headless(k.service, f"folder:{folder}?hold=8", out=io.StringIO(), err=err)
    assert [(line.sku, line.qty, len(line.line_ids)) for line in receipt.lines] == [("oatly-oat-milk", 1, 1)]
    assert k.recognizer.calls == 1
    assert "3 bad frame(s) skipped, never billed" in err.getvalue()
    for name in ("02_bomb.jpg", "02_tall.png", "02_truncated.jpg"):
        assert name in err.getvalue()
