"""The STAViS post-processing: min-max, Gaussian blur (MATLAB fspecial/imfilter), bicubic imresize."""

import numpy as np
import pytest
from PIL import Image

from diffsal.errors import InputError
from diffsal.metrics import PostProcess, gaussian_blur, min_max_normalise, resize_bicubic


def test_min_max_and_constant_maps():
    np.testing.assert_allclose(min_max_normalise(np.array([[2.0, 4.0], [6.0, 10.0]])), [[0, 0.25], [0.5, 1]])
    np.testing.assert_array_equal(min_max_normalise(np.full((2, 3), 7.0)), 0.5)  # SaliencyToolbox normalizeImage


def test_blur_is_the_matlab_13_tap_kernel_with_symmetric_borders():
    rng = np.random.default_rng(0)
    image = rng.random((9, 11))
    radius = 6  # 2 * ceil(3 * 2) + 1 = 13 taps for sigma 2
    offsets = np.arange(-radius, radius + 1)
    kernel_1d = np.exp(-offsets ** 2 / (2 * 2.0 ** 2))
    kernel = np.outer(kernel_1d, kernel_1d)
    kernel /= kernel.sum()
    padded = np.pad(image, radius, mode="symmetric")  # MATLAB 'symmetric' repeats the edge pixel
    expected = np.zeros_like(image)
    for dy in range(13):
        for dx in range(13):
            expected += kernel[dy, dx] * padded[dy:dy + 9, dx:dx + 11]
    np.testing.assert_allclose(gaussian_blur(image, 2.0), expected, atol=1e-12)


def test_resize_by_hand():
    # Upscaling x2: output 1 sits at input coordinate 0.75, taps at -1..2 (mirrored at the border) with
    # Keys weights (a = -0.5) -0.0234375, 0.2265625, 0.8671875, -0.0703125 on values 2, 1, 1, 2.
    result = resize_bicubic(np.array([[1.0, 2.0, 3.0, 4.0]]), (1, 8))
    assert result[0, 0] == pytest.approx(-0.0234375 * 2 + 0.2265625 + 0.8671875 - 0.0703125 * 2)
    np.testing.assert_allclose(result[0, ::-1], 5.0 - result[0])  # symmetric about the centre


@pytest.mark.parametrize("shape", [(41, 57), (12, 19), (30, 40)])
def test_resize_matches_pillow_bicubic_away_from_the_border(shape):
    # Pillow's bicubic is the same antialiased Keys kernel; only border handling differs.
    image = np.random.default_rng(1).random((30, 40)).astype(np.float32)
    ours = resize_bicubic(image, shape)
    pillow = np.asarray(Image.fromarray(image, mode="F").resize((shape[1], shape[0]), Image.BICUBIC))
    assert ours.shape == shape
    np.testing.assert_allclose(ours[4:-4, 4:-4], pillow[4:-4, 4:-4], atol=1e-5)


def test_resize_keeps_constants_and_sums_of_weights():
    np.testing.assert_allclose(resize_bicubic(np.full((7, 9), 3.0), (20, 4)), 3.0)


def test_postprocess_pipeline_and_options():
    rng = np.random.default_rng(2)
    prediction = rng.random((8, 12)) * 2 - 0.5  # partly outside [0, 1], as a raw .npy prediction can be
    full = PostProcess()(prediction, (16, 24))
    assert full.shape == (16, 24)
    manual = resize_bicubic(gaussian_blur(min_max_normalise(np.clip(prediction, 0, 1)), 2.0), (16, 24))
    np.testing.assert_allclose(full, manual)
    unclipped = PostProcess(clip=False)(prediction, (16, 24))
    np.testing.assert_allclose(unclipped, resize_bicubic(gaussian_blur(min_max_normalise(prediction), 2.0), (16, 24)))
    assert np.abs(unclipped - full).max() > 0.02, "clipping before the min-max must change such a map"
    untouched = PostProcess(clip=False, min_max=False, blur_sigma_px=0, resize=False)(prediction, (16, 24))
    np.testing.assert_array_equal(untouched, prediction)
    # MATLAB divides by the maximum after clipping: a prediction <= 0 everywhere becomes NaN everywhere.
    assert np.isnan(PostProcess()(-prediction - 1, (16, 24))).all()
    assert not np.isnan(PostProcess(clip=False)(-prediction - 1, (16, 24))).any()
    with pytest.raises(InputError, match="blur sigma"):
        PostProcess(blur_sigma_px=-1)
