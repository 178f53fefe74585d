import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan import augment
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN

POLICY = ("translation", "cutout", "brightness", "contrast", "flip")


def uniform_from(seed):
    generator = tf.random.Generator.from_seed(seed)
    return lambda shape: generator.uniform(tf.stack(shape) if isinstance(shape, list) else shape)


def test_a_known_shift_of_a_known_image():
    image = -np.ones((1, 8, 8, 1), np.float32)
    image[0, 2, 3, 0] = 1.0
    shifted = augment.translate(tf.constant(image), tf.constant([1]), tf.constant([-2])).numpy()
    expected = -np.ones_like(image)
    expected[0, 3, 1, 0] = 1.0  # out[i, j] = image[i - dy, j - dx]
    np.testing.assert_array_equal(shifted, expected)
    gone = augment.translate(tf.constant(image), tf.constant([6]), tf.constant([0])).numpy()
    np.testing.assert_array_equal(gone, -np.ones_like(image))  # Filled with the background.


@pytest.mark.parametrize("name", POLICY)
def test_every_transform_keeps_values_in_range_and_changes_images(name):
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)), tf.float32)
    out = augment.augment(images, (name,), 1.0, uniform_from(1)).numpy()
    assert out.shape == images.shape
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert np.abs(out - images.numpy()).max() > 0.1
    unchanged = augment.augment(images, (name,), 0.0, uniform_from(1)).numpy()
    np.testing.assert_array_equal(unchanged, images.numpy())


def test_gradients_reach_the_generator_through_every_transform():
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16)
    discriminator = dcgan.build_discriminator(16, width=1 / 16, minibatch_stddev=False)
    latents = tf.random.uniform((8, 8), -1, 1, seed=1)
    for name in POLICY:
        with tf.GradientTape() as tape:
            fake = augment.augment(generator(latents), (name,), 1.0, uniform_from(2))
            score = tf.reduce_mean(discriminator(fake))
        gradients = tape.gradient(score, generator.trainable_variables)
        assert all(g is not None and np.isfinite(g.numpy()).all() for g in gradients), name
        assert max(float(tf.reduce_max(tf.abs(g))) for g in gradients) > 0, name


def test_policy_names_are_checked():
    assert augment.parse_policy("translation, cutout") == ("translation", "cutout")
    assert augment.parse_policy("") == () and augment.parse_policy(None) == ()
    with pytest.raises(ValueError, match="Unknown augmentation 'spin'.*translation, cutout"):
        augment.parse_policy("translation,spin")


def tiny_gan(**kwargs):
    keras.utils.set_random_seed(0)
    return GAN(dcgan.build_generator(16, latent_dim=8, width=1 / 16),
               dcgan.build_discriminator(16, width=1 / 16), seed=0, **kwargs)


def test_adaptive_probability_follows_the_sign_of_real_scores():
    gan = tiny_gan(augment="translation", augment_p=0.5, ada_target=0.6, ada_images=800)
    confident = tf.fill((8, 1), 3.0)  # Mean sign 1 > 0.6: the discriminator overfits.
    gan._adapt(confident)
    assert float(gan.augment_p.numpy()) == pytest.approx(0.5 + 8 / 800)
    unsure = tf.constant([[1.0]] * 4 + [[-1.0]] * 4)  # Mean sign 0 < 0.6.
    gan._adapt(unsure)
    gan._adapt(unsure)
    assert float(gan.augment_p.numpy()) == pytest.approx(0.5 - 8 / 800)
    gan.augment_p.assign(0.005)
    gan._adapt(unsure)
    assert float(gan.augment_p.numpy()) == 0.0  # Never below 0.


@pytest.mark.parametrize("kwargs, message", [
    ({"augment": "spin"}, "`augment` must be comma-separated names among .* augment='spin'"),
    ({"augment": "cutout", "ada_target": 1.5}, r"ada_target.*\(0, 1\).*1.5"),
    ({"augment": "cutout", "augment_p": -0.1}, r"augment_p.*\[0, 1\]"),
    ({"augment": "cutout", "ada_images": -1}, "ada_images"),
])
def test_bad_augmentation_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_gan(**kwargs)


def test_augmented_training_logs_saves_and_resumes_the_probability(tiny_config, tmp_path):
    from keras_mrigan import training
    from keras_mrigan.callbacks import read_history

    config = tiny_config.replace(augment="translation,cutout,brightness,contrast",
                                 augment_p=0.2, ada_images=100, epochs=2)
    gan = training.train(config, tmp_path / "run", verbose=0)
    history = read_history(tmp_path / "run" / "history.csv")
    assert len(history["augment_p"]) == 2 and history["augment_p"][0] != 0.2
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert float(saved.augment_p.numpy()) == float(gan.augment_p.numpy())
    assert float(gan.augment_p.numpy()) == pytest.approx(history["augment_p"][-1], abs=1e-6)
    whole = training.train(config.replace(epochs=3), tmp_path / "whole", verbose=0)
    training.resume(tmp_path / "run", epochs=3, verbose=0)
    resumed = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert float(resumed.augment_p.numpy()) == float(whole.augment_p.numpy())


def test_augment_flag_fails_before_training(tiny_config, tmp_path, capsys):
    from keras_mrigan.cli import main

    code = main(["train", "--data", tiny_config.data.source, "--out", str(tmp_path / "r"),
                 "--resolution", "16", "--augment", "spin"])
    err = capsys.readouterr().err
    assert code == 2
    assert ("`augment` must be comma-separated names among translation, cutout, brightness, "
            "contrast, flip. Received: augment='spin'") in err
    assert not (tmp_path / "r").exists()
