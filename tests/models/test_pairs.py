"""Image and mask pairs: the networks' 1 + K channels, the GAN that trains and samples them, and
the augmentation that moves a mask with its image."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import save_png
from PIL import Image

from keras_mrigan import augment, training
from keras_mrigan.builders import build_gan, compile_gan, grow_gan
from keras_mrigan.config import RunConfig
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.layers import PairOutput
from keras_mrigan.models import dcgan, progan, srresnet, stylegan2
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import seed_latents

K = 3
MASKS = {"values": [0, 128, 255], "names": ["background", "disc", "ring"]}
MASKS_2 = {"values": [0, 1], "names": ["background", "disc"]}
TINY = {  # Architecture -> (generator kwargs, discriminator kwargs, image activation).
    "dcgan": (dcgan, dict(latent_dim=8, width=1 / 16), dict(width=1 / 16), "tanh"),
    "srresnet": (srresnet, dict(latent_dim=8, width=1 / 16), dict(width=1 / 256), "tanh"),
    "progan": (progan, dict(latent_dim=8, width=1 / 64), dict(width=1 / 64), "linear"),
    "stylegan2": (stylegan2, dict(latent_dim=8, width=1 / 64), dict(width=1 / 64), "linear"),
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
    assert loaded.num_mask_classes == K and loaded.mask_classes == gan.mask_classes
    assert isinstance(loaded.mask_classes, MaskClasses)
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
    with pytest.raises(ValueError, match="at least two classes"):
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


def discs(n, size=16, seed=0):
    """Pairs of a bright disc of random position and size on a dark background, whose mask
    (K = 2: background, disc) is the disc."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] + 0.5
    r = rng.uniform(0.15, 0.3, n)[:, None, None] * size
    cy, cx = (rng.uniform(0.3, 0.7, n)[:, None, None] * size for _ in range(2))
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    return one_hot_pairs(np.where(inside, 1.0, -1.0).astype(np.float32)[..., None],
                         inside.astype(int), 2)


def dice(a, b):
    return 2 * (a & b).sum() / max(a.sum() + b.sum(), 1)


@pytest.mark.slow
def test_a_tiny_pair_gan_learns_masks_that_fit_its_images():
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(16, latent_dim=16, width=1 / 16, mask_classes=2)
    discriminator = dcgan.build_discriminator(16, width=1 / 16, mask_classes=2,
                                              minibatch_stddev=False)
    gan = GAN(generator, discriminator, seed=0,
              mask_classes={"values": [0, 1], "names": ["background", "disc"]})
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5),
                loss="gan")
    gan.fit(discs(16 * 150), batch_size=16, epochs=1, verbose=0, shuffle=False)
    images, masks = gan.generate(256, seed=1000, return_masks=True)
    disc = images[..., 0] > 0
    fit = dice(masks == 1, disc)
    # Chance: each mask against another sample's image.
    chance = dice(masks == 1, np.roll(disc, 1, axis=0))
    assert 0.02 < disc.mean() < 0.4  # Discs, neither nothing nor everything.
    assert fit > 0.85 and fit > chance + 0.2, (fit, chance)


def gan_of_pairs(loss="dragan", num_classes=2, **kwargs):
    batch_norm = loss == "dragan"
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16, batch_norm=batch_norm,
                                      num_classes=num_classes, mask_classes=K)
    discriminator = dcgan.build_discriminator(16, width=1 / 16, batch_norm=batch_norm,
                                              num_classes=num_classes, mask_classes=K)
    gan = GAN(generator, discriminator, seed=0, num_classes=num_classes, mask_classes=MASKS,
              ema_half_life_images=20, ema_rampup=0, augment="translation,cutout,brightness",
              augment_p=0.5, ada_images=1000, **kwargs)
    gan.compile(loss=loss, g_optimizer=keras.optimizers.Adam(1e-3),
                d_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def train_one_step(gan, labels=True):
    rng = np.random.default_rng(0)
    pairs = one_hot_pairs(rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32),
                          rng.integers(0, K, (8, 16, 16)))
    data = (pairs, np.arange(8, dtype=np.int32) % 2) if labels else pairs
    before = [w.numpy() for w in (gan.generator.get_layer("to_image").kernel,
                                  gan.ema_generator.get_layer("to_image").kernel)]
    history = gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(8), epochs=1, verbose=0,
                      shuffle=False)
    after = [w.numpy() for w in (gan.generator.get_layer("to_image").kernel,
                                 gan.ema_generator.get_layer("to_image").kernel)]
    return history.history, before, after


def test_a_conditional_pair_gan_trains_with_its_average_and_augmentation():
    gan = gan_of_pairs("dragan")
    history, before, after = train_one_step(gan)
    assert np.isfinite([v[-1] for v in history.values()]).all()
    assert history["penalty"][-1] > 0
    # The mask channels' output weights learn, and the average follows them.
    for old, new in zip(before, after, strict=True):
        assert np.abs(new[..., 1:, :] - old[..., 1:, :]).max() > 1e-5
    assert float(gan.augment_p.numpy()) != 0.5  # ADA moved.
    images, labels, masks = gan.generate(4, seed=0, label="1", return_labels=True,
                                         return_masks=True)
    assert images.shape == (4, 16, 16, 1) and masks.shape == (4, 16, 16)
    np.testing.assert_array_equal(labels, [1, 1, 1, 1])


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["wgan-gp", "gan-r1", "rpgan"])
def test_a_pair_gan_trains_under_every_gradient_penalty(loss):
    gan = gan_of_pairs(loss, num_classes=0)
    history, before, after = train_one_step(gan, labels=False)
    assert np.isfinite([v[-1] for v in history.values()]).all()
    assert history["penalty"][-1] > 0
    assert np.abs(after[0] - before[0]).max() > 1e-5


def test_a_progressive_pair_gan_fades_and_grows_with_its_masks():
    config = RunConfig().replace(arch="progan", resolution=16, batch_size=8, latent_dim=8,
                                 width=1 / 64, loss="wgan-gp", mask_output="straight_through",
                                 jit_compile=False)
    gan = compile_gan(build_gan(config, 8, masks=MASKS), config)
    assert gan.generator.output.shape[1:] == (8, 8, 1 + K)
    assert gan.generator.get_layer("to_image_4").kernel.shape[-1] == 1 + K
    assert gan.generator.get_layer("pair_output").mask_output == "straight_through"
    gan.fade_layers[0].alpha.assign(0.5)
    rng = np.random.default_rng(0)
    pairs = one_hot_pairs(rng.uniform(-1, 1, (8, 8, 8, 1)).astype(np.float32),
                          rng.integers(0, K, (8, 8, 8)))
    faded = gan.fade_real(tf.constant(pairs)).numpy()
    np.testing.assert_allclose(faded[..., 1:].sum(-1), 1.0, rtol=1e-6)  # Still probabilities.
    history = gan.fit(pairs, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    one_hot = gan.generator(np.zeros((2, 8), np.float32)).numpy()[..., 1:]
    np.testing.assert_array_equal(one_hot.max(-1), 1.0)
    grown = grow_gan(gan, config, 16)
    assert grown.mask_classes == gan.mask_classes
    assert grown.discriminator.input.shape[1:] == (16, 16, 1 + K)
    np.testing.assert_array_equal(grown.generator.get_layer("to_image_8").kernel.numpy(),
                                  gan.generator.get_layer("to_image_8").kernel.numpy())


@pytest.mark.slow
def test_a_run_on_paired_data_trains_resumes_and_keeps_its_mask_classes(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(24):  # The OASIS release's layout, masks of gray levels 0 and 85.
        image = rng.integers(0, 256, size=(40, 32), dtype=np.uint8)
        save_png(tmp_path / "train" / f"case_{i:03d}_slice_0.nii.png", image)
        save_png(tmp_path / "seg" / f"seg_{i:03d}_slice_0.nii.png",
                 (image > 128).astype(np.uint8) * 85)
    config = RunConfig().replace(
        source=str(tmp_path / "train"), masks=str(tmp_path / "seg"), resolution=16,
        batch_size=8, latent_dim=8, width=1 / 16, loss="dragan", epochs=1, sample_count=4,
        metrics_every=1, metrics_n=16, jit_compile=False)
    gan = training.train(config, tmp_path / "run", verbose=0)
    assert gan.mask_classes.values == (0, 85)
    assert gan.generator.output.shape[1:] == (16, 16, 3)
    # The measures during training compare the generated images with the real ones.
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    swd = float(rows[1].split(",")[rows[0].split(",").index("swd")])
    assert swd > 0
    # The sample grid shows each image beside its mask: 4 pairs as 2 rows of image, mask,
    # image, mask (16 px tiles, 2 px apart); a mask tile holds only the classes' gray levels.
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_001.png"))
    assert grid.shape == (2 * 18 + 2, 4 * 18 + 2)
    assert set(np.unique(grid[2:18, 20:36])) <= {0, 255}
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert recorded["masks"] == str(tmp_path / "seg")
    resumed = training.resume(tmp_path / "run", epochs=2, verbose=0)
    assert resumed.mask_classes == gan.mask_classes
    assert int(resumed.d_optimizer.iterations) == 6  # 24 pairs, batches of 8, 2 epochs.
    # Pairs in memory (a utility regime's), with their classes.
    pairs = discs(8)
    in_memory = training.train(config.replace(source="unused", masks=None, metrics_every=0),
                               tmp_path / "mem",
                               verbose=0, data={"images": pairs, "mask_classes": MASKS_2})
    assert in_memory.mask_classes == MaskClasses.from_json(MASKS_2)
    assert in_memory.generate(2, seed=0, return_masks=True)[1].shape == (2, 16, 16)


MIRRORED = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN

K = 3
rng = np.random.default_rng(0)
pairs = np.concatenate([rng.uniform(-1, 1, (8, 16, 16, 1)),
                        np.eye(K)[rng.integers(0, K, (8, 16, 16))]], -1).astype("float32")
labels = np.arange(8, dtype=np.int32) % 2

def weights(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(1)
        gan = GAN(dcgan.build_generator(16, latent_dim=8, width=1 / 16, batch_norm=False,
                                        num_classes=2, mask_classes=K),
                  dcgan.build_discriminator(16, width=1 / 16, minibatch_stddev=False,
                                            batch_norm=False, num_classes=2, mask_classes=K),
                  seed=0, num_classes=2, mask_classes={"values": [0, 1, 2]},
                  ema_half_life_images=20, ema_rampup=0, augment="translation,cutout,contrast",
                  augment_p=0.5, ada_images=1000)
        gan.compile(loss="dragan", g_optimizer=keras.optimizers.Adam(1e-3),
                    d_optimizer=keras.optimizers.Adam(1e-3))
    initial = [v.numpy() for v in gan.generator.weights]
    gan.fit(tf.data.Dataset.from_tensor_slices((pairs, labels)).batch(8), epochs=1, verbose=0,
            shuffle=False)
    return initial, [v.numpy() for v in gan.generator.weights + gan.discriminator.weights
                     + gan.ema_generator.weights]

initial, single = weights(tf.distribute.get_strategy())
_, split = weights(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(json.dumps({
    "update": max(float(np.abs(a - b).max()) for a, b in zip(initial, single)),
    "difference": max(float(np.abs(a - b).max()) for a, b in zip(single, split))}))
"""


@pytest.mark.slow
def test_a_mirrored_step_of_a_pair_gan_equals_the_one_device_step():
    result = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["update"] > 1e-4
    assert figures["difference"] < 1e-5, figures
