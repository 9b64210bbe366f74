"""The one image preprocessing the model sees at evaluation time.

Both the kiosk (``Recognizer``) and the trainer's eval preset call :func:`preprocess`,
so what the network sees in the store is byte-for-byte what it was measured on.
Only numpy and OpenCV: the kiosk can run it without torch.

Image files are decoded safely (:func:`decode_frame`): the size is read from the header first and a frame with
more than :data:`MAX_PIXELS` pixels or a side more than :data:`MAX_ASPECT` times the other is refused before a
byte is decoded; a JPEG must end in its end-of-image marker *and* decode without a single libjpeg warning
(``Corrupt JPEG data: …``: checked by a strict libjpeg-turbo pass through simplejpeg, since OpenCV only prints
those to stderr and goes on); :func:`resize_shorter` never enlarges more than :data:`MAX_UPSCALE` times.
"""

from __future__ import annotations

import math
import struct
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from kiosk.bundle_format.values import number
from kiosk.errors import UserError

#: the file names a photo folder is read for: the formats :func:`decode_frame` reads
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
#: the most pixels a decoded image may have (40 MP: any camera frame or product photo; a 20000×20000 header is not);
#: OpenCV itself refuses to decode more (``OPENCV_IO_MAX_IMAGE_PIXELS``: ``kiosk.OPENCV_MAX_PIXELS``, the same number)
MAX_PIXELS = 40_000_000
#: the most pixels a camera frame may have (4096×4096: any tray camera; a 6300×6300 PNG of 116 KB decoded to 120 MB
#: and peaked the replayed camera at 272 MB while the model uses 320 px)
CAMERA_MAX_PIXELS = 4096 * 4096
#: the longest side may be at most this many times the shortest
MAX_ASPECT = 8
#: the largest image file read (a 40 MP uncompressed BMP is 120 MB; a bigger "photo" is not one)
MAX_FILE_BYTES = 256 * 1024 * 1024
#: the most :func:`resize_shorter` may enlarge an image (a 1-pixel side must not become 256 pixels)
MAX_UPSCALE = 8.0

#: the largest resize or crop side a bundle may name (pixels)
MAX_INPUT_SIDE = 4096

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessSpec:
    """How a BGR camera frame becomes the network's NCHW float input.

    ``resize_size``: the shorter image side after resizing (pixels).
    ``crop_size``: side of the centred square crop fed to the network.
    ``mean``/``std``: per-channel normalisation of RGB values scaled to [0, 1].
    """

    resize_size: int = 256
    crop_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    color: str = "RGB"
    layout: str = "NCHW"
    interpolation: str = "area"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> PreprocessSpec:
        """The spec in ``data``; ``ValueError`` naming the field when a value is of the wrong type or out of range
        (sizes are whole pixels, ``mean`` three finite numbers, ``std`` three finite numbers above 0)."""
        if not isinstance(data, dict):
            raise ValueError("preprocess must be an object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown preprocessing keys: {sorted(unknown)}")
        values = dict(data)
        for key in ("resize_size", "crop_size"):
            if key in values:
                values[key] = number(values[key], f"preprocess.{key}", 1, MAX_INPUT_SIDE, integer=True)
        for key, low in (("mean", None), ("std", 0.0)):
            if key in values:
                if not isinstance(values[key], (list, tuple)) or len(values[key]) != 3:
                    raise ValueError(f"preprocess.{key} must be a list of 3 numbers (R, G, B)")
                values[key] = tuple(number(v, f"preprocess.{key}[{i}]", low, above=low is not None)
                                    for i, v in enumerate(values[key]))
        spec = cls(**values)
        if spec.crop_size > spec.resize_size:
            raise ValueError(f"crop_size {spec.crop_size} larger than resize_size {spec.resize_size}")
        _check_interpolation(spec.interpolation)
        if spec.color != "RGB" or spec.layout != "NCHW":
            raise ValueError(f"unsupported colour/layout {spec.color}/{spec.layout}")
        return spec


_INTERPOLATION = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}
INTERPOLATIONS = ("area", "reduce", "linear", "cubic")


def _check_interpolation(name: str) -> None:
    if name not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {name!r} (one of {', '.join(INTERPOLATIONS)})")


class ImageTooSmall(UserError, ValueError):
    """An image the network's input cannot be made from: more than :data:`MAX_UPSCALE` times too small, or too
    narrow (one line naming its size and what it needs)."""


def resize_problem(width: int, height: int, size: int) -> str:
    """Why a ``width``×``height`` image cannot be resized to a ``size``-pixel shorter side (``""`` when it can)."""
    short = min(width, height)
    if short < 1:
        return f"{width}x{height} px: an empty image"
    if max(width, height) > MAX_ASPECT * short:
        return f"{width}x{height} px: an aspect ratio above {MAX_ASPECT}:1"
    if size / short > MAX_UPSCALE:
        return (f"{width}x{height} px: too small for the model's {size} px (more than {MAX_UPSCALE:g}x enlargement; "
                f"at least {math.ceil(size / MAX_UPSCALE)} px on the shorter side)")
    return ""


def resize_shorter(image: np.ndarray, size: int, interpolation: str = "area",
                   dst: np.ndarray | None = None) -> np.ndarray:
    """Resize so the shorter side is ``size`` (aspect kept). Used for caches and for eval.

    ``area``: OpenCV's INTER_AREA, a true box filter; at a fractional factor it takes its slow general path (~1 ms
    for a 348 px frame). ``reduce``: the same box filter over whole-pixel blocks (INTER_AREA's fast path, after
    trimming at most ``factor - 1`` edge pixels), then bilinear for the remaining factor below 2 — anti-aliased like
    ``area`` where it matters (big camera frames), 5-8× faster. ``linear``/``cubic``: plain OpenCV interpolation
    (aliases past 2×). ``dst``: where the last resize may write (used when its shape fits, e.g. the previous frame's
    result; a new array otherwise).
    """
    h, w = image.shape[:2]
    if min(h, w) == size:
        return image
    problem = resize_problem(w, h, size)
    if problem:
        raise ImageTooSmall(problem)
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if interpolation == "reduce":
        factor = int(1 / scale) if scale < 1 else 1  # the box does the whole-pixel part; bilinear the rest (< 2x)
        if factor >= 2:
            hh, ww = h - h % factor, w - w % factor
            top, left = (h - hh) // 2, (w - ww) // 2
            image = cv2.resize(image[top : top + hh, left : left + ww], (ww // factor, hh // factor),
                               interpolation=cv2.INTER_AREA)
        return _resize(image, new_w, new_h, cv2.INTER_LINEAR, dst)
    _check_interpolation(interpolation)
    interp = _INTERPOLATION[interpolation]
    if scale > 1 and interpolation == "area":
        interp = cv2.INTER_LINEAR  # INTER_AREA is for shrinking only
    return _resize(image, new_w, new_h, interp, dst)


def _resize(image: np.ndarray, w: int, h: int, interpolation: int, dst: np.ndarray | None) -> np.ndarray:
    if dst is not None and dst.shape == (h, w, *image.shape[2:]) and dst.dtype == image.dtype:
        return cv2.resize(image, (w, h), dst=dst, interpolation=interpolation)
    return cv2.resize(image, (w, h), interpolation=interpolation)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top : top + size, left : left + size]


def to_model_input(rgb_crop: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 HWC RGB crop → float32 CHW normalised (no batch axis)."""
    x = rgb_crop.astype(np.float32) * (1.0 / 255.0)
    x -= np.asarray(spec.mean, dtype=np.float32)
    x /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def eval_crop(image_bgr: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """BGR frame → uint8 RGB square crop of ``spec.crop_size`` (resize shorter side, centre crop)."""
    _check_frame(image_bgr)
    resized = resize_shorter(image_bgr, spec.resize_size, spec.interpolation)
    crop = center_crop(resized, spec.crop_size)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


@lru_cache(maxsize=8)
def _normalise_lut(mean: tuple[float, float, float], std: tuple[float, float, float]) -> np.ndarray:
    """(3, 256) float32: for RGB channel c and uint8 value v, exactly what :func:`to_model_input` computes."""
    v = np.arange(256, dtype=np.uint8)[:, None].astype(np.float32) * (1.0 / 255.0)  # (256, 1), same ops as there
    v = np.repeat(v, 3, axis=1)
    v -= np.asarray(mean, dtype=np.float32)
    v /= np.asarray(std, dtype=np.float32)
    lut = np.ascontiguousarray(v.T)
    lut.setflags(write=False)
    return lut


def preprocess(image_bgr: np.ndarray, spec: PreprocessSpec, out: np.ndarray | None = None) -> np.ndarray:
    """BGR uint8 frame → float32 CHW array ready for the network (add the batch axis yourself).

    Bit-identical to ``to_model_input(eval_crop(image_bgr, spec), spec)``, but faster: the colour swap
    and the per-channel normalisation are one table look-up per pixel (OpenCV's ``LUT`` on each colour plane,
    ~3x faster than ``np.take``, which widens every uint8 index to 64 bits first) written straight into the CHW
    result (``out``, a C-contiguous float32 (3, crop, crop) array, is filled when given). A stream of frames:
    :class:`FramePreprocessor`.
    """
    _check_frame(image_bgr)
    crop = center_crop(resize_shorter(image_bgr, spec.resize_size, spec.interpolation), spec.crop_size)
    return _normalise_into(cv2.split(crop), spec, out)


class FramePreprocessor:
    """:func:`preprocess` for frames one at a time (not thread-safe): the resized frame and the colour planes are
    written into buffers kept from the previous frame. Fresh ~0.7 MB of arrays a frame cost ~0.1 ms of page faults
    and cold cache lines after each inference (measured here: 0.61 → 0.48 ms a 348 px frame, bit-identical)."""

    def __init__(self, spec: PreprocessSpec) -> None:
        self.spec = spec
        self._resized: np.ndarray | None = None
        self._planes: tuple[np.ndarray, ...] | None = None

    def __call__(self, image_bgr: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        _check_frame(image_bgr)
        spec = self.spec
        resized = resize_shorter(image_bgr, spec.resize_size, spec.interpolation, dst=self._resized)
        if resized is not image_bgr:
            self._resized = resized
        crop = center_crop(resized, spec.crop_size)
        planes = self._planes
        if planes is None or planes[0].shape != crop.shape[:2]:
            planes = self._planes = tuple(np.empty(crop.shape[:2], np.uint8) for _ in range(3))
        got = cv2.split(crop, planes)  # what split returns: it writes elsewhere when a buffer does not fit
        return _normalise_into(got, spec, out)


def _check_frame(image_bgr: np.ndarray) -> None:
    """An HxWx3 uint8 BGR frame, or ``ValueError``: a 16-bit or float frame split into 8-bit planes left the previous
    frame's planes in place, and the recogniser saw the previous frame (the sources deliver 8-bit BGR only)."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 BGR image, got shape {image_bgr.shape}")
    if image_bgr.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit (uint8) BGR image, got {image_bgr.dtype}")


def _normalise_into(planes, spec: PreprocessSpec, out: np.ndarray | None) -> np.ndarray:
    """The B, G, R ``planes`` of a crop → normalised RGB CHW float32 (into ``out`` when given)."""
    lut = _normalise_lut(tuple(spec.mean), tuple(spec.std))
    h, w = planes[0].shape
    if out is None:
        out = np.empty((3, h, w), np.float32)
    for c in range(3):  # RGB channel c is BGR channel 2 - c
        dst = out[c]
        if dst.flags.c_contiguous and dst.dtype == np.float32:
            got = cv2.LUT(planes[2 - c], lut[c : c + 1], dst=dst)
            if got.ctypes.data == dst.ctypes.data:  # written in place, as OpenCV does for such a buffer
                continue
        else:
            got = cv2.LUT(planes[2 - c], lut[c : c + 1])
        dst[...] = got
    return out


def preprocess_batch(images_bgr: list[np.ndarray], spec: PreprocessSpec) -> np.ndarray:
    return np.stack([preprocess(im, spec) for im in images_bgr])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOFn segment, or None when the markers before it are broken."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1  # fill byte
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        (length,) = struct.unpack_from(">H", data, i + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, i + 5)
            # a second frame header before the scan: which one a decoder takes is not ours to guess
            return (width, height) if _jpeg_scan_follows(data, i + 2 + length) else None
        i += 2 + length
    return None


def _jpeg_scan_follows(data: bytes, i: int) -> bool:
    """False when the markers from ``i`` give another SOFn before the start of scan (libjpeg refuses a second one; a
    header check must never read a size the decoder does not use). Broken or cut-short markers are the truncation
    and libjpeg checks' to refuse."""
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            i += 1 if marker == 0xFF else 2
            continue
        if marker in (0xD9, 0xDA):
            return True
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return False
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return True


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first image directory of a classic TIFF (tags 256 and 257: one SHORT or LONG each).

    ``None`` -- refused -- when either tag is missing, given twice (libtiff keeps the first copy: a 140 KB file whose
    second copies said 1000x1000 decoded to 12000x12000, 1 GB), or not a single SHORT/LONG: the size the header
    check reads must be the one the decoder uses."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, ifd)
        size = {}
        for k in range(count):
            tag, kind, n = struct.unpack_from(order + "HHI", data, ifd + 2 + 12 * k)
            if tag not in (256, 257):
                continue
            if tag in size or kind not in (3, 4) or n != 1:
                return None
            size[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), data, ifd + 10 + 12 * k)[0]
    except struct.error:  # the directory lies past the end of the file
        return None
    return (size[256], size[257]) if len(size) == 2 else None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a BMP, read as its header's own size says: 16-bit fields in the 12-byte OS/2 core header,
    signed 32-bit ones (height negative for top-down rows) in the larger ones; ``None`` for any other header size."""
    (header,) = struct.unpack_from("<I", data, 14)
    if header == 12:
        return struct.unpack_from("<HH", data, 18)
    if header < 16:
        return None
    w, h = struct.unpack_from("<ii", data, 18)
    return abs(w), abs(h)


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` read from the header of JPEG, PNG, BMP, WebP or TIFF bytes, without decoding;
    ``None`` for any other or a broken header."""
    if data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
        return ("jpeg", *size) if size else None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return ("png", *struct.unpack_from(">II", data, 16))
    if data[:2] == b"BM" and len(data) >= 26:
        size = _bmp_size(data)
        return ("bmp", *size) if size else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = _webp_size(data)
        return ("webp", *size) if size else None
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        size = _tiff_size(data)
        return ("tiff", *size) if size else None
    return None


def frame_problem(data: bytes, max_pixels: int = MAX_PIXELS) -> str:
    """Why these image bytes must not be decoded (``""`` when they may): empty, not JPEG/PNG/BMP/WebP/TIFF, more
    than ``max_pixels``, too narrow, or a JPEG without its end-of-image marker. Reads the header only."""
    if not data:
        return "empty file (0 bytes)"
    header = image_size(data)
    if header is None:
        return "corrupt or unknown image: no readable JPEG, PNG, BMP, WebP or TIFF header"
    kind, w, h = header
    if w < 1 or h < 1:
        return f"{kind} header gives a {w}x{h} image"
    if w * h > max_pixels:
        return f"{kind} header claims {w}x{h} = {w * h:,} pixels (at most {max_pixels:,} are decoded)"
    if max(w, h) > MAX_ASPECT * min(w, h):
        return f"{kind} image is {w}x{h}: an aspect ratio above {MAX_ASPECT}:1"
    if kind == "jpeg" and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        return "truncated JPEG (no end-of-image marker)"
    return _png_chunks_problem(data) if kind == "png" else ""


def _png_chunks_problem(data: bytes) -> str:
    """A PNG whose chunks do not fit the file (a length field that claims more than is left, no IEND): refused before
    the decoder reads it (a corrupt IDAT length cost libpng 2 s, 8 s on a loaded till, before its refusal)."""
    at, end = 8, len(data)
    while at + 8 <= end:
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if length > end - at - 12:
            return f"corrupt PNG: chunk {kind!r} at byte {at} claims {length:,} bytes, {max(0, end - at - 12):,} left"
        if kind == b"IEND":
            return ""
        at += 12 + length
    return "truncated PNG (no IEND chunk)"


def _jpeg_warning(data: bytes) -> str:
    """libjpeg's first warning for these JPEG bytes (``Corrupt JPEG data: …``), ``""`` when it decodes cleanly.

    A strict libjpeg-turbo pass at 1/8 scale (every entropy-coded byte is read, little is reconstructed): OpenCV's
    decoder prints such warnings to stderr and returns a half-grey image."""
    import simplejpeg

    try:
        simplejpeg.decode_jpeg(data, colorspace="GRAY", min_height=1, min_width=1, min_factor=8, fastdct=True,
                               strict=True)
    except ValueError as exc:
        return " ".join(str(exc).split()) or "libjpeg refused the data"
    return ""


def decode_frame(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray | None, str]:
    """Decode image bytes to BGR uint8 safely: ``(image, "")`` or ``(None, reason)`` (see the module notes);
    ``max_pixels``: :data:`CAMERA_MAX_PIXELS` for a camera's frames."""
    problem = frame_problem(data, max_pixels)
    if not problem and data[:2] == b"\xff\xd8":
        problem = _jpeg_warning(data)
    if problem:
        return None, problem
    try:  # OpenCV's own pixel cap (OPENCV_IO_MAX_IMAGE_PIXELS, set in kiosk/__init__.py) raises past a header lie
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        if "MAX_IMAGE" in str(exc):
            return None, f"decodes to more than {MAX_PIXELS:,} pixels (its header understates its size)"
        return None, f"refused by the decoder: {getattr(exc, 'err', '') or type(exc).__name__}"
    if image is None or not image.size or image.dtype != np.uint8:
        return None, "corrupt or undecodable image data"
    return image, ""


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode JPEG/PNG/BMP/WebP bytes to BGR uint8; ``None`` for corrupt, truncated, oversized or empty data."""
    return decode_frame(data)[0]


def read_photo(path) -> tuple[bytes | None, str]:
    """The bytes of the photo file at ``path``: ``(data, "")``, or ``(None, why)`` when it is missing, not a regular
    file (a folder; a device or a pipe, which a read could wait on or never finish), over :data:`MAX_FILE_BYTES`, or
    cannot be read."""
    path = Path(path)
    try:
        if not path.is_file():
            return None, "missing" if not path.exists() else "not a file"
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, f"{size / 2**20:,.0f} MB: too large for a photo (at most {MAX_FILE_BYTES // 2**20} MB)"
        return path.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"


def load_image(path, size: int = 0) -> tuple[np.ndarray | None, str]:
    """Read an image file to BGR uint8: ``(image, "")``, or ``(None, why)`` when it cannot be read
    (:func:`read_photo`) or decoded (:func:`decode_frame`), or -- with ``size``, the model's resize size -- cannot
    become its input (:func:`resize_problem`)."""
    data, problem = read_photo(path)
    if data is None:
        return None, problem
    image, problem = decode_frame(data)
    if image is not None and size:
        problem = resize_problem(image.shape[1], image.shape[0], size)
    return (None, problem) if problem else (image, "")


def read_image(path) -> np.ndarray | None:
    """Read an image file to BGR uint8; ``None`` if it is missing, empty or undecodable."""
    return load_image(path)[0]
