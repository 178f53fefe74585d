"""The GAN's parts as functions: the moving average, the gradient penalties, ADA,
fading."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan.layers import WeightedSum
from keras_mrigan.models import ada, ema, fading, penalties


def test_ema_beta_and_rampup():
    assert float(ema.ema_beta(8, 100.0)) == pytest.approx(0.5 ** (8 / 100))
    seen = tf.constant(400.0, tf.float64)  # Ramp-up: half-life min(100, 0.1 * 400) = 40.
    assert float(ema.ema_beta(8, 100.0, 0.1, seen)) == pytest.approx(0.5 ** (8 / 40))
    assert ema.ema_beta(8, 100.0).dtype == tf.float64


def test_update_average_moves_trainable_weights_and_copies_statistics():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                              keras.layers.BatchNormalization()])
    average = ema.average_copy(model)
    assert not average.trainable
    before = [w.numpy() for w in average.weights]
    for weight in model.weights:
        weight.assign(weight + 1.0)
    ema.update_average(average, model, tf.constant(0.25, tf.float64))
    for old, new, weight in zip(before, average.weights, model.weights, strict=True):
        expected = weight.numpy() + (old - weight.numpy()) * 0.25 if weight.trainable \
            else weight.numpy()
        np.testing.assert_allclose(new.numpy(), expected, rtol=1e-6)
    assert float(ema.images_seen_variable().numpy()) == 0.0


def linear_score(w):
    return lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]


def test_gradient_penalties_against_closed_forms():
    rng = np.random.default_rng(0)
    real = tf.constant(rng.uniform(-1, 1, (4, 4, 4, 1)), tf.float32)
    fake = tf.constant(rng.uniform(-1, 1, (4, 4, 4, 1)), tf.float32)
    half = lambda shape: tf.fill(shape, 0.5)  # noqa: E731
    w = np.full((1, 4, 4, 1), 0.5, np.float32)  # ||grad D|| = ||w|| = 2 at every point.
    for kind in ("gradient", "dragan"):
        found = penalties.gradient_penalty(kind, linear_score(w), real, fake, half, 10.0)
        np.testing.assert_allclose(float(found), 10.0 * (2.0 - 1.0) ** 2, rtol=1e-5)
    # R1 of D(x) = ||x||^2 / 2: grad D(x) = x, so (gamma / 2) E[||x||^2].
    def square(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

    found = penalties.gradient_penalty("r1", square, real, fake, half, 4.0)
    np.testing.assert_allclose(float(found), 2.0 * np.mean(np.sum(real.numpy() ** 2,
                                                                    axis=(1, 2, 3))), rtol=1e-5)
    with pytest.raises(ValueError, match="Received: kind='clip'"):
        penalties.gradient_penalty("clip", square, real, fake, half, 1.0)


def test_global_std_and_lazy_penalty():
    x = np.random.default_rng(1).normal(size=(3, 5, 5, 1)).astype(np.float32)
    np.testing.assert_allclose(penalties.global_std(tf.constant(x)).numpy(), [x.std()],
                               rtol=1e-5)
    pairs = np.concatenate([x, 3.0 * x[..., ::-1] + 1.0, np.ones_like(x)], axis=-1)
    np.testing.assert_allclose(penalties.global_std(tf.constant(pairs)).numpy(),
                               [x.std(), 3.0 * x.std(), 0.0], rtol=1e-5, atol=1e-6)
    found = [float(penalties.lazy(lambda: tf.constant(2.0), 3, tf.constant(step)))
             for step in range(6)]
    assert found == [6.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    assert float(penalties.lazy(lambda: tf.constant(2.0), 1, tf.constant(1))) == 2.0


def test_adapted_probability_moves_by_batch_over_images():
    up = ada.adapted_probability(0.5, tf.constant([[1.0], [2.0], [3.0], [-1.0]]), 0.4, 800)
    assert float(up) == pytest.approx(0.5 + 4 / 800)  # Mean sign 0.5 > 0.4.
    down = ada.adapted_probability(0.5, tf.constant([[1.0], [-2.0]]), 0.4, 800)
    assert float(down) == pytest.approx(0.5 - 2 / 800)
    assert float(ada.adapted_probability(0.001, tf.constant([[-1.0]] * 4), 0.6, 10)) == 0.0
    assert float(ada.adapted_probability(0.999, tf.constant([[1.0]] * 4), 0.6, 10)) == 1.0
    variable = ada.probability_variable(0.25)
    assert variable.name == "augment_p" and float(variable.numpy()) == 0.25


def test_fade_real_blends_with_the_pooled_copy():
    real = np.arange(32, dtype=np.float32).reshape(2, 4, 4, 1)
    low = real.reshape(2, 2, 2, 2, 2, 1).mean(axis=(2, 4))  # 2x2 block means.
    low = low.repeat(2, axis=1).repeat(2, axis=2)
    found = fading.fade_real(tf.constant(real), tf.constant(0.25))
    np.testing.assert_allclose(found, low + 0.25 * (real - low), rtol=1e-6)
    np.testing.assert_allclose(fading.fade_real(tf.constant(real), 1.0), real)


def test_fade_layers_finds_the_weighted_sums():
    inputs = keras.Input((2,))
    fade = WeightedSum(name="fade")
    network = keras.Model(inputs, fade([keras.layers.Dense(2)(inputs), inputs]))
    assert fading.fade_layers(network) == [fade]
    assert fading.fade_layers(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == []
