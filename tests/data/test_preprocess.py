import numpy as np
import pytest

from keras_mrigan.data import preprocess


def test_normalize_volume_maps_percentiles_to_unit_range():
    volume = np.arange(1001, dtype=np.float32)  # Percentile p is exactly 10 * p.
    out = preprocess.normalize_volume(volume, clip_percentiles=(10, 90))
    assert out.dtype == np.float32
    # 100 -> -1, 900 -> 1, linear in between, clipped outside.
    np.testing.assert_allclose(out[[0, 100, 500, 900, 1000]], [-1, -1, 0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(out[300], (300 - 100) / 400 - 1, atol=1e-6)


def test_normalize_default_percentiles():
    volume = np.arange(10001, dtype=np.float32)
    out = preprocess.normalize_volume(volume)
    assert out[50] == pytest.approx(-1.0) and out[9950] == pytest.approx(1.0)


def test_constant_volume_is_all_background():
    assert (preprocess.normalize_volume(np.full((4, 4, 4), 7.0)) == -1).all()


@pytest.mark.parametrize("bad", [(50, 10), (-1, 50), (1, 2, 3), "ab"])
def test_bad_percentiles(bad):
    with pytest.raises(ValueError, match="clip_percentiles"):
        preprocess.normalize_volume(np.zeros(8), clip_percentiles=bad)


def test_non_finite_replaced_by_minimum():
    volume = np.array([3.0, np.nan, 5.0, -np.inf, 4.0], np.float32)
    with pytest.warns(UserWarning, match="vol.nii: replaced 2 non-finite"):
        out = preprocess.replace_non_finite(volume, name="vol.nii")
    np.testing.assert_array_equal(out, [3, 3, 5, 3, 4])
    with pytest.raises(ValueError, match="every voxel is NaN"):
        preprocess.replace_non_finite(np.full(3, np.nan), name="x")


def test_crop_or_pad_square_centres():
    stack = np.arange(2 * 2 * 4, dtype=np.float32).reshape(2, 2, 4)
    padded = preprocess.crop_or_pad_square(stack, "pad", fill=-1)
    assert padded.shape == (2, 4, 4)
    np.testing.assert_array_equal(padded[0, 0], [-1] * 4)
    np.testing.assert_array_equal(padded[0, 1:3], stack[0])
    cropped = preprocess.crop_or_pad_square(stack, "crop")
    np.testing.assert_array_equal(cropped, stack[:, :, 1:3])
    with pytest.raises(ValueError, match="square"):
        preprocess.crop_or_pad_square(stack, "stretch")


def test_resize_averages_when_shrinking():
    stack = np.zeros((1, 32, 32), np.float32)
    stack[0, :, 16:] = 1.0
    out = preprocess.resize(stack, 16)
    assert out.shape == (1, 16, 16)
    np.testing.assert_allclose(out[0, :, :7], 0.0, atol=1e-6)
    np.testing.assert_allclose(out[0, :, 9:], 1.0, atol=1e-6)
    assert 0.0 < out[0, 5, 7] < 1.0 or 0.0 < out[0, 5, 8] < 1.0
    # Constant images stay constant in both directions: no overshoot.
    np.testing.assert_allclose(preprocess.resize(np.full((1, 20, 20), 0.5), 64), 0.5, atol=1e-6)


def test_drop_empty_and_foreground():
    stack = np.full((3, 10, 10), -1.0, np.float32)
    stack[1, :2] = 1.0  # 20 % foreground.
    stack[2, :5] = 1.0  # 50 % foreground.
    np.testing.assert_allclose(preprocess.foreground_fraction(stack), [0, 0.2, 0.5])
    assert len(preprocess.drop_empty(stack, 0.3)) == 1
    assert len(preprocess.drop_empty(stack, 0.0)) == 3
    with pytest.raises(ValueError, match="min_foreground"):
        preprocess.drop_empty(stack, 1.5)


@pytest.mark.parametrize("good", [16, 32, 256, 1024])
def test_check_resolution_accepts_powers_of_two(good):
    assert preprocess.check_resolution(good) == good


def test_scale_integer_image():
    np.testing.assert_allclose(
        preprocess.scale_integer_image(np.array([0, 255], np.uint8)), [-1, 1]
    )
    np.testing.assert_allclose(
        preprocess.scale_integer_image(np.array([0, 65535], np.uint16)), [-1, 1]
    )
