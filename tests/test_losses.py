import numpy as np
import pytest

from keras_mrigan import losses

REAL = np.array([[2.0], [-1.0], [0.5], [3.0]], np.float32)
FAKE = np.array([[-2.0], [0.3], [1.5], [-0.5]], np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _bce(target, logits):
    p = _sigmoid(logits)
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean()


@pytest.mark.parametrize("t", [1.0, 0.9])
def test_gan_losses(t):
    d = losses.gan_discriminator_loss(REAL, FAKE, t)
    expected = _bce(t, REAL) - np.log(1 - _sigmoid(FAKE)).mean()
    np.testing.assert_allclose(float(d), expected, rtol=1e-5)
    g = losses.gan_generator_loss(FAKE, t)
    np.testing.assert_allclose(float(g), _bce(t, FAKE), rtol=1e-5)
    if t == 1.0:  # Non-saturating: -E[log D(G(z))].
        np.testing.assert_allclose(float(g), -np.log(_sigmoid(FAKE)).mean(), rtol=1e-5)


@pytest.mark.parametrize("t", [1.0, 0.9])
def test_lsgan_losses(t):
    d = losses.lsgan_discriminator_loss(REAL, FAKE, t)
    np.testing.assert_allclose(float(d), ((REAL - t) ** 2).mean() + (FAKE**2).mean(), rtol=1e-6)
    g = losses.lsgan_generator_loss(FAKE, t)
    np.testing.assert_allclose(float(g), ((FAKE - t) ** 2).mean(), rtol=1e-6)


def test_wasserstein_losses():
    d = losses.wasserstein_discriminator_loss(REAL, FAKE)
    np.testing.assert_allclose(float(d), FAKE.mean() - REAL.mean(), rtol=1e-6)
    np.testing.assert_allclose(float(losses.wasserstein_generator_loss(FAKE)), -FAKE.mean())


def test_label_smoothing_changes_the_numbers():
    smooth = float(losses.gan_discriminator_loss(REAL, FAKE, 0.9))
    plain = float(losses.gan_discriminator_loss(REAL, FAKE, 1.0))
    # The difference is -0.1 * E[log(1 - D(x)) - log D(x)] = 0.1 * E[real logits].
    np.testing.assert_allclose(smooth - plain, 0.1 * REAL.mean(), rtol=1e-4)


def test_gradient_penalty_norm_over_all_pixels_and_channels():
    gradients = np.zeros((2, 4, 4, 2), np.float32)
    gradients[0, 0, 0, 0] = 3.0
    gradients[0, 1, 2, 1] = 4.0  # Norm 5 across pixels and channels.
    gradients[1] = 0.0  # Norm 0: guarded, (0 - 1)^2 = 1.
    value = float(losses.gradient_penalty(gradients))
    np.testing.assert_allclose(value, ((5 - 1) ** 2 + (0 - 1) ** 2) / 2, rtol=1e-5)


def test_lookup_and_penalties():
    assert isinstance(losses.get("DRAGAN"), losses.DRAGANLoss)
    assert losses.get("wgan_gp").penalty == "gradient"
    assert losses.get("wgan").penalty == "clip"
    assert losses.get("dragan").penalty == "dragan"
    assert losses.get("gan").penalty is None and losses.get("lsgan").penalty is None
    loss = losses.get("wgan-gp", penalty_weight=5.0)
    assert losses.get(loss.get_config()).penalty_weight == 5.0
    with pytest.raises(ValueError,
                       match=r"`loss` must be one of \('gan', 'lsgan'.*Received: loss='hinge'"):
        losses.get("hinge")
    with pytest.raises(ValueError, match="penalty_weight"):
        losses.get("dragan", penalty_weight=-1)


def test_get_applies_keyword_arguments_to_every_kind_of_identifier():
    loss = losses.WGANGPLoss(penalty_weight=5.0, penalty_interval=2)
    assert losses.get(loss) is loss
    assert losses.get(loss, penalty_weight=5.0) is loss  # Nothing changes: the same object.
    changed = losses.get(loss, penalty_weight=1.0)
    assert type(changed) is losses.WGANGPLoss and changed is not loss
    assert (changed.penalty_weight, changed.penalty_interval, changed.clip_value) == (1.0, 2, 0.01)
    assert loss.penalty_weight == 5.0  # The instance given is left as it is.
    # A config's values are overridden as well (they used to collide).
    from_config = losses.get(loss.get_config(), penalty_interval=4)
    assert (from_config.penalty_weight, from_config.penalty_interval) == (5.0, 4)
    assert losses.get("dragan", clip_value=0.5).clip_value == 0.5
    with pytest.raises(ValueError, match="Received: penalty_weight=-2"):
        losses.get(loss, penalty_weight=-2)
    with pytest.raises(ValueError, match="'lsgan' has none. Received: penalty_interval=3"):
        losses.get(losses.LSGANLoss(), penalty_interval=3)


def test_r1_gamma_heuristic_of_stylegan2_ada():
    # 0.0002 r^2 / N: 0.0256 at 64 px and batch 32, 0.2048 at 256 px and batch 64.
    assert losses.r1_gamma(64, 32) == pytest.approx(0.0256)
    assert losses.r1_gamma(256, 64) == pytest.approx(0.2048)
    assert losses.r1_gamma(16, 8) == pytest.approx(0.0002 * 256 / 8)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        losses.r1_gamma(64, 0)
    with pytest.raises(ValueError, match="Received: resolution=64.0"):
        losses.r1_gamma(64.0, 32)


def test_relativistic_pairing_losses():
    # Paired by position: softplus(-(D(x_i) - D(G(z_i)))) averaged over i.
    softplus = np.logaddexp(0.0, (FAKE - REAL).astype(np.float64)).mean()
    np.testing.assert_allclose(float(losses.relativistic_discriminator_loss(REAL, FAKE)),
                               softplus, rtol=1e-6)
    np.testing.assert_allclose(float(losses.relativistic_generator_loss(FAKE, REAL)),
                               np.logaddexp(0.0, (REAL - FAKE).astype(np.float64)).mean(),
                               rtol=1e-6)
    assert losses.get("relativistic").penalty == "r1r2"
