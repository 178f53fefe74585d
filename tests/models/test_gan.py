import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mrigan.config import RunConfig
from keras_mrigan.losses import LOSSES
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import sample_latents

LATENT = 16


def tiny_gan(resolution=32, g_steps=1, d_steps=1, stddev=True, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    generator = dcgan.build_generator(resolution, latent_dim=LATENT, width=1 / 16)
    discriminator = dcgan.build_discriminator(resolution, width=1 / 16, minibatch_stddev=stddev)
    return GAN(generator, discriminator, g_steps=g_steps, d_steps=d_steps, seed=seed, **kwargs)


def real_images(n=16, resolution=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, resolution, resolution, 1)).astype(np.float32)


class LinearCritic(keras.Model):
    """D(x) = sum(w * x): its input gradient is w for every image."""

    def __init__(self, weights):
        super().__init__()
        self.w = tf.constant(weights)

    def call(self, x, training=False):
        return tf.reduce_sum(x * self.w, axis=[1, 2, 3])[:, None]


@pytest.mark.parametrize("loss", ["wgan-gp", "dragan"])
@pytest.mark.parametrize("scale", [0.0, 0.05, 1.0])
def test_penalty_against_closed_form(loss, scale):
    w = np.full((1, 8, 8, 1), scale, np.float32)  # ||w|| = 8 * scale.
    generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16)
    gan = GAN(generator, LinearCritic(w), seed=0)
    gan.compile(loss=loss, penalty_weight=10.0)
    real = tf.constant(real_images(4, 8))
    fake = tf.constant(real_images(4, 8, seed=1))
    total, d_loss, penalty, _, _ = gan.discriminator_objective(real, fake)
    np.testing.assert_allclose(float(penalty), 10.0 * (8 * scale - 1.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(float(total), float(d_loss) + float(penalty), rtol=1e-6)


def test_no_penalty_for_plain_losses():
    gan = tiny_gan()
    gan.compile(loss="lsgan")
    _, _, penalty, _, _ = gan.discriminator_objective(real_images(), real_images(seed=1))
    assert float(penalty) == 0.0


def test_compile_defaults_are_the_run_settings_defaults():
    config = RunConfig()
    gan = tiny_gan()
    gan.compile()
    assert gan.loss_fn.name == config.loss.loss == "dragan"
    assert gan.loss_fn.penalty_weight == config.loss.penalty_weight == 10.0
    assert gan.loss_fn.penalty_interval == config.loss.penalty_interval == 1
    assert gan.real_label == config.loss.real_label and gan.drift == config.loss.drift
    for optimizer, rate in ((gan.g_optimizer, config.optimizer.g_learning_rate),
                            (gan.d_optimizer, config.optimizer.d_learning_rate)):
        assert float(optimizer.learning_rate) == pytest.approx(rate)
        assert (optimizer.beta_1, optimizer.beta_2) == (config.optimizer.beta_1,
                                                        config.optimizer.beta_2)


def test_drift_adds_epsilon_mean_square_of_real_scores():
    gan = tiny_gan()
    gan.compile(loss="wgan-gp", drift=0.001)
    total, d_loss, penalty, real_scores, _ = gan.discriminator_objective(
        real_images(), real_images(seed=1)
    )
    drift = 0.001 * np.mean(np.square(real_scores.numpy()))
    np.testing.assert_allclose(float(total), float(d_loss) + float(penalty) + drift, rtol=1e-5)


def test_update_ratio_counts_optimizer_iterations():
    gan = tiny_gan(g_steps=3)
    gan.compile(loss="gan")
    gan.fit(real_images(32), batch_size=8, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 3 * 4
    assert int(gan.d_optimizer.iterations) == 4
    gan = tiny_gan(d_steps=2)
    gan.compile(loss="gan")
    gan.fit(real_images(16), batch_size=8, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 2 * 2
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_trains_without_nan(loss):
    gan = tiny_gan()
    gan.compile(loss=loss, real_label=0.9 if LOSSES[loss].smoothing else 1.0)
    history = gan.fit(real_images(32), batch_size=8, epochs=2, verbose=0)
    logs = history.history
    assert set(logs) == {"d_loss", "g_loss", "penalty", "d_real", "d_fake"}
    assert all(np.isfinite(v).all() for v in logs.values())
    if loss in ("wgan-gp", "dragan", "gan-r1", "rpgan"):
        assert logs["penalty"][-1] > 0
    if loss == "wgan":
        for weight in gan.discriminator.trainable_weights:
            assert np.abs(weight.numpy()).max() <= 0.01 + 1e-7


def test_label_smoothing_refused_for_wasserstein():
    gan = tiny_gan()
    with pytest.raises(ValueError, match="Label smoothing .* 'wgan-gp' has none"):
        gan.compile(loss="wgan-gp", real_label=0.9)
    with pytest.raises(ValueError, match="`loss` must be one of .* Received: loss='hinge'"):
        gan.compile(loss="hinge")


def test_latents():
    uniform = sample_latents(1000, 8, "uniform", seed=1).numpy()
    assert uniform.min() >= -1 and uniform.max() <= 1 and abs(uniform.mean()) < 0.05
    normal = sample_latents(10, 8, "normal", seed=1).numpy()
    np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(sample_latents(4, 8, seed=7), sample_latents(4, 8, seed=7))
    with pytest.raises(ValueError, match="latent_distribution"):
        sample_latents(4, 8, "cauchy")


def test_generate_is_seeded_and_in_range():
    gan = tiny_gan(latent_distribution="normal")
    a, b = gan.generate(5, seed=3), gan.generate(5, seed=3)
    assert a.shape == (5, 32, 32, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, gan.generate(5, seed=4))
    assert a.min() >= -1 and a.max() <= 1
    with pytest.raises(ValueError, match="n=0"):
        gan.generate(0)


def test_save_load_round_trip(tmp_path):
    gan = tiny_gan(g_steps=2, latent_distribution="normal")
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.0),
                loss="dragan", real_label=0.9, penalty_weight=5.0)
    gan.fit(real_images(16), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, GAN)
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)
    assert loaded.g_steps == 2 and loaded.latent_distribution == "normal"
    assert loaded.loss_fn.name == "dragan" and loaded.loss_fn.penalty_weight == 5.0
    assert loaded.real_label == 0.9
    assert float(loaded.d_optimizer.learning_rate) == pytest.approx(3e-4)
    # Optimizer state survives, so training resumes where it stopped.
    assert int(loaded.g_optimizer.iterations) == int(gan.g_optimizer.iterations) == 4
    for a, b in zip(loaded.g_optimizer.variables, gan.g_optimizer.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7)
    loaded.fit(real_images(16), batch_size=8, epochs=1, verbose=0)
    assert int(loaded.g_optimizer.iterations) == 8


def _values(weights):
    return [np.array(w.numpy()) for w in weights]


def test_ema_update_equals_its_formula():
    gan = tiny_gan(16, g_steps=2, ema_half_life_images=100, ema_rampup=0)
    gan.compile(loss="wgan-gp")
    images = real_images(8, 16)
    average = _values(gan.ema_generator.weights)
    np.testing.assert_array_equal(average[0], _values(gan.generator.weights)[0])
    beta = 0.5 ** (8 / 100)
    for _ in range(2):  # g_steps generator updates, each followed by one average update.
        gan._discriminator_step(images)
        gan._generator_step(8)
        gan._update_ema(8)
        raw = _values(gan.generator.weights)
        average = [w + (a - w) * beta if v.trainable else w
                   for a, w, v in zip(average, raw, gan.generator.weights, strict=True)]
    for expected, found in zip(average, _values(gan.ema_generator.weights), strict=True):
        np.testing.assert_allclose(found, expected, rtol=1e-6, atol=1e-7)
    assert float(gan.images_seen.numpy()) == 16
    # Batch normalization's moving statistics are copied (part of the expectation above).
    assert any(not w.trainable for w in gan.generator.weights)
    assert np.abs(average[0] - raw[0]).max() > 1e-6  # The average lags the generator.


def test_ema_rampup_and_half_life_zero():
    gan = tiny_gan(16, ema_half_life_images=1000, ema_rampup=0.05)
    gan.images_seen.assign(400.0)  # Ramp-up: half-life min(1000, 0.05 * 400) = 20 images.
    assert float(gan.ema_beta(8)) == pytest.approx(0.5 ** (8 / 20))
    gan.images_seen.assign(1e6)
    assert float(gan.ema_beta(8)) == pytest.approx(0.5 ** (8 / 1000))
    raw = tiny_gan(16)  # ema_half_life_images=0: no average; samples come from the generator.
    assert raw.ema_generator is None and raw.sampling_generator() is raw.generator
    with pytest.raises(ValueError, match="ema_half_life_images=-1"):
        tiny_gan(16, ema_half_life_images=-1)


def test_ema_generator_samples_and_round_trips(tmp_path):
    gan = tiny_gan(16, ema_half_life_images=50, ema_rampup=0)
    gan.compile(loss="dragan")
    gan.fit(tf.data.Dataset.from_tensor_slices(real_images(16, 16)).batch(8), epochs=2,
            verbose=0, shuffle=False)
    assert gan.sampling_generator() is gan.ema_generator
    ema, raw = gan.generate(4, seed=1), gan.generate(4, seed=1, raw=True)
    assert np.abs(ema - raw).max() > 1e-4
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert float(loaded.images_seen.numpy()) == float(gan.images_seen.numpy()) == 32
    np.testing.assert_array_equal(loaded.generate(4, seed=1), ema)
    np.testing.assert_array_equal(loaded.generate(4, seed=1, raw=True), raw)


@pytest.mark.parametrize("scale", [0.0, 0.05, 1.0])
def test_r1_against_closed_form(scale):
    # D(x) = sum(w x): grad D = w for every image, so R1 = (gamma / 2) ||w||^2 = 5 (8 s)^2.
    w = np.full((1, 8, 8, 1), scale, np.float32)
    generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16)
    gan = GAN(generator, LinearCritic(w), seed=0)
    gan.compile(loss="gan-r1", penalty_weight=10.0)
    real = tf.constant(real_images(4, 8))
    total, d_loss, penalty, _, _ = gan.discriminator_objective(real, real_images(4, 8, seed=1))
    np.testing.assert_allclose(float(penalty), 5.0 * (8 * scale) ** 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(total), float(d_loss) + float(penalty), rtol=1e-6)
    np.testing.assert_allclose(float(d_loss), float(gan_loss_of(gan, real)), rtol=1e-6)


def gan_loss_of(gan, real):
    """The non-saturating GAN discriminator loss of ``gan``'s objective on the same batch."""
    from keras_mrigan.losses import gan_discriminator_loss

    return gan_discriminator_loss(gan._score(real), gan._score(real_images(4, 8, seed=1)))


def test_lazy_r1_is_k_times_the_penalty_on_its_steps():
    w = np.full((1, 8, 8, 1), 0.1, np.float32)
    generator = dcgan.build_generator(16, latent_dim=LATENT, width=1 / 16)
    gan = GAN(generator, LinearCritic(w), seed=0)
    gan.compile(loss="gan-r1", penalty_weight=10.0, penalty_interval=4)
    real = tf.constant(real_images(4, 8))
    every = 5.0 * 0.8**2
    found = []
    for step in range(8):
        gan.d_optimizer.iterations.assign(step)
        found.append(float(gan.discriminator_objective(real, real)[2]))
    np.testing.assert_allclose(found, [4 * every, 0, 0, 0] * 2, rtol=1e-5)


def test_r1_refuses_label_smoothing_and_intervals_without_penalty():
    with pytest.raises(ValueError, match=r"real_label=0.9, --real-label\) does not go with"):
        tiny_gan().compile(loss="gan-r1", real_label=0.9)
    with pytest.raises(ValueError, match="'lsgan' has none"):
        tiny_gan().compile(loss="lsgan", penalty_interval=4)
    assert "gan-r1" in LOSSES
