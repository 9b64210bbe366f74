"""Tray crops that a grey 64-bit pHash cannot tell apart although they are different photos, drawn with OpenCV.

A tray lit from one side (a smooth gradient, a little sensor noise) with one product on it: pHash sees the grey
low-frequency layout, so two products of one shape and brightness in one place, or one product put down again a few
pixels off, hash within 4 bits (``checkout data check``'s near-duplicate threshold). A copy of one photo (JPEG again,
resized) is what a duplicate really is.
"""

from __future__ import annotations

import cv2
import numpy as np

#: colours (BGR) of about the same brightness (grey 197-201): the lemon's grey twin is the pale lime
LEMON, LIME = (40, 215, 235), (40, 230, 200)
WHITE = (235, 235, 235)
BLUE_LABEL, RED_LABEL = (200, 80, 30), (40, 60, 200)


def tray(seed: int, size: tuple[int, int] = (200, 240)) -> np.ndarray:
    """An empty tray (float32 BGR): lit more on the right, sensor noise by ``seed``."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    grey = 150 + 40 * (xx / w) + 20 * (yy / h)
    img = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    return img + np.random.default_rng(seed).normal(0, 2, img.shape).astype(np.float32)


def fruit(colour, *, seed: int = 1, centre=(110, 95), angle: float = 0) -> np.ndarray:
    """A round fruit with a sticker on the tray."""
    img = tray(seed)
    cv2.ellipse(img, centre, (60, 42), angle, 0, 360, colour, -1, cv2.LINE_AA)
    cv2.ellipse(img, centre, (30, 10), angle, 0, 360, (60, 60, 60), -1, cv2.LINE_AA)
    return img


def carton(label, *, seed: int = 1) -> np.ndarray:
    """A white milk carton whose label is ``label`` (one shape, two brands)."""
    img = tray(seed)
    cv2.rectangle(img, (70, 40), (160, 170), WHITE, -1)
    cv2.rectangle(img, (80, 80), (150, 130), label, -1)
    return img


def jpeg(img: np.ndarray, quality: int = 92) -> bytes:
    return cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def copy_of(data: bytes, size: tuple[int, int] = (180, 150), quality: int = 70) -> bytes:
    """The same photo resized and encoded again (as a dataset tool would store it)."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return jpeg(cv2.resize(img, size, interpolation=cv2.INTER_AREA), quality)


def phash_distance(a: bytes, b: bytes) -> int:
    from trainer.data.hashing import hamming, inspect_bytes

    return hamming(inspect_bytes(a)["phash"], inspect_bytes(b)["phash"])
