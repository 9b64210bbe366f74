"""The export's other views of a photo (:mod:`trainer.openset_views`): the exemplar bank's mirrored and centre-cropped
views, and the session-shifted copies of the held-back photos the gallery fusion is fitted on."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.openset_views import BANK_VIEWS, bank_view, session_shift


def _photo(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_bank_views_mirror_and_crop_the_centre():
    image = _photo()
    assert BANK_VIEWS[0] == "identity"
    np.testing.assert_array_equal(bank_view(image, "identity"), image)
    np.testing.assert_array_equal(bank_view(image, "hflip"), image[:, ::-1])
    np.testing.assert_array_equal(bank_view(image, "crop90"), image[3:57, 4:76])
    np.testing.assert_array_equal(bank_view(image, "crop90-hflip"), image[3:57, 4:76][:, ::-1])
    assert all(bank_view(image, v).flags.c_contiguous for v in BANK_VIEWS)
    with pytest.raises(ValueError, match="bank view 'rotate'"):
        bank_view(image, "rotate")


def test_session_shift_is_reproducible_from_its_seed_and_changes_the_photo():
    image = _photo()
    a = session_shift(image, np.random.default_rng(0))
    b = session_shift(image, np.random.default_rng(0))
    c = session_shift(image, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert a.shape != image.shape or not np.array_equal(a, image)


def test_session_shift_at_strength_zero_keeps_the_photo_or_mirrors_it():
    image = _photo()
    for seed in range(6):
        out = session_shift(image, np.random.default_rng(seed), strength=0.0)
        assert np.array_equal(out, image) or np.array_equal(out, image[:, ::-1])


def test_session_shift_never_crops_below_the_smallest_side_asked_for():
    image = _photo(40, 50)
    rng = np.random.default_rng(0)
    for _ in range(40):
        out = session_shift(image, rng, strength=2.0, min_side=30)
        assert min(out.shape[:2]) >= 30 and out.shape[0] <= 40 and out.shape[1] <= 50
