import keras
import numpy as np
import pytest

from keras_mrigan.layers import MinibatchStdDev


def test_values_against_numpy():
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype(np.float32)
    out = keras.ops.convert_to_numpy(MinibatchStdDev(group_size=4)(x))
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_allclose(out[..., :2], x)
    # Group g holds images g, g + 2, g + 4, g + 6 (batch 8, group size 4).
    for g in range(2):
        members = x[g::2]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[g::2, ..., 2], expected, rtol=1e-5)


def test_identical_images_give_zero():
    x = np.ones((4, 2, 2, 1), np.float32)
    out = keras.ops.convert_to_numpy(MinibatchStdDev(4)(x))
    np.testing.assert_allclose(out[..., 1], 1e-4, atol=1e-6)


def test_batch_must_be_multiple_of_group():
    with pytest.raises(ValueError, match=r"batch size \(6\) must be a multiple of group_size=4"):
        MinibatchStdDev(4)(np.zeros((6, 2, 2, 1), np.float32))
    # A batch smaller than the group forms one group.
    assert MinibatchStdDev(4)(np.zeros((3, 2, 2, 1), np.float32)).shape == (3, 2, 2, 2)
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStdDev(1)


def test_config_round_trip():
    layer = MinibatchStdDev(group_size=8, name="mbstd")
    clone = MinibatchStdDev.from_config(layer.get_config())
    assert clone.group_size == 8 and clone.name == "mbstd"
