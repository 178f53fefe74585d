import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan.models import gan as gan_module
from keras_mrigan.models import latents


def test_seed_latents_are_the_stateless_draws_keyed_seed_and_0():
    seeds = np.array([0, 5, 2**40], np.int64)
    uniform = latents.seed_latents(seeds, 8, "uniform").numpy()
    normal = latents.seed_latents(seeds, 8, "normal").numpy()
    for row, seed in enumerate(seeds):
        key = tf.constant([seed, 0], tf.int64)
        np.testing.assert_array_equal(
            uniform[row], tf.random.stateless_uniform([8], key, minval=-1.0, maxval=1.0))
        z = tf.random.stateless_normal([8], key).numpy()
        np.testing.assert_allclose(normal[row], z / np.linalg.norm(z), rtol=1e-6)
    # A seed's latent does not depend on the other seeds of its batch.
    np.testing.assert_array_equal(latents.seed_latents([5], 8)[0], uniform[1])


def test_seed_labels_are_the_stateless_draws_keyed_seed_and_1():
    seeds = np.arange(10, 20, dtype=np.int64)
    labels = latents.seed_labels(seeds, [1, 3, 0])
    assert labels.dtype == tf.int32 and labels.shape == (10,)
    logits = tf.math.log(tf.constant([[0.25, 0.75, 0.0]], tf.float32))
    expected = [int(tf.random.stateless_categorical(
        logits, 1, tf.constant([s, 1], tf.int64), dtype=tf.int32)[0, 0]) for s in seeds]
    assert labels.numpy().tolist() == expected
    # The same labels from one seed at a time, at any scale of the frequencies, in a graph.
    assert [int(latents.seed_labels([s], [1, 3, 0])[0]) for s in seeds[:3]] == expected[:3]
    np.testing.assert_array_equal(latents.seed_labels(seeds, [0.25, 0.75, 0.0]), labels)
    graph = tf.function(lambda s: latents.seed_labels(s, (1.0, 3.0, 0.0)))
    np.testing.assert_array_equal(graph(tf.constant(seeds)), labels)


def test_seed_labels_follow_the_frequencies_and_are_checked():
    labels = latents.seed_labels(np.arange(2000), [1, 3, 0]).numpy()
    assert set(labels) == {0, 1}  # A class of frequency 0 is never drawn.
    assert abs(labels.mean() - 0.75) < 0.04
    for bad in ([0, 0], [1, -1], [], [[1, 2]]):
        with pytest.raises(ValueError, match=r"`class_frequencies` must be non-negative .* "
                                             r"Received: class_frequencies="):
            latents.seed_labels([1], bad)


def test_sample_labels_keep_training_draws():
    """The batch draw keyed [seed, 1] from the frequencies' float32 logarithms, as before."""
    found = latents.sample_labels(64, (0.25, 0.75), seed=5)
    logits = tf.math.log(tf.constant([(0.25, 0.75)], tf.float32))
    expected = tf.random.stateless_categorical(logits, 64, [5, 1], dtype=tf.int32)[0]
    np.testing.assert_array_equal(found, expected)


def test_seed_range_and_random_base_seed():
    assert latents.check_seed_range(np.int64(7), 3) == 7
    assert latents.check_seed_range(latents.MAX_SEED, 1) == latents.MAX_SEED
    for seed, n, text in ((-1, 2, "-1..0"), (latents.MAX_SEED, 2, "9223372036854775808"),
                          (True, 1, "True..1"), (1.5, 1, "1.5..1.5")):
        with pytest.raises(ValueError, match=rf"Seeds must be integers from 0 to 2\^63 - 1; "
                                             rf"seed={seed!r} with n={n} gives the range "
                                             rf".*{text}"):
            latents.check_seed_range(seed, n)
    rng = np.random.default_rng(0)
    seeds = [latents.random_base_seed(10, rng) for _ in range(50)]
    assert all(0 <= s <= latents.MAX_SEED - 9 for s in seeds) and len(set(seeds)) == 50
    assert latents.random_base_seed(10, np.random.default_rng(3)) == \
        latents.random_base_seed(10, np.random.default_rng(3))


def test_latent_names_stay_importable_from_the_gan_module_with_a_warning():
    for name in ("LATENT_DISTRIBUTIONS", "check_latent_distribution", "sample_latents",
                 "seed_latents", "seed_labels", "MAX_SEED"):
        with pytest.warns(DeprecationWarning, match=f"keras_mrigan.models.latents.{name}"):
            assert getattr(gan_module, name) is getattr(latents, name)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_seed_latents_are_bit_equal_in_a_graph_and_eagerly(distribution):
    # An exported SavedModel maps seeds in a graph; GAN.generate eagerly.
    seeds = np.arange(0, 200, dtype=np.int64)
    for latent_dim in (8, 64, 512):
        eager = latents.seed_latents(seeds, latent_dim, distribution).numpy()
        graph = tf.function(lambda s, d=latent_dim: latents.seed_latents(s, d, distribution))(
            tf.constant(seeds)).numpy()
        np.testing.assert_array_equal(eager, graph)
