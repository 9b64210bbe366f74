"""Other views of a photo for the export's open-set fit (:mod:`trainer.openset_fit`), so what it measures on a few
training-session photos looks more like what a store's camera will show.

* **Bank views** (:data:`BANK_VIEWS`): each trained SKU's exemplar photos also mirrored and cropped to their centre,
  so the gallery fusion's ``trained`` side (an item's nearest trained exemplar) covers a SKU from more than the
  20 photos' exact framing. An enrolled SKU's gallery is a handful of shots on the tray; an old SKU's other-session
  photo that sits nearer to them than to its own exemplars is taken by the gallery (issue 13's old-SKU loss).
* **Session shift** (:func:`session_shift`): cropped, turned, mirrored and re-lit copies of the held-back photos
  for the fusion's fit (and, when asked, for the open-set thresholds). Those photos are runs of consecutive
  training-session shots whose nearest exemplar is a near-copy (median cosine 0.98 against 0.91-0.93 for another
  session's photo of the same SKU, issue 13's protocol), so a fit on them alone learns that an enrolled SKU never
  steals and sets the gallery's bias too high for a store; a threshold refusing 1 % of them refused 10-23 % of
  another session's known items.

Chosen on issue 13's protocol split, checked on a second one (README: "Eighteenth session (2026-12-03): the gallery
fusion fitted on session-shifted copies").
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BANK_VIEWS", "SHIFT_COPIES", "SHIFT_STRENGTH", "THRESHOLD_STRENGTH", "bank_view", "session_shift"]

#: views of every exemplar photo in ``exemplars.npy`` (``identity`` first: the prototypes are its mean)
BANK_VIEWS = ("identity", "hflip", "crop90", "crop90-hflip")
SHIFT_COPIES = 2  # session-shifted copies of each held-back photo in the fusion fit (and for the thresholds)
# 1: area 40-100 %, ±30 % aspect, ±50 % light, ±20°; 1.5: 15-100 %, ±45 %, ±75 %, ±30°. The fusion's copies go far
# (a copy's nearest own exemplar: median cosine 0.83): most of a store's placements are trained SKUs, and an enrolled
# SKU should win only what it clearly owns (chosen on issue 13's protocol, README).
SHIFT_STRENGTH = 1.5
# The open-set thresholds' copies, off by default (0: the thresholds refuse a share of the held-back photos
# themselves). At 1.0 a copy's nearest own-SKU exemplar is as far as another session's handheld photo's in the
# grocery data (median cosine 0.94 against 0.93 and 0.91 on two splits of issue 13's protocol; the held-back photos:
# 0.98), and 5 % of the copies refused 4.3 % and 8.7 % of other sessions' known items (1 % of the held-back photos:
# 23.4 % and 10.0 %), but a kiosk's fixed camera shifts far less than that, and on the tests' drawn products the
# same copies set thresholds that refused no unknown item at all: how far to shift depends on the store's camera,
# so it is an export option, not a default (README: "Eighteenth session").
THRESHOLD_STRENGTH = 0.0
CENTRE = 0.9  # the crop views keep this share of each side


def bank_view(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` (H, W, 3 uint8) seen as ``name``, one of :data:`BANK_VIEWS`."""
    if name not in BANK_VIEWS:
        raise ValueError(f"bank view {name!r}: one of {', '.join(BANK_VIEWS)}")
    if name.startswith("crop90"):
        h, w = image.shape[:2]
        dy, dx = round(h * (1 - CENTRE) / 2), round(w * (1 - CENTRE) / 2)
        image = image[dy:h - dy, dx:w - dx]
    if name.endswith("hflip"):
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def session_shift(image: np.ndarray, rng: np.random.Generator, strength: float = SHIFT_STRENGTH,
                  min_side: int = 1) -> np.ndarray:
    """A copy of ``image`` (H, W, 3 uint8 BGR, as :func:`~kiosk.bundle_format.preprocess.load_image` reads it) as
    another session might have framed and lit it: a random crop (no side under ``min_side`` px, so the model's
    resize never enlarges it beyond its limit), maybe mirrored, brightness, contrast and saturation changed, turned
    by a few degrees. ``rng`` draws every parameter, so a seeded export is reproducible."""
    import torch
    from torchvision.transforms.v2 import functional as F

    h, w = image.shape[:2]
    area = rng.uniform(max(0.15, 1 - 0.6 * strength), 1.0)
    aspect = rng.uniform(1 - 0.3 * strength, 1 + 0.3 * strength)
    ch = min(h, max(min_side, int(round(h * math.sqrt(area / aspect)))))
    cw = min(w, max(min_side, int(round(w * math.sqrt(area * aspect)))))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    x = torch.from_numpy(np.ascontiguousarray(image[top:top + ch, left:left + cw, ::-1])).permute(2, 0, 1)  # RGB
    if rng.random() < 0.5:
        x = F.horizontal_flip(x)
    light = 0.5 * strength
    x = F.adjust_brightness(x, float(rng.uniform(max(0.05, 1 - light), 1 + light)))
    x = F.adjust_contrast(x, float(rng.uniform(max(0.05, 1 - light), 1 + light)))
    x = F.adjust_saturation(x, float(rng.uniform(max(0.0, 1 - light), 1 + light)))
    x = F.rotate(x, float(rng.uniform(-20 * strength, 20 * strength)), interpolation=F.InterpolationMode.BILINEAR)
    return np.ascontiguousarray(x.permute(1, 2, 0).numpy()[:, :, ::-1])
