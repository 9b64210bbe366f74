"""Training, evaluation and head office."""

import kiosk.errors  # noqa: F401  (kiosk/__init__.py caps what OpenCV may decode before any module here loads cv2)
