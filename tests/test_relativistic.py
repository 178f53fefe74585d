"""The relativistic pairing loss with R1 + R2 (``"rpgan"``) through ``GAN.train_step``."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan import builders, losses
from keras_mrigan.config import RunConfig
from keras_mrigan.models import dcgan, stylegan2
from keras_mrigan.models.gan import GAN

LATENT = 8


def _softplus(x):
    return np.logaddexp(0.0, np.asarray(x, np.float64))


def _images(n, resolution, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, resolution, resolution, 1)).astype(np.float32)


class LinearCritic(keras.Model):
    """``D(x) = <w, x> + b``: its input gradient is ``w`` for every image. It keeps the
    images it scores, in call order."""

    def __init__(self, w, b):
        super().__init__()
        self.w = tf.constant(w)
        self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(b),
                                 name="b")
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(np.array(x))
        return tf.reduce_sum(x * self.w, axis=[1, 2, 3])[:, None] + self.b


def _linear_gan(w, b=0.7, **kwargs):
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16)
    return GAN(generator, LinearCritic(w, b), seed=0, **kwargs)


def _scores(images, w, b):
    return (images.astype(np.float64) * w).sum(axis=(1, 2, 3)) + b


@pytest.mark.parametrize("scale", [0.0, 0.05, 0.5])
def test_discriminator_objective_against_closed_form(scale):
    # Linear D: R1 = R2 = ||w||^2 for every image, so the penalty is (gamma / 2) 2 ||w||^2;
    # the loss depends on D(x) - D(G(z)) = <w, x - G(z)>, whatever b.
    rng = np.random.default_rng(3)
    w = (scale * rng.standard_normal((1, 16, 16, 1))).astype(np.float32)
    gan = _linear_gan(w)
    gan.compile(loss="rpgan", penalty_weight=0.3)
    real, fake = _images(4, 16, 0), _images(4, 16, 1)
    total, d_loss, penalty, real_scores, fake_scores = gan.discriminator_objective(
        tf.constant(real), tf.constant(fake))
    norm2 = float((w.astype(np.float64) ** 2).sum())
    np.testing.assert_allclose(float(penalty), 0.3 * norm2, rtol=1e-5, atol=1e-8)
    expected = _softplus(-(_scores(real, w, 0.7) - _scores(fake, w, 0.7))).mean()
    np.testing.assert_allclose(float(d_loss), expected, rtol=1e-5)
    np.testing.assert_allclose(float(total), expected + 0.3 * norm2, rtol=1e-5)
    np.testing.assert_allclose(real_scores.numpy()[:, 0], _scores(real, w, 0.7), rtol=1e-5)


def test_r2_penalty_is_r1_at_the_generated_images():
    # A critic whose gradient differs between real and generated images separates the two:
    # D(x) = sum(x^2) / 2 has gradient x, so R1 = E||x||^2 and R2 = E||G(z)||^2.
    class SquareCritic(keras.Model):
        def call(self, x, training=False):
            return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]

    real, fake = _images(3, 8, 0), 0.5 * _images(3, 8, 1)
    r1 = (real.astype(np.float64) ** 2).sum(axis=(1, 2, 3)).mean()
    r2 = (fake.astype(np.float64) ** 2).sum(axis=(1, 2, 3)).mean()
    from keras_mrigan.models import penalties

    value = penalties.gradient_penalty("r1r2", SquareCritic(), tf.constant(real),
                                       tf.constant(fake), None, 2.0)
    np.testing.assert_allclose(float(value), r1 + r2, rtol=1e-5)
    only_r1 = penalties.gradient_penalty("r1", SquareCritic(), tf.constant(real),
                                         tf.constant(fake), None, 2.0)
    np.testing.assert_allclose(float(only_r1), r1, rtol=1e-5)
    np.testing.assert_allclose(float(losses.r2_penalty(tf.constant(fake))), r2, rtol=1e-5)


def test_lazy_r1r2_is_k_times_the_penalty_on_its_steps():
    w = np.full((1, 16, 16, 1), 0.1, np.float32)  # ||w||^2 = 2.56.
    gan = _linear_gan(w)
    gan.compile(loss="rpgan", penalty_weight=0.5, penalty_interval=3)
    real = tf.constant(_images(2, 16, 0))
    found = []
    for step in range(6):
        gan.d_optimizer.iterations.assign(step)
        found.append(float(gan.discriminator_objective(real, real)[2]))
    np.testing.assert_allclose(found, [3 * 0.5 * 2.56, 0, 0] * 2, rtol=1e-5)


@pytest.mark.parametrize("loss", ["rpgan", "gan-r1"])
def test_generator_step_scores_reals_only_for_relativistic_losses(loss):
    w = np.random.default_rng(0).uniform(-0.05, 0.05, (1, 16, 16, 1)).astype(np.float32)
    gan = _linear_gan(w, b=-2.0)
    gan.compile(loss=loss)
    real = _images(4, 16, 5)
    g_loss = float(gan._generator_step(4, tf.constant(real)))
    if loss == "gan-r1":
        assert len(gan.discriminator.seen) == 1  # The generated images only.
        fake_scores = _scores(gan.discriminator.seen[0], w, -2.0)
        np.testing.assert_allclose(g_loss, _softplus(-fake_scores).mean(), rtol=1e-5)
        return
    seen_real, seen_fake = gan.discriminator.seen
    np.testing.assert_array_equal(seen_real, real)  # No augmentation policy: as given.
    # E[softplus(-(D(G(z)) - D(x)))]: b cancels.
    expected = _softplus(_scores(seen_real, w, 0.0) - _scores(seen_fake, w, 0.0)).mean()
    np.testing.assert_allclose(g_loss, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="needs the real batch. Received: real=None"):
        gan._generator_step(4)


def test_relativistic_loss_functions_and_lookup():
    real = np.array([[2.0], [-1.0], [0.5]], np.float32)
    fake = np.array([[-2.0], [0.3], [1.5]], np.float32)
    np.testing.assert_allclose(float(losses.relativistic_discriminator_loss(real, fake)),
                               _softplus(fake - real).mean(), rtol=1e-6)
    np.testing.assert_allclose(float(losses.relativistic_generator_loss(fake, real)),
                               _softplus(real - fake).mean(), rtol=1e-6)
    # Only differences count: a constant added to every score changes nothing.
    np.testing.assert_allclose(float(losses.relativistic_discriminator_loss(real + 5, fake + 5)),
                               _softplus(fake - real).mean(), rtol=1e-6)
    loss = losses.get("R3GAN", penalty_weight=0.05)
    assert isinstance(loss, losses.RpGANLoss) and loss.name == "rpgan"
    assert (loss.penalty, loss.relativistic, loss.penalty_weight) == ("r1r2", True, 0.05)
    assert not losses.get("gan-r1").relativistic
    assert "r1r2" in losses.GRADIENT_PENALTIES and "r1r2" in losses.PER_SAMPLE_PENALTIES
    with pytest.raises(ValueError, match="Received: real_scores=None"):
        loss.generator_loss(fake)
    gan = _linear_gan(np.zeros((1, 16, 16, 1), np.float32))
    with pytest.raises(ValueError, match="'rpgan' has none"):
        gan.compile(loss="rpgan", real_label=0.9)


def test_ada_reads_the_sign_of_real_minus_generated_scores():
    # D(x) = mean(x) + b with b = -100: every raw score is negative, but a real batch of ones
    # scores above any tanh output (mean < 1), so D(x) - D(G(z)) > 0 for every pair.
    class MeanCritic(keras.Model):
        def __init__(self):
            super().__init__()
            self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(-100.0))

        def call(self, x, training=False):
            return tf.reduce_mean(x, axis=[1, 2, 3])[:, None] + self.b

    real = np.ones((8, 16, 16, 1), np.float32)
    found = {}
    for loss in ("rpgan", "gan-r1"):
        keras.utils.set_random_seed(0)
        generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16)
        gan = GAN(generator, MeanCritic(), seed=0, augment="flip", augment_p=0.5,
                  ada_target=0.6, ada_images=80)
        gan.compile(loss=loss, penalty_weight=0.1)
        gan.fit(real, batch_size=8, epochs=1, verbose=0)
        found[loss] = float(gan.augment_p.numpy())
    assert found == pytest.approx({"rpgan": 0.6, "gan-r1": 0.4})


def _tiny_networks(arch, resolution=16, num_classes=0):
    if arch == "dcgan":
        return (dcgan.build_generator(resolution, latent_dim=LATENT, width=1 / 16,
                                      num_classes=num_classes),
                dcgan.build_discriminator(resolution, width=1 / 16, batch_norm=False,
                                          num_classes=num_classes))
    return (stylegan2.build_generator(resolution, latent_dim=LATENT, width=1 / 32,
                                      mapping_layers=2, num_classes=num_classes),
            stylegan2.build_discriminator(resolution, width=1 / 32, num_classes=num_classes))


@pytest.mark.parametrize("arch", ["dcgan", "stylegan2"])
def test_tiny_gan_trains_with_rpgan(arch, tmp_path):
    keras.utils.set_random_seed(0)
    gan = GAN(*_tiny_networks(arch), seed=0, ema_half_life_images=20,
              augment="translation", augment_p=0.2, ada_images=1000)
    gan.compile(loss="rpgan", penalty_weight=losses.r1_gamma(16, 8), penalty_interval=2)
    before = gan.generate(2, seed=0, raw=True)
    history = gan.fit(_images(16, 16, 0), batch_size=8, epochs=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    assert history["penalty"][-1] > 0
    assert int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 4
    assert np.abs(gan.generate(2, seed=0, raw=True) - before).max() > 1e-6
    # .keras round trip keeps the objective, its weights and its lazy interval.
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.loss_fn, losses.RpGANLoss)
    assert (loaded.loss_fn.penalty_weight, loaded.loss_fn.penalty_interval) == (
        pytest.approx(0.0002 * 16**2 / 8), 2)
    np.testing.assert_array_equal(loaded.generate(2, seed=1), gan.generate(2, seed=1))


class LabelledLinearCritic(LinearCritic):
    """A conditional ``<w, x> + b + label``, keeping the labels it scores with."""

    def __init__(self, w, b):
        super().__init__(w, b)
        self.labels = []

    def call(self, inputs, training=False):
        images, labels = inputs
        self.labels.append(np.array(labels))
        return super().call(images) + tf.cast(labels, tf.float32)[:, None]


def test_conditional_generator_step_pairs_classes():
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16, num_classes=2)
    w = np.full((1, 16, 16, 1), 0.01, np.float32)
    # Drawn labels would all be class 0: the step must use the real batch's instead.
    gan = GAN(generator, LabelledLinearCritic(w, 0.0), seed=0, num_classes=2,
              class_frequencies=[1.0, 0.0])
    gan.compile(loss="rpgan", penalty_weight=0.1, run_eagerly=True)  # The critic keeps numpy.
    labels = np.array([1, 1, 1, 0, 1, 1, 1, 1], np.int32)
    g_loss = float(gan._generator_step(8, tf.constant(_images(8, 16, 0)), tf.constant(labels)))
    critic = gan.discriminator
    for seen in critic.labels:  # The real images', then the generated images'.
        np.testing.assert_array_equal(seen, labels)
    # The label terms of each pair cancel as b does.
    expected = _softplus(_scores(critic.seen[0], w, 0.0) - _scores(critic.seen[1], w, 0.0))
    np.testing.assert_allclose(g_loss, expected.mean(), rtol=1e-5)
    history = gan.fit(_images(8, 16, 0), labels, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["g_loss"]).all()


def test_rpgan_critic_has_no_batch_norm_by_default():
    config = RunConfig().replace(loss="rpgan", resolution=16)
    assert builders.critic_batch_norm(config) is False
    assert builders.critic_batch_norm(config.replace(d_batch_norm=True)) is True
    for loss, expected in (("dragan", True), ("gan", True), ("wgan-gp", False),
                           ("gan-r1", False)):
        assert builders.critic_batch_norm(config.replace(loss=loss)) is expected
    gan = builders.build_gan(config.replace(batch_size=8, latent_dim=8, width=1 / 16))
    layers = [type(layer).__name__ for layer in gan.discriminator.layers]
    assert "BatchNormalization" not in layers
