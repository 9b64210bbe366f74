"""A camera code is taken only when it is confirmed: a single read of a frame can be a wrong code with a right check
digit (another product, another price), and a wrong code on a bill is worse than a retry.

The labels below are the probe's (``/tmp/probe-seeds``: random codes at the bench's angles, blurs and module sizes,
seeds 1-5): each came back from the kiosk's decoder as a wrong code before."""

from __future__ import annotations

import logging
import random

import pytest

from kiosk.barcodes.frames import Read, confirmed, open_decoder
from kiosk.barcodes.gtin import ScannedCode, with_check_digit
from kiosk.barcodes.synth import ean13_bars, random_label, read_as, tray_scene, zxing_bars


@pytest.fixture(scope="module")
def decoder():
    return open_decoder()


@pytest.mark.parametrize("code, fmt, angle, blur, module, misread", [
    ("7078949788733", "EAN13", 0, 1.5, 3, "7278949788133"),  # OpenCV alone: another valid EAN-13
    ("05240900", "UPCE", 10, 1.0, 3, "0177200003220"),  # zxing-cpp alone: another valid UPC-E
])
def test_a_valid_label_is_never_read_as_another_valid_code(decoder, code, fmt, angle, blur, module, misread):
    image = tray_scene(zxing_bars(code, fmt, module), angle=angle, blur=blur)
    got = [c.gtin for c in decoder.decode(image)]
    assert misread not in got and len(got) <= 1, got  # read right, or not at all (a retry)


@pytest.mark.parametrize("code, angle, blur, module", [
    ("3907656828080", 10, 1.0, 3),  # was read as the EAN-8 90108280 (OpenCV)
    ("0833743785567", 20, 0.0, 2),  # 37437855 (zxing-cpp: 67 of the symbol's 95 modules)
    ("9863867571130", 10, 1.5, 3),  # 80485711
    ("2884081574145", 152.02035498005634, 0.0, 3),  # the UPC-A 541475110400 (OpenCV)
    ("2668701792184", 180, 1.0, 3),  # 66011279
    ("5671360212739", 10, 1.0, 3),  # 9671302212739: several digits changed
])
def test_a_wrong_check_digit_never_comes_back_as_a_partial_or_changed_code(decoder, code, angle, blur, module):
    assert decoder.decode(tray_scene(ean13_bars(code, module), angle=angle, blur=blur)) == []


@pytest.mark.parametrize("code, angle, offset, misread", [
    ("7274402568319", 45, (-378, -81), "7274402562319"),  # bench barcodes --seed 9, frame 205
    ("0997367208513", 5, (-240, 0), "0995367208513"),  # --seed 11, frame 329
])
def test_opencv_on_the_frame_and_on_the_upright_cut_do_not_confirm_each_other(decoder, code, angle, offset, misread):
    image = tray_scene(ean13_bars(code, 3), angle=angle, blur=1.0, offset=offset)
    assert [c.gtin for c in open_decoder("opencv").decode(image)] == [misread]  # one library's misread …
    assert decoder.decode(image) == []  # … is not confirmed by the same library again


def test_each_library_refuses_an_ean8_read_inside_an_ean13_and_still_reads_a_whole_ean8():
    zxing, opencv = open_decoder("zxing"), open_decoder("opencv")
    assert zxing.decode(tray_scene(ean13_bars("0833743785567", 2), angle=20, blur=0.0)) == []
    assert opencv.decode(tray_scene(ean13_bars("3907656828080", 3), angle=10, blur=1.0)) == []
    assert [c.gtin for c in zxing.decode(tray_scene(zxing_bars("96385074", "EAN8", 2), angle=20, blur=0.0))] == \
        ["96385074"]
    assert [c.gtin for c in opencv.decode(tray_scene(zxing_bars("96385074", "EAN8", 3), angle=10, blur=1.0))] == \
        ["96385074"]


# -- the rule, on reads as the decoders hand them over ---------------------------------------------------------------
HERE = ((500.0, 300.0), (700.0, 300.0), (700.0, 400.0), (500.0, 400.0))
THERE = ((900.0, 300.0), (1100.0, 300.0), (1100.0, 400.0), (900.0, 400.0))


def read(gtin: str, source: str, where=HERE, symbology: str = "EAN13", **measure) -> Read:
    return Read(ScannedCode(gtin, symbology, "camera", **measure), where, source)


def gtins(reads) -> list[str]:
    return [r.code.gtin for r in confirmed(reads)]


def test_one_read_alone_is_never_taken(caplog):
    caplog.set_level(logging.INFO, "kiosk.barcodes.frames")
    assert gtins([read("4006381333931", "opencv")]) == []
    assert "not confirmed by an independent read" in caplog.text
    assert gtins([read("4006381333931", "zxing")]) == []


def test_two_reads_that_agree_are_taken_once():
    assert gtins([read("4006381333931", "zxing"), read("4006381333931", "opencv")]) == ["4006381333931"]
    # UPC-E: only zxing-cpp reads it, on the frame and on the region cut out upright
    assert gtins([read("0012345000065", "zxing", symbology="UPCE"),
                  read("0012345000065", "zxing-upright", symbology="UPCE")]) == ["0012345000065"]
    assert gtins([read("4006381333931", "zxing-upright"), read("4006381333931", "opencv-upright")]) == \
        ["4006381333931"]


def test_opencv_twice_is_one_read(caplog):
    """OpenCV's decoder cuts the region it found out upright itself: on the cut it repeats its own misread."""
    caplog.set_level(logging.INFO, "kiosk.barcodes.frames")
    assert gtins([read("4006381333931", "opencv"), read("4006381333931", "opencv-upright")]) == []
    assert "not confirmed by an independent read" in caplog.text


def test_a_price_or_weight_label_needs_both_libraries(caplog):
    caplog.set_level(logging.INFO, "kiosk.barcodes.frames")
    label = "2100107045503"
    assert gtins([read(label, "zxing"), read(label, "zxing-upright")]) == []
    assert "needs zxing-cpp and OpenCV to agree" in caplog.text
    assert gtins([read(label, "opencv"), read(label, "opencv-upright")]) == []
    assert gtins([read(label, "zxing-upright"), read(label, "opencv")]) == [label]
    assert gtins([read("0212345678902", "zxing"), read("0212345678902", "zxing-upright")]) == []  # UPC-A 2...


def test_two_codes_at_one_spot_are_both_refused_even_when_one_is_confirmed(caplog):
    caplog.set_level(logging.INFO, "kiosk.barcodes.frames")
    rival = read(with_check_digit("400638133390"), "zxing-upright")
    reads = [read("4006381333931", "zxing"), read("4006381333931", "opencv"), rival]
    assert gtins(reads) == []
    assert "read at the same spot" in caplog.text
    # two labels side by side are two codes
    assert sorted(gtins([read("4006381333931", "zxing"), read("4006381333931", "opencv"),
                         read("96385074", "zxing", THERE, "EAN8"), read("96385074", "opencv", THERE, "EAN8")])) == \
        ["4006381333931", "96385074"]


def test_a_databar_label_is_taken_on_zxing_alone():
    databar = read("0012345678905", "zxing", symbology="DataBarExp", net_grams=548)
    (taken,) = confirmed([databar])
    assert taken.code.net_grams == 548


# -- random labels -------------------------------------------------------------------------------------------------
def _wrong(decoder, seed: int, frames: int) -> tuple[list, int]:
    rng, wrong, read = random.Random(seed), [], 0
    for _ in range(frames):
        label = random_label(rng)
        got = [read_as(c) for c in decoder.decode(label.image())]
        read += label.want in got
        if any(g != label.want for g in got):
            wrong.append((label, got))
    return wrong, read


@pytest.mark.parametrize("seed", [101, 102, 103, 104, 105])
def test_random_labels_never_come_back_as_a_wrong_code(decoder, seed):
    wrong, _ = _wrong(decoder, seed, 12)
    assert wrong == []


@pytest.mark.slow
def test_two_thousand_random_labels_give_no_wrong_code_and_most_are_read(decoder):
    """``checkout bench barcodes --seed 1 2 3 4 5``'s labels: the rule before confirmation read a wrong code on 18
    of these frames."""
    wrong, read = [], 0
    for seed in (1, 2, 3, 4, 5):
        w, r = _wrong(decoder, seed, 400)
        wrong += w
        read += r
    assert wrong == []
    assert read >= 1000  # of 1,686 labels that can be read: 1,044 measured (README), 1,110 before
