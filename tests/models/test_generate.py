"""``GAN.generate``: the one seed mapping (image i of seed s is the image of seed s + i)."""

import re

import keras
import numpy as np
import pytest

from keras_mrigan.layers.pair_output import run_generator
from keras_mrigan.losses import WGANGPLoss
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import seed_labels, seed_latents
from tests.conftest import by_blocks


def tiny_gan(num_classes=0, **kwargs):
    keras.utils.set_random_seed(4)
    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16, num_classes=num_classes)
    discriminator = dcgan.build_discriminator(16, width=1 / 16, num_classes=num_classes)
    return GAN(generator, discriminator, seed=0, num_classes=num_classes, **kwargs)


def by_hand(generator, seeds, labels=None):
    """The generator in inference mode on the seeds' latents, in blocks of 64, clipped."""
    return by_blocks(generator, seed_latents(seeds, 8, "normal"), labels)


def test_generate_maps_each_seed_to_its_own_image():
    gan = tiny_gan(latent_distribution="normal", ema_half_life_images=10)
    # Move the average away from the generator, so that sampling with it is visible.
    for weight in gan.generator.trainable_weights:
        weight.assign(weight * 1.5)
    images = gan.generate(70, seed=1000)
    np.testing.assert_array_equal(
        images, by_hand(gan.ema_generator, np.arange(1000, 1070, dtype=np.int64)))
    np.testing.assert_array_equal(
        gan.generate(3, seed=5, raw=True), by_hand(gan.generator, np.arange(5, 8)))
    for i in (0, 1, 63, 64, 69):
        np.testing.assert_array_equal(gan.generate(1, seed=1000 + i)[0], images[i])
    np.testing.assert_array_equal(gan.generate(70, seed=1000, batch_size=7), images)


def test_conditional_labels_follow_the_seeds_too():
    gan = tiny_gan(num_classes=2, class_frequencies=[1, 3], latent_distribution="normal")
    images, labels = gan.generate(12, seed=40, return_labels=True)
    seeds = np.arange(40, 52, dtype=np.int64)
    expected = seed_labels(seeds, [1, 3]).numpy()
    np.testing.assert_array_equal(labels, expected)
    assert 0 < labels.sum() < 12  # Both classes occur: the labels vary with the seed.
    np.testing.assert_array_equal(images, by_hand(gan.generator, seeds, expected))
    for i in (0, 5, 11):
        one_image, one_label = gan.generate(1, seed=40 + i, return_labels=True)
        np.testing.assert_array_equal(one_image[0], images[i])
        assert one_label.tolist() == [expected[i]]
    np.testing.assert_array_equal(gan.labels_for(12, seed=40), expected)
    # A chosen class keeps each seed's latent.
    np.testing.assert_array_equal(gan.generate(3, seed=40, label=1),
                                  by_hand(gan.generator, seeds[:3], np.ones(3, np.int32)))


def test_generate_without_seed_leaves_the_training_state_alone():
    gan = tiny_gan()
    state = gan.seed_generator.state.numpy().copy()
    numpy_state = np.random.get_state()[1].copy()
    first, second = gan.generate(2), gan.generate(2)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    gan.generate(2, seed=3)
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), state)


@pytest.mark.parametrize("seed, n, shown", [
    (-1, 2, "-1..0"), (2**63 - 1, 2, f"{2**63 - 1}..{2**63}"), (1.0, 1, "1.0..1.0"),
    (True, 1, "True..1")])
def test_generate_checks_its_seeds(seed, n, shown):
    with pytest.raises(ValueError, match=r"Seeds must be integers from 0 to 2\^63 - 1; "
                                         rf"seed={seed!r} with n={n} gives the range "
                                         rf"{re.escape(shown)}\.$"):
        tiny_gan().generate(n, seed=seed)


def test_generate_takes_the_last_seeds_and_checks_batch_size():
    gan = tiny_gan()
    last = gan.generate(2, seed=2**63 - 2)
    np.testing.assert_array_equal(last[1], gan.generate(1, seed=2**63 - 1)[0])
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        gan.generate(2, seed=0, batch_size=0)


def test_compile_keeps_a_loss_objects_own_settings():
    gan = tiny_gan()
    gan.compile(loss=WGANGPLoss(penalty_weight=3.0))
    assert gan.loss_fn.penalty_weight == 3.0
    gan.compile(loss=WGANGPLoss(penalty_weight=3.0), penalty_weight=7.0)
    assert gan.loss_fn.penalty_weight == 7.0 and gan.loss_fn.name == "wgan-gp"
    gan.compile(loss="wgan-gp")
    assert (gan.loss_fn.penalty_weight, gan.loss_fn.clip_value,
            gan.loss_fn.penalty_interval) == (10.0, 0.01, 1)
    assert gan.get_compile_config()["penalty_weight"] == 10.0


def test_generate_checks_labels_of_an_unconditional_gan():
    with pytest.raises(ValueError, match="This GAN is unconditional: it takes no `label`. "
                                         "Received: label=0"):
        tiny_gan().generate(2, seed=0, label=0)
    assert tiny_gan().generate(2, seed=0, return_labels=True)[1] is None


def test_run_generator_pads_to_blocks_and_answers_an_empty_request():
    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16, mask_classes=3)
    latents = seed_latents(np.arange(70), 8, "normal")
    images, masks = run_generator(generator, latents)
    assert images.shape == (70, 16, 16, 1) and masks.shape == (70, 16, 16)
    np.testing.assert_array_equal(images, by_blocks(generator, latents)[..., :1])
    images, masks = run_generator(generator, latents[:0])
    assert images.shape == (0, 16, 16, 1) and masks.shape == (0, 16, 16)
