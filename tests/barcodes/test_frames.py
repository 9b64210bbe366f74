"""Camera barcodes on generated labels at the kiosk's 1280×720, rotated and slightly blurred: EAN-13, EAN-8, UPC-A,
UPC-E, GS1 price- and weight-embedded EAN-13s and DataBar are read by the kiosk's decoder; codes with a wrong check
digit never come back."""

from __future__ import annotations

import pytest

from kiosk.barcodes.frames import ConfirmingDecoder, open_decoder
from kiosk.barcodes.gtin import canonical_gtin, with_check_digit
from kiosk.barcodes.synth import ean13_bars, tray_scene, zxing_bars
from kiosk.barcodes.variable import price_check_digit

WEIGHT_LABEL = with_check_digit("290107" + str(price_check_digit("00548")) + "00548")
CODES = [("4006381333931", "EAN13"), ("96385074", "EAN8"), ("036000291452", "UPCA"), ("01234565", "UPCE"),
         (with_check_digit("210010704550"), "EAN13"), (WEIGHT_LABEL, "EAN13")]


@pytest.fixture(scope="module")
def decoder() -> ConfirmingDecoder:
    return open_decoder()


@pytest.mark.parametrize("code, fmt", CODES)
@pytest.mark.parametrize("angle", [0, 10, 90, 180])
def test_labels_are_read_rotated_and_blurred(decoder, code, fmt, angle):
    image = tray_scene(zxing_bars(code, fmt, scale=3), angle=angle, blur=1.0)
    assert image.shape == (720, 1280, 3)
    assert [c.gtin for c in decoder.decode(image)] == [canonical_gtin(code, fmt)]


def test_any_angle_through_opencv_and_databar_through_zxing(decoder):
    rotated = tray_scene(zxing_bars("4006381333931", "EAN13", scale=3), angle=45, blur=1.0)
    assert [c.gtin for c in decoder.decode(rotated)] == ["4006381333931"]
    databar = tray_scene(zxing_bars("(01)00012345678905(3103)000548", "DataBarExp", scale=3), blur=0.5)
    (code,) = decoder.decode(databar)
    assert (code.gtin, code.net_grams) == ("0012345678905", 548)


@pytest.mark.parametrize("bad", ["4006381333932", "2000000000458", "2100107045505"])
@pytest.mark.parametrize("angle", [0, 10, 90])
def test_wrong_check_digits_are_never_read(decoder, bad, angle):
    assert decoder.decode(tray_scene(ean13_bars(bad), angle=angle, blur=0.5)) == []
    good = with_check_digit(bad[:-1])  # the same drawing with the right digit is read: the digit made the difference
    assert [c.gtin for c in decoder.decode(tray_scene(ean13_bars(good), angle=angle, blur=0.5))] == [good]


def test_nothing_on_the_tray_reads_nothing(decoder):
    import numpy as np

    assert decoder.decode(tray_scene(np.full((120, 300), 255, np.uint8), angle=10)) == []
