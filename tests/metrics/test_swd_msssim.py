import numpy as np
import pytest
from scipy import ndimage

from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.metrics import msssim, swd


@pytest.fixture(scope="module")
def halves():
    images = load_slices("demo", 64)[..., 0]
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[:128]], images[order[128:256]]


def test_pyramid_levels_reconstruct_the_image():
    images = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64)).astype(np.float32)
    levels = swd.laplacian_pyramid(images)
    assert [level.shape[1] for level in levels] == [64, 32, 16]
    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        rebuilt = swd._up(rebuilt) + band
    np.testing.assert_allclose(rebuilt, images, atol=1e-5)


def test_descriptors_shape():
    images = np.zeros((3, 32, 32, 1), np.float32)
    levels = swd.descriptors(images)
    assert [d.shape for d in levels] == [(3 * 128, 49), (3 * 128, 49)]


def test_swd_is_zero_with_itself_and_grows_with_blur_and_shift(halves):
    real, other = halves
    descriptors = swd.descriptors(real)
    same = swd.swd(descriptors, descriptors)
    assert same["mean"] == 0.0 and same["resolutions"] == [64, 32, 16]
    # ``swd`` of images takes the first set's descriptors with seed 0: those computed above.
    floor = swd.swd(descriptors, other)["mean"]  # Two real samples.
    blurred = [swd.swd(descriptors, ndimage.gaussian_filter(other, (0, s, s)))["mean"]
               for s in (0.5, 1.0, 2.0)]
    assert floor < blurred[0] < blurred[1] < blurred[2]
    shifted = [swd.swd(descriptors, np.roll(other, s, axis=2))["mean"] for s in (4, 12)]
    assert floor < shifted[0] < shifted[1]


def test_swd_errors():
    a = swd.descriptors(np.zeros((2, 32, 32), np.float32))
    b = swd.descriptors(np.zeros((2, 16, 16), np.float32))
    with pytest.raises(ValueError, match="pyramid levels"):
        swd.swd(a, b)
    with pytest.raises(ValueError, match="at least 16"):
        swd.descriptors(np.zeros((2, 8, 8), np.float32))


def test_ms_ssim_scales_and_extremes(halves):
    assert [msssim.scales_for(s) for s in (16, 32, 64, 128, 256)] == [1, 2, 3, 4, 5]
    real, _ = halves
    same = np.repeat(real[:1], 8, axis=0)
    assert msssim.mean_ms_ssim(same, pairs=20) == pytest.approx(1.0, abs=1e-5)
    noise = np.random.default_rng(0).uniform(-1, 1, (16, 64, 64)).astype(np.float32)
    real_value = msssim.mean_ms_ssim(real, pairs=200)
    assert msssim.mean_ms_ssim(noise, pairs=50) < 0.05 < real_value < 0.9
    with pytest.raises(ValueError, match="at least 2 images"):
        msssim.mean_ms_ssim(real[:1])
