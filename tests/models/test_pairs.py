"""Image and mask pairs: the networks' 1 + K channels, the GAN that trains and samples them, and
the augmentation that moves a mask with its image."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan import augment
from keras_mrigan.layers import PairOutput
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import seed_latents

K = 3
MASKS = {"values": [0, 128, 255], "names": ["background", "disc", "ring"]}
TINY = {  # Architecture -> (generator kwargs, discriminator kwargs, image activation).
    "dcgan": (dcgan, dict(latent_dim=8, width=1 / 16), dict(width=1 / 16), "tanh"),
}


def networks(arch, mask_classes=K, resolution=16, num_classes=0, **kwargs):
    module, g_kwargs, d_kwargs, _ = TINY[arch]
    keras.utils.set_random_seed(0)
    generator = module.build_generator(resolution, mask_classes=mask_classes,
                                       num_classes=num_classes, **g_kwargs, **kwargs)
    discriminator = module.build_discriminator(resolution, mask_classes=mask_classes,
                                               num_classes=num_classes, **d_kwargs)
    return generator, discriminator


def one_hot_pairs(images, indices, k=K):
    return np.concatenate([images, np.eye(k, dtype=np.float32)[indices]], axis=-1)


@pytest.mark.parametrize("mask_output", ["soft", "straight_through"])
def test_pair_output_channel_semantics(mask_output):
    logits = tf.constant(np.random.default_rng(0).normal(0, 3, (2, 4, 4, 1 + K)), tf.float32)
    layer = PairOutput("tanh", mask_output)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        out = layer(logits)
        weights = tf.constant(np.random.default_rng(1).normal(size=(1, 1, 1, K)), tf.float32)
        loss = tf.reduce_sum(out[..., 1:] * weights)
    gradient = tape.gradient(loss, logits).numpy()
    out, x = out.numpy(), logits.numpy()
    np.testing.assert_allclose(out[..., 0], np.tanh(x[..., 0]), rtol=1e-6)
    soft = np.exp(x[..., 1:]) / np.exp(x[..., 1:]).sum(-1, keepdims=True)
    if mask_output == "soft":
        np.testing.assert_allclose(out[..., 1:], soft, rtol=1e-5)
    else:  # Exactly one-hot forward.
        np.testing.assert_array_equal(out[..., 1:], np.eye(K)[soft.argmax(-1)])
    # Backward, both are the softmax's: d/dx_j sum_i w_i s_i = s_j (w_j - sum_i w_i s_i).
    w = weights.numpy()
    expected = soft * (w - (w * soft).sum(-1, keepdims=True))
    np.testing.assert_allclose(gradient[..., 1:], expected, rtol=1e-4, atol=1e-6)
    assert PairOutput.from_config(layer.get_config()).mask_output == mask_output


def test_pair_output_is_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16, mask_classes=K)
        assert generator.get_layer("to_image").compute_dtype == "float16"
        out = generator(np.zeros((2, 8), np.float32))
    finally:
        keras.config.set_dtype_policy(previous)
    assert out.dtype == tf.float32


def test_pair_output_refuses_bad_arguments():
    with pytest.raises(ValueError, match="`mask_output` must be one of"):
        PairOutput("tanh", "hard")
    with pytest.raises(ValueError, match="`image_activation` must be one of"):
        PairOutput("relu")
    with pytest.raises(ValueError, match="`mask_classes` must be 0 .* Received: mask_classes=1"):
        dcgan.build_generator(16, latent_dim=8, width=1 / 16, mask_classes=1)


@pytest.mark.parametrize("arch", list(TINY))
def test_every_architecture_makes_and_scores_pairs(arch):
    generator, discriminator = networks(arch)
    assert generator.output.shape[1:] == (16, 16, 1 + K)
    assert discriminator.input.shape[1:] == (16, 16, 1 + K)
    assert generator.layers[-1].name == "pair_output"
    assert generator.layers[-1].image_activation == TINY[arch][3]
    pairs = generator(np.random.default_rng(0).uniform(-1, 1, (4, 8)).astype(np.float32))
    pairs = pairs.numpy()
    if TINY[arch][3] == "tanh":
        assert np.abs(pairs[..., 0]).max() <= 1.0
    np.testing.assert_allclose(pairs[..., 1:].sum(-1), 1.0, rtol=1e-5)
    assert pairs[..., 1:].min() >= 0.0
    assert discriminator(pairs).shape == (4, 1)


@pytest.mark.parametrize("arch", list(TINY))
def test_without_masks_the_networks_are_unchanged(arch):
    module, g_kwargs, d_kwargs, _ = TINY[arch]
    keras.utils.set_random_seed(0)
    before = module.build_generator(16, **g_kwargs)
    keras.utils.set_random_seed(0)
    after = module.build_generator(16, mask_classes=0, **g_kwargs)
    assert [la.name for la in before.layers] == [la.name for la in after.layers]
    assert after.output.shape[1:] == (16, 16, 1)
    for a, b in zip(before.get_weights(), after.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert module.build_discriminator(16, **d_kwargs).input.shape[1:] == (16, 16, 1)


def test_the_gan_round_trips_and_generates_images_and_masks(tmp_path):
    generator, discriminator = networks("dcgan")
    gan = GAN(generator, discriminator, mask_classes=MASKS, ema_half_life_images=100)
    gan.compile()
    images, masks = gan.generate(5, seed=3, return_masks=True)
    assert images.shape == (5, 16, 16, 1) and masks.shape == (5, 16, 16)
    assert masks.dtype == np.int32 and set(np.unique(masks)) <= {0, 1, 2}
    assert gan.generate(5, seed=3).shape == (5, 16, 16, 1)
    pairs = gan.sampling_generator()(seed_latents(np.arange(3, 8), 8, "uniform")).numpy()
    np.testing.assert_array_equal(masks, pairs[..., 1:].argmax(-1))
    path = tmp_path / "pairs.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config()["mask_classes"]["names"] == MASKS["names"]
    assert loaded.num_mask_classes == K
    again, masks_again = loaded.generate(5, seed=3, return_masks=True)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, masks_again)
    _, labels, none = GAN(*networks("dcgan", 0)).generate(2, seed=0, return_labels=True,
                                                          return_masks=True)
    assert labels is None and none is None


def test_the_gan_refuses_networks_of_other_channels():
    generator, discriminator = networks("dcgan", mask_classes=0)
    with pytest.raises(ValueError, match="generator makes 1 channels, but the GAN's pairs "
                                         "have 4 \\(1 \\+ 3 mask classes\\)"):
        GAN(generator, discriminator, mask_classes=MASKS)
    with pytest.raises(ValueError, match="at least 2 classes"):
        GAN(generator, discriminator, mask_classes={"values": [0]})


def test_geometric_transforms_move_the_mask_with_its_image():
    images = -np.ones((1, 8, 8, 1), np.float32)
    images[0, 2, 3, 0] = 1.0
    indices = np.zeros((1, 8, 8), np.int64)
    indices[0, 2, 3] = 2  # The marker pixel's class.
    pairs = tf.constant(one_hot_pairs(images, indices))
    shifted = augment.translate(pairs, tf.constant([1]), tf.constant([-2])).numpy()
    assert shifted[0, 3, 1, 0] == 1.0 and shifted[0, 3, 1, 1:].argmax() == 2
    assert (shifted[..., 0] == 1.0).sum() == 1 and (shifted[..., 3] == 1.0).sum() == 1
    # The pixels shifted in: background image, no class.
    np.testing.assert_array_equal(shifted[0, :, -2:, 0], -1.0)
    np.testing.assert_array_equal(shifted[0, :, -2:, 1:], 0.0)
    flipped = augment.flip(pairs, None).numpy()
    assert flipped[0, 2, 4, 0] == 1.0 and flipped[0, 2, 4, 1:].argmax() == 2
    cut = augment.augment(pairs, ("cutout",), 1.0, lambda shape: tf.fill(shape, 0.3)).numpy()
    inside = cut[0, 2, 3]  # The square centred at (2, 2) with half side 2 covers the marker.
    np.testing.assert_array_equal(inside, [-1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("name", ["brightness", "contrast"])
def test_intensity_transforms_change_the_image_only(name):
    rng = np.random.default_rng(0)
    pairs = one_hot_pairs(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32),
                          rng.integers(0, K, (8, 16, 16)))
    generator = tf.random.Generator.from_seed(1)
    out = augment.augment(tf.constant(pairs), (name,), 1.0, generator.uniform).numpy()
    np.testing.assert_array_equal(out[..., 1:], pairs[..., 1:])
    assert np.abs(out[..., 0] - pairs[..., 0]).max() > 0.1
    # Channel 0 as the same transform would change a lone image.
    generator = tf.random.Generator.from_seed(1)
    alone = augment.augment(tf.constant(pairs[..., :1]), (name,), 1.0,
                            generator.uniform).numpy()
    np.testing.assert_array_equal(out[..., :1], alone)
