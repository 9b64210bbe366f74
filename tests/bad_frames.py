"""The three frames that used to hurt (issue 15): a 4 KB JPEG whose header claims 20000×20000 pixels (2.4 GB once
decoded), a 160-byte PNG of 1×20000 pixels (4.1 GB once its short side was enlarged to 256) and a JPEG cut in
its scan data that still ends in an end-of-image marker (decoded by OpenCV with only a libjpeg warning)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def jpeg_of(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def header_bomb(image: np.ndarray, size: int = 4096) -> bytes:
    """``image`` as a JPEG whose SOF0 header says 20000×20000, cut to ``size`` bytes ending in EOI."""
    data = bytearray(jpeg_of(image))
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, 20000, 20000)
    return bytes(data[: size - 2]) + b"\xff\xd9"


def tall_png(width: int = 1, height: int = 20000) -> bytes:
    """A valid RGB PNG of ``width``×``height`` grey pixels (160 bytes for 1×20000)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = (b"\x00" + b"\x80\x80\x80" * width) * height
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def truncated_with_eoi(image: np.ndarray) -> bytes:
    """``image`` as a JPEG cut halfway through its scan data, then closed with an end-of-image marker."""
    data = jpeg_of(image)
    sos = data.find(b"\xff\xda")
    return data[: sos + (len(data) - sos) // 2] + b"\xff\xd9"


def write_bad_frames(folder: Path, image: np.ndarray, prefix: str = "") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{prefix}bomb.jpg": header_bomb(image), f"{prefix}tall.png": tall_png(),
             f"{prefix}truncated.jpg": truncated_with_eoi(image)}
    out = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        out.append(path)
    return out
