"""The kiosk's one preprocessing: the ``reduce`` resize and the fast path's bit-identity."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.bundle_format.preprocess import (
    FramePreprocessor,
    PreprocessSpec,
    eval_crop,
    preprocess,
    resize_shorter,
    to_model_input,
)


def _photo(h: int, w: int) -> np.ndarray:
    """A textured BGR test image with fine detail (stripes) that aliases when shrunk carelessly."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    stripes = ((x // 2 + y // 3) % 2 * 120).astype(np.uint8)
    img = np.stack([stripes, np.uint8(90) + (x % 97).astype(np.uint8), (y % 131).astype(np.uint8)], -1)
    return np.clip(img.astype(int) + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(348, 348), (720, 1280), (1080, 1920), (481, 641)])
def test_reduce_is_close_to_the_area_filter_and_far_from_plain_linear(shape):
    img = _photo(*shape)
    area = resize_shorter(img, 256, "area").astype(float)
    reduce = resize_shorter(img, 256, "reduce").astype(float)
    linear = resize_shorter(img, 256, "linear").astype(float)
    assert reduce.shape == area.shape == linear.shape and min(reduce.shape[:2]) == 256
    # on the stripes, a box filter averages them out; bilinear alone samples them (aliasing) once past 2x
    # (below 2x both are a bilinear step and stripes this fine alias a little in either)
    err_reduce = np.abs(reduce - area)[..., 0].mean()
    err_linear = np.abs(linear - area)[..., 0].mean()
    if min(shape) >= 512:
        assert err_reduce < 12 and err_reduce < err_linear / 2, (err_reduce, err_linear)


def test_reduce_enlarges_small_frames_like_linear():
    img = _photo(120, 160)
    assert np.array_equal(resize_shorter(img, 256, "reduce"), resize_shorter(img, 256, "linear"))


@pytest.mark.parametrize("interpolation", ["area", "reduce"])
def test_fast_preprocess_is_bit_identical_to_the_reference(interpolation):
    spec = PreprocessSpec(resize_size=256, crop_size=224, interpolation=interpolation)
    img = _photo(720, 1280)
    assert np.array_equal(preprocess(img, spec), to_model_input(eval_crop(img, spec), spec))


def test_preprocess_fills_any_float32_buffer_it_is_given():
    """OpenCV writes the look-up straight into a contiguous ``out``; into a strided one the values are copied."""
    spec = PreprocessSpec(resize_size=329, crop_size=288, interpolation="reduce")
    img = _photo(348, 348)
    ref = to_model_input(eval_crop(img, spec), spec)
    batch = np.full((2, 3, 288, 288), np.nan, np.float32)
    assert np.shares_memory(preprocess(img, spec, out=batch[1]), batch)
    assert np.array_equal(batch[1], ref) and np.isnan(batch[0]).all()
    strided = np.full((3, 288, 576), np.nan, np.float32)[:, :, ::2]
    preprocess(img, spec, out=strided)
    assert np.array_equal(strided, ref)


@pytest.mark.parametrize("interpolation", ["area", "reduce", "linear"])
def test_the_frame_preprocessor_reuses_its_buffers_and_gives_preprocess_bit_for_bit(interpolation):
    """Frames of changing sizes (a camera switched, a replay) through one FramePreprocessor: each result is the
    stateless preprocess's, nothing of the frame before leaks into it, and its buffers are the same from frame to
    frame while the size stays."""
    spec = PreprocessSpec(resize_size=366, crop_size=320, interpolation=interpolation)
    frames = FramePreprocessor(spec)
    out = np.empty((3, 320, 320), np.float32)
    kept = []
    for i, shape in enumerate([(348, 348), (348, 348), (720, 1280), (366, 400), (348, 348), (200, 260)]):
        img = np.roll(_photo(*shape), 7 * i, axis=1)  # a different picture each time
        frames(img, out=out)
        assert np.array_equal(out, preprocess(img, spec)), (i, shape)
        kept.append((frames._resized, frames._planes[0]))
    assert kept[1][0] is kept[0][0] and kept[1][1] is kept[0][1]  # the same 348 px frame: no new arrays
    assert kept[3][0] is kept[2][0]  # 366 px short side: no resize, the 1280 px frame's buffer stays
    assert np.array_equal(frames(_photo(348, 348)), preprocess(_photo(348, 348), spec))  # no out: a new array
    with pytest.raises(ValueError, match="HxWx3"):
        frames(np.zeros((10, 10), np.uint8))


def test_unknown_interpolation_in_a_manifest_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown interpolation 'lanczos'"):
        PreprocessSpec.from_json({"resize_size": 256, "crop_size": 224, "interpolation": "lanczos"})


def test_the_trainers_interpolation_choices_are_the_kiosks():
    from kiosk.bundle_format.preprocess import INTERPOLATIONS
    from trainer.options import get_args_parser

    action = next(a for a in get_args_parser()._actions if a.dest == "interpolation")
    assert tuple(action.choices) == INTERPOLATIONS
