"""Edge checkout kiosk: camera → recogniser → scale → SQLite catalog → bill."""

import os as _os

__version__ = "0.1.0"

#: the most pixels OpenCV may decode in this process (= :data:`kiosk.bundle_format.preprocess.MAX_PIXELS`). OpenCV
#: reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when cv2 is loaded, and refuses a bigger image after reading its header
#: and before allocating it: the decoder-side guard behind every header check (a TIFF whose size tags were given
#: twice, 1000x1000 then 12000x12000, decoded to 1 GB). Set here, before any module of ours imports cv2.
OPENCV_MAX_PIXELS = 40_000_000


def _cap_opencv_pixels() -> None:
    given = _os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "").strip()
    if not (given.isascii() and given.isdigit() and 0 < int(given) <= OPENCV_MAX_PIXELS):
        _os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(OPENCV_MAX_PIXELS)


_cap_opencv_pixels()
