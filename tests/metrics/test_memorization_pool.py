import numpy as np
import pytest

from keras_mrigan.metrics.memorization import pool


def test_pool_averages_blocks_when_the_size_divides():
    images = np.arange(2 * 64 * 64, dtype=np.float32).reshape(2, 64, 64, 1)
    thumbnails = pool(images)
    assert thumbnails.shape == (2, 32, 32) and thumbnails.dtype == np.float32
    # Thumbnail pixel (i, j) is the mean of image pixels (2i..2i+1, 2j..2j+1).
    assert thumbnails[1, 3, 5] == images[1, 6:8, 10:12].mean()
    small = np.ones((1, 20, 20), np.float32)
    np.testing.assert_array_equal(pool(small), small)  # Already smaller: unchanged.


def test_pool_weighs_border_pixels_by_the_area_each_cell_covers():
    # 3 pixels into 2 cells of 1.5 pixels: cell 0 = (p0 + 0.5 p1) / 1.5, cell 1 = (0.5 p1 + p2)
    # / 1.5, along both axes.
    image = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    by_hand = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]]) / 1.5
    expected = by_hand @ image[0] @ by_hand.T  # [[4/3, 8/3], [16/3, 20/3]]
    np.testing.assert_allclose(pool(image, size=2)[0], expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [[4 / 3, 8 / 3], [16 / 3, 20 / 3]], rtol=1e-12)


@pytest.mark.parametrize("shape", [(48, 48), (100, 100), (96, 70), (33, 32)])
def test_pool_gives_32_pixel_thumbnails_for_any_size(shape):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (3, *shape)).astype(np.float32)
    thumbnails = pool(images)
    assert thumbnails.shape == (3, 32, 32)
    # Area averaging keeps each image's mean, and a constant image stays constant.
    np.testing.assert_allclose(thumbnails.mean(axis=(1, 2)), images.mean(axis=(1, 2)),
                               atol=1e-5)
    np.testing.assert_allclose(pool(np.full((1, *shape), 0.25, np.float32)), 0.25, atol=1e-6)
    # 48 -> 32: cell 0 covers pixel 0 and half of pixel 1.
    if shape == (48, 48):
        np.testing.assert_allclose(
            thumbnails[:, 0, 0],
            (images[:, 0, 0] + 0.5 * images[:, 0, 1] + 0.5 * images[:, 1, 0]
             + 0.25 * images[:, 1, 1]) / 2.25, rtol=1e-5)
