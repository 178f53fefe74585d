import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan.layers import (
    EqualizedConv2D,
    EqualizedDense,
    PixelNorm,
    PixelShuffle,
    WeightedSum,
)

RNG = np.random.default_rng(0)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = RNG.normal(scale=5.0, size=(2, 3, 3, 7)).astype(np.float32)
    out = _np(PixelNorm()(x))
    np.testing.assert_allclose(np.mean(out**2, axis=-1), 1.0, rtol=1e-5)
    # Direction unchanged: a positive multiple of the input, per pixel.
    ratio = out / x
    np.testing.assert_allclose(ratio, ratio[..., :1] * np.ones_like(ratio), rtol=1e-5)


def test_equalized_dense_scales_by_he_constant_at_run_time():
    layer = EqualizedDense(5, name="d")
    x = RNG.normal(size=(4, 12)).astype(np.float32)
    out = _np(layer(x))
    kernel, bias = (w.numpy() for w in layer.weights)
    assert kernel.shape == (12, 5) and np.all(bias == 0)
    # Stored weights are N(0, 1); the effective kernel is sqrt(2) / sqrt(fan_in) times them.
    # float32 products: entries near 0 need an absolute tolerance (outputs are of order 1).
    np.testing.assert_allclose(out, x @ (kernel * math.sqrt(2) / math.sqrt(12)), rtol=1e-5,
                               atol=1e-6)
    gain1 = EqualizedDense(3, gain=1.0)
    gain1.build((None, 16))
    assert gain1.scale == pytest.approx(1 / 4)


def test_equalized_conv_scales_by_fan_in_of_kernel_and_channels():
    layer = EqualizedConv2D(4, 5, name="c")
    x = RNG.normal(size=(2, 8, 8, 3)).astype(np.float32)
    out = _np(layer(x))
    kernel = layer.kernel.numpy()
    assert layer.scale == pytest.approx(math.sqrt(2) / math.sqrt(5 * 5 * 3))
    expected = tf.nn.conv2d(x, kernel * layer.scale, 1, "SAME").numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert out.shape == (2, 8, 8, 4)
    # Initial weights are N(0, 1), not He-scaled.
    big = EqualizedConv2D(64, 3)
    big.build((None, 8, 8, 64))
    assert np.std(big.kernel.numpy()) == pytest.approx(1.0, rel=0.05)


def test_weighted_sum_mixes_and_alpha_is_a_saved_non_trainable_variable(tmp_path):
    old, new = np.zeros((1, 2, 2, 1), np.float32), np.ones((1, 2, 2, 1), np.float32)
    layer = WeightedSum()
    assert float(_np(layer([old, new])).mean()) == 0.0
    layer.alpha.assign(0.25)
    np.testing.assert_allclose(_np(layer([old, 4 * new])), 1.0)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1

    inputs = [keras.Input((2, 2, 1)), keras.Input((2, 2, 1))]
    model = keras.Model(inputs, WeightedSum(name="fade")(inputs))
    model.get_layer("fade").alpha.assign(0.75)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert float(loaded.get_layer("fade").alpha.numpy()) == 0.75
    with pytest.raises(ValueError, match="alpha"):
        WeightedSum(alpha=1.5)


def test_alpha_change_does_not_retrace():
    layer = WeightedSum()
    traces = []

    @tf.function
    def mix(a, b):
        traces.append(1)
        return layer([a, b])

    a, b = tf.zeros((1, 2)), tf.ones((1, 2))
    values = []
    for alpha in (0.0, 0.5, 1.0):
        layer.alpha.assign(alpha)
        values.append(float(mix(a, b)[0, 0]))
    assert values == [0.0, 0.5, 1.0] and len(traces) == 1


def test_pixel_shuffle_equals_depth_to_space():
    x = RNG.normal(size=(2, 3, 5, 12)).astype(np.float32)
    out = _np(PixelShuffle(2)(x))
    np.testing.assert_array_equal(out, tf.nn.depth_to_space(x, 2).numpy())
    assert out.shape == (2, 6, 10, 3)
    with pytest.raises(ValueError, match="divisible by 4"):
        PixelShuffle(2)(np.zeros((1, 2, 2, 6), np.float32))


@pytest.mark.parametrize("layer", [
    PixelNorm(epsilon=1e-6), EqualizedDense(3, gain=1.0), EqualizedConv2D(2, 3),
    PixelShuffle(2), WeightedSum(alpha=0.5),
])
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
