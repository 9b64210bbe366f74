"""Frames a header lies about, frames of the wrong kind, rates that kill the capture thread, replays that never end
(probe-camera findings 2, 5, 6 and 8)."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bundle_format.preprocess import (
    CAMERA_MAX_PIXELS,
    FramePreprocessor,
    PreprocessSpec,
    decode_frame,
    frame_problem,
    image_size,
)
from kiosk.camera import CameraError, CaptureState, CaptureWorker, FrameSource, SourceLost, create_source
from kiosk.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"


def tiff(sizes: list[int], real: int) -> bytes:
    """A deflated 8-bit grey TIFF of ``real``x``real`` zeros whose directory gives width and height once for each
    value in ``sizes``, in that order (libtiff keeps the first)."""
    entries = [(256, 4, v) for v in sizes] + [(257, 4, v) for v in sizes]
    entries += [(258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 0), (277, 3, 1), (278, 4, real), (279, 4, 0)]
    strip = zlib.compress(bytes(real * real), 9)
    offset = 8 + 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<IH", 8, len(entries)))
    for tag, kind, value in entries:
        value = offset if tag == 273 else len(strip) if tag == 279 else value
        out += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else
                                                    struct.pack("<I", value))
    return bytes(out + struct.pack("<I", 0) + strip)


# -- 2: the header check reads the size the decoder will use, and the decoder has its own cap ----------------------
def test_a_tiff_giving_its_size_twice_is_refused_before_decoding():
    data = tiff([3000, 100], real=3000)  # libtiff decodes 3000x3000; the last copy said 100x100
    assert image_size(data) is None
    assert frame_problem(data, CAMERA_MAX_PIXELS)
    image, why = decode_frame(data, CAMERA_MAX_PIXELS)
    assert image is None and why
    assert image_size(tiff([64], real=64)) == ("tiff", 64, 64)  # one copy each: read as before


def _encoded(ext: str, w: int, h: int) -> bytes:
    ok, buf = cv2.imencode(ext, np.full((h, w, 3), 90, np.uint8))
    assert ok
    return buf.tobytes()


def _core_bmp(w: int, h: int) -> bytes:
    """A 24-bit BMP with the 12-byte OS/2 core header (16-bit width and height)."""
    stride = (w * 3 + 3) // 4 * 4
    pixels = bytes(stride * h)
    header = struct.pack("<IHHHH", 12, w, h, 1, 24)
    return b"BM" + struct.pack("<IHHI", 14 + 12 + len(pixels), 0, 0, 26) + header + pixels


def _two_sof_jpeg(w: int, h: int, fake_w: int, fake_h: int) -> bytes:
    """A JPEG with a second frame header (claiming ``fake_w``x``fake_h``) right after its real one."""
    data = _encoded(".jpg", w, h)
    at = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xC0)
    length = int.from_bytes(data[at + 2:at + 4], "big")
    sof = bytearray(data[at:at + 2 + length])
    sof[5:9] = struct.pack(">HH", fake_h, fake_w)
    return data[:at + 2 + length] + bytes(sof) + data[at + 2 + length:]


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tif"])
def test_every_header_size_is_the_decoded_size(ext):
    data = _encoded(ext, 120, 70)
    assert image_size(data)[1:] == (120, 70)
    assert decode_frame(data)[0].shape == (70, 120, 3)


def test_a_core_header_bmp_is_read_as_its_header_says():
    data = _core_bmp(40, 30)
    assert image_size(data) == ("bmp", 40, 30)
    assert decode_frame(data)[0].shape == (30, 40, 3)


def test_a_jpeg_with_two_frame_headers_is_refused():
    data = _two_sof_jpeg(64, 48, 8, 8)
    assert image_size(data) is None
    assert decode_frame(data)[0] is None


def test_opencv_refuses_a_header_lie_past_the_pixel_cap_itself():
    """Behind the header check: OpenCV's own cap (OPENCV_IO_MAX_IMAGE_PIXELS, set when kiosk is imported) refuses a
    6400x6400 image even where the header check is bypassed (a fresh process: OpenCV reads it once, at load)."""
    code = ("import sys; from kiosk.bundle_format import preprocess as p; p.frame_problem = lambda *a: ''; "
            "image, why = p.decode_frame(sys.stdin.buffer.read()); print(None if image is None else image.shape, why)")
    proc = subprocess.run([sys.executable, "-c", code], input=tiff([6400], real=6400), capture_output=True,
                          timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("None decodes to more than 40,000,000 pixels")


# -- 5: sources deliver 8-bit BGR; the preprocessor never hands back the previous frame ---------------------------
class OneFrame(FrameSource):
    scheme = "fake"

    def __init__(self, image):
        super().__init__("fake:x", "x", {})
        self.image = image

    def _open(self):
        pass

    def _read(self):
        return self._make_frame(self.image, 0.0)

    def _close(self):
        pass


def test_sixteen_bit_frames_become_8_bit_and_float_frames_are_refused():
    frame = OneFrame(np.full((4, 6, 3), 0xABCD, np.uint16)).open().read()
    assert frame.image.dtype == np.uint8 and frame.image.shape == (4, 6, 3) and int(frame.image[0, 0, 0]) == 0xAB
    grey = OneFrame(np.full((4, 6), 7, np.uint8)).open().read()
    assert grey.image.shape == (4, 6, 3)
    with pytest.raises(SourceLost, match="float32"):
        OneFrame(np.zeros((4, 6, 3), np.float32)).open().read()


def test_the_preprocessor_refuses_a_frame_that_is_not_8_bit():
    spec = PreprocessSpec(resize_size=32, crop_size=32)
    prep = FramePreprocessor(spec)
    first = prep(np.full((32, 32, 3), 10, np.uint8)).copy()
    with pytest.raises(ValueError, match="uint8"):
        prep(np.full((32, 32, 3), 50000, np.uint16))
    assert not np.array_equal(prep(np.full((32, 32, 3), 200, np.uint8)), first)


# -- 6: rates the capture thread cannot wait for are refused; a dying capture thread says so -----------------------
@pytest.mark.parametrize("fps", ["1e-300", "nan", "inf", "1e9", "-1"])
def test_a_rate_out_of_range_is_refused_naming_the_option(fps):
    for uri in (f"folder:{DEMO}/camera?fps={fps}", f"camera:0?fps={fps}"):
        with pytest.raises(CameraError, match="'fps'") as err:
            create_source(uri)
        assert "\n" not in str(err.value)
    assert create_source(f"folder:{DEMO}/camera?fps=0").config["fps"] == 0
    with pytest.raises(CameraError, match="'fps'"):
        create_source("camera:0?fps=0")


def test_an_unexpected_error_in_the_capture_thread_is_reported_failed():
    states = []
    worker = CaptureWorker(f"folder:{DEMO}/camera?fps=0", observers=[states.append])

    def publish(frame):
        raise OverflowError("timeout value is too large")

    worker._publish = publish
    worker.start()
    deadline = time.monotonic() + 5
    while worker.running and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert worker.state is CaptureState.FAILED
    assert "OverflowError" in states[-1].error


# -- 8: headless plays a recording once -----------------------------------------------------------------------------
def test_headless_refuses_a_looping_replay(tmp_path, capsys):
    rc = main(["kiosk", "--headless", "--camera", f"folder:{DEMO}/camera?loop=1", "--scale", "sim:",
               "--bundle", str(tmp_path / "nope"), "--catalog", str(tmp_path / "c.sqlite"),
               "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "loop=1" in err


def test_opencvs_cap_is_the_header_checks_cap():
    import kiosk
    from kiosk.bundle_format.preprocess import MAX_PIXELS

    assert kiosk.OPENCV_MAX_PIXELS == MAX_PIXELS
