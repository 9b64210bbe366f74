"""A photo the network cannot be given -- a few pixels, a folder, a pipe, a file too large to be a photo -- is left
out with its reason wherever photos are read (training, evaluation, quantisation, export, enrollment) and is a
notice at the counter, never a traceback. TIFF, which the importers and the camera folder take, decodes."""

from __future__ import annotations

import csv
import json
import os
import struct
import threading

import cv2
import numpy as np
import pytest

from kiosk.bundle_format.preprocess import IMAGE_SUFFIXES, ImageTooSmall, load_image, resize_problem, resize_shorter
from kiosk.cli import main as checkout
from tests.trainer.synthetic import make_dataset

DEMO_FRAMES = "assets/demo/camera"


def _tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian TIFF whose only directory says ``width``×``height`` (and holds no pixels)."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (262, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def _tiff(image: np.ndarray, order: str) -> bytes:
    """``image`` (BGR) as an uncompressed RGB TIFF in byte order ``order`` ("<" Intel, ">" Motorola), by hand."""
    h, w = image.shape[:2]
    pixels = np.ascontiguousarray(image[:, :, ::-1]).tobytes()
    bits_at, pixels_at = 8 + 2 + 9 * 12 + 4, 8 + 2 + 9 * 12 + 4 + 6
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, bits_at), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, pixels_at), (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, len(pixels))]

    def entry(tag, kind, count, value):  # a SHORT value sits in the first two bytes of its four
        packed = struct.pack(order + "H", value) + b"\0\0" if kind == 3 and count == 1 else struct.pack(order + "I",
                                                                                                      value)
        return struct.pack(order + "HHI", tag, kind, count) + packed

    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    ifd = struct.pack(order + "H", len(entries)) + b"".join(entry(*e) for e in entries) + b"\0\0\0\0"
    return head + ifd + struct.pack(order + "HHH", 8, 8, 8) + pixels


def test_load_image_says_why_a_photo_cannot_be_used(tmp_path):
    photo = cv2.imread(f"{DEMO_FRAMES}/03_oatly-oat-milk.jpg")
    cv2.imwrite(str(tmp_path / "tiny.png"), photo[:20, :20])
    (tmp_path / "a-folder.jpg").mkdir()
    os.mkfifo(tmp_path / "pipe.jpg")
    with open(tmp_path / "huge.bmp", "wb") as fh:  # sparse: 300 MB on paper, nothing on the disk
        fh.truncate(300 * 2**20)
    (tmp_path / "bomb.tif").write_bytes(_tiff_claiming(20000, 20000))
    reasons = {}

    def read_all():
        for name in ("nope.jpg", "a-folder.jpg", "pipe.jpg", "huge.bmp", "bomb.tif"):
            reasons[name] = load_image(tmp_path / name)[1]
        reasons["tiny.png"] = load_image(tmp_path / "tiny.png", 320)[1]

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "reading a pipe named like a photo waits for a writer"
    assert reasons == {
        "nope.jpg": "missing", "a-folder.jpg": "not a file", "pipe.jpg": "not a file",
        "huge.bmp": "300 MB: too large for a photo (at most 256 MB)",
        "bomb.tif": "tiff header claims 20000x20000 = 400,000,000 pixels (at most 40,000,000 are decoded)",
        "tiny.png": "20x20 px: too small for the model's 320 px (more than 8x enlargement; at least 40 px on the "
                    "shorter side)"}
    assert load_image(tmp_path / "tiny.png")[0].shape == (20, 20, 3)  # without a model size it is a picture
    assert resize_problem(40, 40, 320) == "" and resize_problem(39, 40, 320)
    with pytest.raises(ImageTooSmall, match="too small for the model's 320 px"):
        resize_shorter(photo[:20, :20], 320)


@pytest.mark.parametrize("params", [[], [cv2.IMWRITE_TIFF_COMPRESSION, 1]], ids=["lzw", "uncompressed"])
def test_tiff_photos_decode_to_the_pixels_opencv_reads(tmp_path, params):
    assert ".tif" in IMAGE_SUFFIXES and ".tiff" in IMAGE_SUFFIXES
    photo = cv2.imread(f"{DEMO_FRAMES}/03_oatly-oat-milk.jpg")
    path = tmp_path / "photo.tiff"
    cv2.imwrite(str(path), photo, params)
    image, why = load_image(path, 256)
    assert why == "" and np.array_equal(image, photo)
    for order in "<>":
        (tmp_path / "hand.tif").write_bytes(_tiff(photo, order))
        assert np.array_equal(load_image(tmp_path / "hand.tif")[0], photo), order


def _with_unusable_rows(manifest, tmp_path) -> dict[str, str]:
    """Append a 6x6 px photo, a folder and a TIFF copy of a good photo to ``manifest``; returns their paths."""
    rows = list(csv.reader(manifest.open()))
    good = manifest.parent / rows[1][0]
    cv2.imwrite(str(tmp_path / "tiny.jpg"), cv2.imread(str(good))[:6, :6])
    (tmp_path / "folder.jpg").mkdir(exist_ok=True)
    cv2.imwrite(str(tmp_path / "good.tif"), cv2.imread(str(good)))
    extra = {"tiny": tmp_path / "tiny.jpg", "folder": tmp_path / "folder.jpg", "tiff": tmp_path / "good.tif"}
    with manifest.open("a", newline="") as fh:
        csv.writer(fh).writerows([str(p), rows[1][1], rows[1][2]] for p in extra.values())
    return {k: str(p) for k, p in extra.items()}


def test_training_export_quantize_and_evaluate_leave_unusable_photos_out(tmp_path, capsys):
    train, val = make_dataset(tmp_path / "data", per_class=8)
    bad_train = _with_unusable_rows(train, tmp_path / "data")
    run, bundle = tmp_path / "run", tmp_path / "bundle"
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "1",
                     "--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--batch-size", "8",
                     "--threads", "2", "--no-progress", "--keep", "last"]) == 0
    left_out = {row["path"]: row["reason"] for row in json.loads((run / "quarantine.json").read_text())}
    assert left_out == {bad_train["tiny"]: "6x6 px: too small for the model's 72 px (more than 8x enlargement; "
                                           "at least 9 px on the shorter side)",
                        bad_train["folder"]: "not a file"}  # the TIFF trained
    (tmp_path / "data" / "held").mkdir()  # the held-back photos get unusable rows of their own (not training photos)
    bad_val = _with_unusable_rows(val, tmp_path / "data" / "held")
    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--selftest-manifest", str(val),
                     "--calibration", str(val)]) == 0
    assert checkout(["bundle", "quantize", str(bundle), "--calibration", str(train), "--val", str(val),
                     "--tolerance", "100"]) == 0
    capsys.readouterr()
    assert checkout(["evaluate", str(bundle), "--manifest", str(val), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {s["path"]: s["reason"].split(":")[0] for s in report["skipped"]} == {bad_val["tiny"]: "6x6 px",
                                                                                bad_val["folder"]: "not a file"}


def test_a_frame_too_small_for_the_model_is_a_notice_and_the_sale_goes_on(demo_bundle, demo_catalog_db, tmp_path,
                                                                          capsys):
    """A camera at a thumbnail resolution (or a tray region a few pixels wide): the placement gets no suggestion
    and staff are told what to check; the next item sells."""
    replay = tmp_path / "replay"
    replay.mkdir()
    empty = cv2.imread(f"{DEMO_FRAMES}/00_empty.jpg")
    item = cv2.imread(f"{DEMO_FRAMES}/03_oatly-oat-milk.jpg")
    frames = [("00_empty", empty), ("01_thumbnail", cv2.resize(item, (24, 24), interpolation=cv2.INTER_AREA)),
              ("02_empty", empty), ("03_item", item), ("04_empty", empty)]
    for name, image in frames:
        cv2.imwrite(str(replay / f"{name}.png"), image)
    rc = checkout(["kiosk", "--headless", "--camera", f"folder:{replay}?hold=8", "--scale", "sim:",
                   "--bundle", str(demo_bundle), "--catalog", str(demo_catalog_db),
                   "--store", str(tmp_path / "sales.sqlite"), "--captures", str(tmp_path / "captures")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err
    assert "the tray's picture cannot be recognised, 24x24 px: too small for the model's" in err
    assert "check the camera's resolution and the tray region" in err
    assert "Oatly" in out and "TOTAL" in out


def test_enrollment_refuses_photos_too_small_for_the_model(tmp_path):
    from kiosk.gallery import EnrollPolicy, judge

    sharp = np.random.default_rng(3).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    verdicts = judge([sharp, sharp[:10, :10]], EnrollPolicy(), size=256)
    assert [(v.usable, v.reason) for v in verdicts] == [(True, ""), (False, "too small")]
    verdicts = judge([sharp], EnrollPolicy(), size=256, crop=lambda im: im[:20, :20])  # the tray region's crop
    assert [(v.usable, v.reason) for v in verdicts] == [(False, "too small")]
