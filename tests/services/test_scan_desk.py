"""The scan desk between the counter and the barcodes: camera frames of any kind are read or skipped one at a time
(never camera barcodes off for good because of one frame); a scanner's codes are taken at the rate a person scans
(the same code again at once counts once; a flood is refused with a notice to call staff)."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from kiosk.barcodes import BarcodeSettings
from kiosk.barcodes.gate import QUIET_S
from kiosk.barcodes.synth import tray_scene, zxing_bars
from kiosk.services import Notice
from kiosk.services.scans import ScanDesk
from kiosk.weighing import WeighingRules

OATLY = "2000000000459"


@pytest.fixture(scope="module")
def label() -> np.ndarray:
    return tray_scene(zxing_bars(OATLY, "EAN13"), angle=7.0, blur=1.0, size=(480, 640))


def desk(**settings) -> ScanDesk:
    return ScanDesk(BarcodeSettings(**settings), WeighingRules(), shelf=None)


def test_odd_camera_frames_are_converted_or_skipped_and_decoding_goes_on(label, caplog):
    """Before: a BGRA or float frame made the decoder raise, and camera barcodes were off until a restart."""
    scans = desk()
    odd = [cv2.cvtColor(label, cv2.COLOR_BGR2BGRA), label.astype(np.float32) / 255, label.astype(np.float32),
           label.astype(np.uint16) * 257, label[:, :, :1], label[:, :, 0].astype(np.int32), label[:, :, ::-1]]
    for frame in odd:
        assert [c.gtin for c in scans.decode(frame)] == ["2000000000459"], (frame.dtype, frame.shape)
        assert [c.gtin for c in scans.decode(label)] == ["2000000000459"]
    assert scans.frames_converted == 6 and scans.frames_skipped == 0
    for frame in (np.zeros((0, 0, 3), np.uint8), np.zeros((4, 4, 5), np.uint8), np.zeros((2, 2, 2, 3), np.uint8),
                  np.array([[None]]), np.zeros((8, 8, 3), complex), "not a frame", [[1, 2], [3]]):
        assert scans.decode(frame) == []
        assert [c.gtin for c in scans.decode(label)] == ["2000000000459"]
    assert scans.frames_skipped == 7 and scans.frames_decoded == 28


def test_a_frame_the_decoder_chokes_on_is_skipped_and_logged_once(label, caplog):
    class Choking:
        bad = True

        def decode(self, image):
            if Choking.bad:
                raise ValueError("Unsupported number of channels for buffer: 4")
            return ["read"]

    scans = ScanDesk(BarcodeSettings(), WeighingRules(), None, decoder=Choking)
    with caplog.at_level(logging.DEBUG, "kiosk.services.scans"):
        for _ in range(5):
            assert scans.decode(label) == []
    Choking.bad = False
    assert scans.decode(label) == ["read"] and scans.frames_skipped == 5
    told = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(told) == 1 and "the next are read as ever" in told[0].getMessage()


def test_a_decoder_that_cannot_start_turns_camera_barcodes_off_once(label, caplog):
    def missing():
        raise ImportError("no zxingcpp")

    scans = ScanDesk(BarcodeSettings(), WeighingRules(), None, decoder=missing)
    assert scans.decode(label) == [] and scans.decode(label) == []
    assert caplog.text.count("cannot start") == 1


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_desk_takes_a_scanners_codes_at_a_persons_rate_and_says_when_it_stops():
    clock = Clock()
    scans = ScanDesk(BarcodeSettings(same_code_s=0.5, max_scans_per_s=4), WeighingRules(), None, clock=clock)
    assert scans.admit(OATLY) == (True, [])
    clock.now += 0.2
    assert scans.admit(OATLY) == (False, [])  # the same code at once: counted once, nothing to say
    clock.now += 0.6
    assert scans.admit(OATLY) == (True, [])
    told = []
    for i in range(20):  # a scanner gone mad: 20 codes in 0.2 s
        clock.now += 0.01
        taken, notices = scans.admit(f"{i:013d}")
        told += notices
    assert [(n.level, n.message) for n in told] == [
        ("warning", "the barcode scanner sends codes faster than anyone scans: scanning is paused, please call staff")]
    clock.now += QUIET_S + 0.1
    assert scans.admit(OATLY) == (True, [Notice("info", "the barcode scanner is read again")])
