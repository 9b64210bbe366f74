"""Deciding when to run recognition: once per item placed on the tray.

:class:`ItemTrigger` is fed every camera frame (:meth:`ItemTrigger.update`) and answers with at
most one event per frame:

* :class:`BackgroundLearned`: the empty tray has been learnt from the first still frames;
* :class:`ItemPlaced`: something new lies on the tray and the scene has been still for
  ``still_frames`` consecutive frames: run recognition on ``event.frame``. ``swapped`` is True
  when the settled scene changed again without the tray being emptied in between (one item
  swapped for another, an item added or taken away): the previous result is out of date;
* :class:`TrayCleared`: the tray has looked empty for ``clear_frames`` frames; the trigger is
  armed again.

How: every frame is shrunk (area averaging, which also averages away sensor noise) and
blurred. A pixel *differs* from a reference when its largest per-channel difference exceeds a
threshold, after removing the frame-wide median shift of each channel (small lighting drift,
auto-exposure), clipped to ``drift_limit``. The tray is *occupied* when enough pixels differ
from the background; the scene is *still* when few pixels differ from the previous frame.
While the tray is empty the background follows slow changes (running average of the pixels
that match it). A frame of another size than the background (the camera came back in another mode) starts the
learning again; ``update(frame, may_learn=False)`` holds the learning while the scale says something is on the
tray, and :meth:`ItemTrigger.relearn` takes a frame known to show the empty tray as the background (a lighting jump
past ``drift_limit``: :mod:`kiosk.services.tray_watch` decides when). No Qt, no torch: numpy and OpenCV only.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import cv2
import numpy as np

from kiosk.errors import UserError


class TriggerConfigError(UserError):
    """A trigger setting that is unknown or out of range."""


@dataclass(frozen=True)
class TriggerConfig:
    """Every field has a default; :meth:`from_dict` rejects unknown keys and bad values."""

    #: analysis resolution: the longer image side after shrinking (pixels)
    size: int = 64
    #: still frames averaged into the first background (the tray must be empty then)
    learn_frames: int = 5
    #: consecutive still frames (counting the first frame of the settled scene) before ItemPlaced
    still_frames: int = 5
    #: consecutive empty-looking frames before TrayCleared
    clear_frames: int = 3
    #: per-pixel difference (0-255, largest channel) from the background that counts as changed
    pixel_threshold: float = 25.0
    #: per-pixel difference between consecutive frames that counts as motion
    motion_threshold: float = 14.0
    #: fraction of changed pixels from which the tray counts as occupied
    occupied_fraction: float = 0.02
    #: fraction of moving pixels up to which a frame counts as still
    still_fraction: float = 0.005
    #: part of the item's footprint that must differ from the last fired scene to fire again
    swap_fraction: float = 0.4
    #: weight of a new frame in the background running average while the tray is empty
    background_rate: float = 0.05
    #: largest frame-wide brightness shift per channel (0-255) compensated as lighting drift
    drift_limit: float = 40.0

    def __post_init__(self):
        checks = {
            "size": 8 <= self.size <= 1024,
            "learn_frames": self.learn_frames >= 1,
            "still_frames": self.still_frames >= 1,
            "clear_frames": self.clear_frames >= 1,
            "pixel_threshold": 0 < self.pixel_threshold < 255,
            "motion_threshold": 0 < self.motion_threshold < 255,
            "occupied_fraction": 0 < self.occupied_fraction < 1,
            "still_fraction": 0 <= self.still_fraction < 1,
            "swap_fraction": 0 < self.swap_fraction <= 1,
            "background_rate": 0 <= self.background_rate <= 1,
            "drift_limit": 0 <= self.drift_limit < 255,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise TriggerConfigError(f"trigger settings out of range: {values}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriggerConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise TriggerConfigError(f"unknown trigger setting(s) {', '.join(unknown)} (known: {', '.join(known)})")
        values = {}
        for key, value in data.items():
            whole = known[key].type in ("int", int)  # a count of frames or pixels: 1.5 or true is a typo
            ok = type(value) is int or (not whole and type(value) is float and math.isfinite(value))
            if not ok:
                raise TriggerConfigError(f"trigger setting {key}={value!r}: expected "
                                         f"{'a whole number' if whole else 'a number'}")
            values[key] = value if whole else float(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrayState(str, enum.Enum):
    LEARNING = "learning"  # waiting for still frames of the empty tray
    EMPTY = "empty"  # armed: the tray matches the background
    SETTLING = "settling"  # something new is there, waiting for it to stay still
    OCCUPIED = "occupied"  # ItemPlaced fired; waiting for a swap or for the tray to clear


@dataclass(frozen=True, eq=False)
class BackgroundLearned:
    frame: Any


@dataclass(frozen=True, eq=False)
class ItemPlaced:
    """Run recognition on ``frame`` (the first frame in which the scene had been still long enough)."""

    frame: Any
    swapped: bool = False
    occupied_fraction: float = 0.0


@dataclass(frozen=True, eq=False)
class TrayCleared:
    frame: Any


TriggerEvent = BackgroundLearned | ItemPlaced | TrayCleared


class ItemTrigger:
    """Feed every frame to :meth:`update`; it returns a :data:`TriggerEvent` or ``None``.

    Frames are :class:`~kiosk.camera.base.Frame` objects or bare BGR uint8 arrays; events carry
    what was passed in. Not thread-safe: call from one thread.
    """

    def __init__(self, config: TriggerConfig | None = None):
        self.config = config or TriggerConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the background and start learning again (e.g. after the camera was moved)."""
        self.state = TrayState.LEARNING
        self.background: np.ndarray | None = None
        self._learn_sum: np.ndarray | None = None
        self._learn_count = 0
        self._previous: np.ndarray | None = None
        self._still_run = 0
        self._empty_run = 0
        self._fired: np.ndarray | None = None
        self._fired_area = 0.0
        self.occupied_fraction = 0.0
        self.motion_fraction = 0.0

    # -- image measures -------------------------------------------------------------------------
    def shrink(self, image: np.ndarray) -> np.ndarray:
        """BGR (or grey) uint8 frame → small blurred float32 BGR image used for every comparison."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        scale = self.config.size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        small = cv2.GaussianBlur(small, (3, 3), 0)
        return small.astype(np.float32)

    def difference(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-pixel largest channel difference after removing the frame-wide (clipped) median shift."""
        if a.shape != b.shape:
            return np.full(a.shape[:2], 255.0, np.float32)
        d = a - b
        shift = np.median(d.reshape(-1, d.shape[2]), axis=0)
        np.clip(shift, -self.config.drift_limit, self.config.drift_limit, out=shift)
        d -= shift
        return np.abs(d).max(axis=2)

    def _changed(self, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
        return self.difference(a, b) > threshold

    # -- the state machine ------------------------------------------------------------------------
    def update(self, frame, may_learn: bool = True) -> TriggerEvent | None:
        """``may_learn=False``: the empty tray is not learnt from this frame (the scale says something is on it)."""
        cfg = self.config
        image = getattr(frame, "image", frame)
        small = self.shrink(np.asarray(image))
        if self.background is not None and self.background.shape != small.shape:
            self.reset()  # the camera's picture changed size (another mode after a reconnect): learn the tray again
        if self._previous is None or self._previous.shape != small.shape:
            self.motion_fraction = 0.0 if self._previous is None else 1.0
        else:
            self.motion_fraction = float(self._changed(small, self._previous, cfg.motion_threshold).mean())
        self._previous = small
        still = self.motion_fraction <= cfg.still_fraction
        self._still_run = self._still_run + 1 if still else 1

        if self.state is TrayState.LEARNING:
            if not may_learn:
                self._learn_sum = None
                return None
            return self._learn(small, still, frame)

        changed = self._changed(small, self.background, cfg.pixel_threshold)
        self.occupied_fraction = float(changed.mean())
        occupied = self.occupied_fraction > cfg.occupied_fraction

        if self.state is TrayState.EMPTY:
            if not occupied:
                self._follow_background(small, changed)
                return None
            self.state = TrayState.SETTLING

        if self.state is TrayState.SETTLING:
            if not occupied:
                self.state = TrayState.EMPTY  # taken away again before it settled
                return None
            if self._still_run >= cfg.still_frames:
                return self._fire(small, frame, swapped=False)
            return None

        # OCCUPIED: an item has been reported
        if not occupied:
            self._empty_run += 1
            if self._empty_run >= cfg.clear_frames:
                self.state = TrayState.EMPTY
                self._fired = None
                self._empty_run = 0
                return TrayCleared(frame)
            return None
        self._empty_run = 0
        if self._still_run >= cfg.still_frames:
            moved = float(self._changed(small, self._fired, cfg.pixel_threshold).mean())
            footprint = max(self._fired_area, self.occupied_fraction)
            if moved >= max(cfg.occupied_fraction, cfg.swap_fraction * footprint):
                return self._fire(small, frame, swapped=True)
        return None

    def occupancy(self, image: np.ndarray) -> float | None:
        """Share of ``image`` (a frame of this camera) that differs from the learnt empty tray; ``None`` before the
        tray is learnt. A photo below ``occupied_fraction`` shows the empty tray (teaching refuses it)."""
        background = self.background
        if background is None:
            return None
        small = self.shrink(np.asarray(getattr(image, "image", image)))
        return float(self._changed(small, background, self.config.pixel_threshold).mean())

    def relearn(self, frame) -> None:
        """``frame`` shows the empty tray (the caller has the evidence): it becomes the background, the trigger is
        armed again."""
        small = self.shrink(np.asarray(getattr(frame, "image", frame)))
        self.background = small
        self._previous, self._learn_sum = small, None
        self.state = TrayState.EMPTY
        self._fired, self._fired_area, self._empty_run = None, 0.0, 0
        self.occupied_fraction = 0.0

    def _learn(self, small: np.ndarray, still: bool, frame) -> BackgroundLearned | None:
        if not still or self._learn_sum is None or self._learn_sum.shape != small.shape:
            self._learn_sum = small.copy()
            self._learn_count = 1
        else:
            self._learn_sum += small
            self._learn_count += 1
        if self._learn_count < self.config.learn_frames:
            return None
        self.background = self._learn_sum / self._learn_count
        self._learn_sum = None
        self.state = TrayState.EMPTY
        return BackgroundLearned(frame)

    def _follow_background(self, small: np.ndarray, changed: np.ndarray) -> None:
        rate = self.config.background_rate
        if rate <= 0:
            return
        keep = ~changed[..., None]
        self.background = np.where(keep, (1.0 - rate) * self.background + rate * small, self.background)

    def _fire(self, small: np.ndarray, frame, swapped: bool) -> ItemPlaced:
        self.state = TrayState.OCCUPIED
        self._fired = small
        self._fired_area = self.occupied_fraction
        self._empty_run = 0
        return ItemPlaced(frame, swapped=swapped, occupied_fraction=self.occupied_fraction)
