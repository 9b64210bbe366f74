"""Safe decoding: sizes from the header before a byte is decoded, aspect and enlargement limits, and libjpeg's
corrupt-data warnings as bad frames. The three frames of issue 15 are refused with peak memory under 300 MB,
measured in a fresh process: its own high-water mark (``VmHWM``). Its ``ru_maxrss`` is printed too, but Linux
carries the forking parent's peak into it across ``exec`` (a pytest process that grew to 1 GB reports 1 GB there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bundle_format.preprocess import (
    MAX_PIXELS,
    decode_frame,
    decode_image,
    frame_problem,
    image_size,
    resize_shorter,
)
from tests.bad_frames import header_bomb, jpeg_of, tall_png, truncated_with_eoi

REPO = Path(__file__).resolve().parents[2]


def photo(h: int = 480, w: int = 640) -> np.ndarray:
    rng = np.random.default_rng(3)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 2)


def test_sizes_come_from_the_header():
    img = photo(48, 64)
    assert image_size(jpeg_of(img)) == ("jpeg", 64, 48)
    assert image_size(cv2.imencode(".png", img)[1].tobytes()) == ("png", 64, 48)
    assert image_size(cv2.imencode(".bmp", img)[1].tobytes()) == ("bmp", 64, 48)
    assert image_size(cv2.imencode(".webp", img)[1].tobytes()) == ("webp", 64, 48)
    assert image_size(b"GIF89a....") is None and image_size(b"\xff\xd8\xff\xda") is None


def test_good_frames_decode_exactly_as_opencv_does():
    img = photo()
    for data in (jpeg_of(img), cv2.imencode(".png", img)[1].tobytes()):
        got, why = decode_frame(data)
        assert why == "" and np.array_equal(got, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


@pytest.mark.parametrize("make, words", [
    (lambda: header_bomb(photo()), "20000x20000"),
    (lambda: tall_png(), "aspect ratio"),
    (lambda: truncated_with_eoi(photo()), "Corrupt JPEG data"),
    (lambda: jpeg_of(photo())[:-2], "no end-of-image marker"),
    (lambda: b"", "0 bytes"),
])
def test_bad_frames_are_refused_with_a_reason(make, words):
    data = make()
    image, why = decode_frame(data)
    assert image is None and words in why and decode_image(data) is None


def test_opencv_alone_would_have_taken_the_truncated_jpeg():
    """The check is needed: OpenCV decodes it (printing a warning only) into a half-grey frame."""
    data = truncated_with_eoi(photo())
    assert data.endswith(b"\xff\xd9") and frame_problem(data) == ""  # header, size and end marker all look fine
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None


def test_enlargement_and_aspect_limits_in_resize():
    with pytest.raises(ValueError, match="enlargement"):
        resize_shorter(np.zeros((1, 8, 3), np.uint8), 256)
    with pytest.raises(ValueError, match="aspect"):
        resize_shorter(np.zeros((40, 400, 3), np.uint8), 32)
    assert resize_shorter(np.zeros((32, 48, 3), np.uint8), 256).shape[:2] == (256, 384)  # 8x is allowed


PROBE = """
import json, resource, sys
from pathlib import Path
from kiosk.bundle_format.preprocess import decode_frame
from kiosk.camera import open_source
out = {}
for path in sorted(Path(sys.argv[1]).iterdir()):
    image, why = decode_frame(path.read_bytes())
    out[path.name] = [image is None, why]
src = open_source(f"folder:{sys.argv[1]}")
frames = 0
while src.read() is not None:
    frames += 1
out["frames delivered"] = frames
out["skipped"] = src.skipped_count
out["ru_maxrss MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
status = Path("/proc/self/status").read_text()
out["peak MB"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(out))
"""


def test_the_three_bad_frames_are_skipped_in_little_memory(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    img = photo()
    (folder / "bomb.jpg").write_bytes(header_bomb(img))
    (folder / "tall.png").write_bytes(tall_png())
    (folder / "truncated.jpg").write_bytes(truncated_with_eoi(img))
    (folder / "ok.jpg").write_bytes(jpeg_of(img))
    assert len((folder / "bomb.jpg").read_bytes()) == 4096 and len((folder / "tall.png").read_bytes()) < 200
    run = subprocess.run([sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    print(f"\nbad frames: peak {got['peak MB']:.0f} MB (VmHWM; ru_maxrss {got['ru_maxrss MB']:.0f} MB; limit 300 MB; "
          f"MAX_PIXELS {MAX_PIXELS:,})")
    assert got["bomb.jpg"][0] and got["tall.png"][0] and got["truncated.jpg"][0] and not got["ok.jpg"][0]
    assert got["frames delivered"] == 1 and got["skipped"] == 3
    assert got["peak MB"] < 300


def png_header(width: int, height: int) -> bytes:
    """The signature, header and end of a ``width``×``height`` RGB PNG (what the size check reads), no pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(
        b"IEND", b"")


def test_a_camera_frame_is_at_most_a_4096_square_a_product_photo_may_be_larger(tmp_path):
    """A 6300×6300 PNG of 116 KB (under the 40 MP photo cap) decoded to 120 MB and peaked a replayed camera at
    272 MB: a camera's frames stop at 4096×4096, head office's photos at 40 MP."""
    from kiosk.bundle_format.preprocess import CAMERA_MAX_PIXELS
    from kiosk.camera.image_folder import load_frame_image

    data = png_header(6300, 6300)
    assert frame_problem(data) == ""  # a large product photo is still read for training
    assert "at most 16,777,216" in frame_problem(data, CAMERA_MAX_PIXELS)
    (tmp_path / "big.png").write_bytes(data)
    image, why = load_frame_image(tmp_path / "big.png")
    assert image is None and "6300x6300" in why and "16,777,216" in why
    assert frame_problem(png_header(4096, 4096), CAMERA_MAX_PIXELS) == ""


def test_a_png_whose_chunk_claims_more_than_the_file_holds_is_refused_before_decoding():
    """A corrupt IDAT length (4 GB claimed in a 0.5 MB file) cost libpng 2-8 s before its refusal."""
    data = bytearray(cv2.imencode(".png", photo())[1].tobytes())
    at = data.index(b"IDAT") - 4
    data[at:at + 4] = (0xFF002000).to_bytes(4, "big")
    assert "claims 4,278,198,272 bytes" in frame_problem(bytes(data))
    assert "no IEND" in frame_problem(cv2.imencode(".png", photo())[1].tobytes()[:-12])
