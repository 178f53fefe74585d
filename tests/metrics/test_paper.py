import numpy as np
import pytest

from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.metrics.paper import PaperReference, diversity


@pytest.fixture(scope="module")
def slices():
    return load_slices("demo", 32)[..., 0]  # 2048 real slices of 32 x 32.


@pytest.fixture(scope="module")
def sets(slices):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(slices))
    return slices[order[:300]], slices[order[300:600]]


def released_script(reference, generated):
    """The paper's measures computed directly: full P x P and N x N eigendecompositions."""
    x = reference.reshape(len(reference), -1).astype(np.float64)
    values, vectors = np.linalg.eigh(np.cov(x.T))
    order = np.argsort(values)[::-1]
    components = vectors[:, order[:16]].T
    g = generated.reshape(len(generated), -1).astype(np.float64)
    d = g - x.mean(axis=0)
    v = d / np.linalg.norm(d, axis=1, keepdims=True)
    rho = np.mean(np.sqrt(np.sum((v @ components.T) ** 2, axis=1)))
    y = g - g.mean(axis=0)
    cov = np.cov(y)  # Images as rows: an N x N matrix.
    sigma = np.trace(cov)
    eigenvalues = np.sort(np.linalg.eigvals(cov).real)[::-1]
    delta = int(np.sum(eigenvalues > 0.01 * sigma))
    explained = values[order[:16]].sum() / values.sum()
    return rho, sigma, delta, components, explained, eigenvalues


def test_equal_to_the_released_script(sets):
    reference, generated = sets
    rho, sigma, delta, components, explained, eigenvalues = released_script(reference, generated)
    fitted = PaperReference.fit(reference)
    assert fitted.realism(generated) == pytest.approx(rho, rel=1e-6)
    found = diversity(generated)
    assert found.sigma == pytest.approx(sigma, rel=1e-6)
    assert found.delta == delta and 10 <= delta <= 30
    assert found.sigma_per_image == pytest.approx(sigma / 300, rel=1e-6)
    # The eigenvalues are float32 estimates; delta itself is settled exactly.
    np.testing.assert_allclose(found.eigenvalues[:delta], eigenvalues[:delta], rtol=1e-4)
    # Leading directions agree up to sign.
    np.testing.assert_allclose(np.abs(np.sum(fitted.components * components, axis=1)), 1.0,
                               atol=1e-6)
    assert fitted.explained_variance == pytest.approx(explained, rel=1e-6)


def test_reference_against_itself_and_noise(sets):
    reference, _ = sets
    fitted = PaperReference.fit(reference)
    own = fitted.realism(reference)
    assert own == pytest.approx(released_script(reference, reference)[0], rel=1e-6)
    # Noise around the mean image points in random directions: rho near sqrt(16 / 1024).
    noise = fitted.mean.reshape(32, 32) + np.random.default_rng(1).normal(
        0, 0.5, reference.shape)
    assert fitted.realism(noise) == pytest.approx(np.sqrt(16 / 1024), rel=0.2)
    assert own > 0.7


def test_identical_images_have_no_diversity(slices):
    same = np.repeat(slices[:1], 50, axis=0)
    found = diversity(same)
    assert found.sigma == 0.0 and found.delta == 0


def test_delta_beyond_the_first_block_of_eigenvalues():
    # 40 orthogonal patterns with nearly equal variance: each about 2.5 % of sigma, so
    # delta = 40, more than the first block of 24 the solver tries.
    rng = np.random.default_rng(2)
    patterns = np.linalg.qr(rng.standard_normal((1024, 40)))[0].T
    scales = np.linspace(1.2, 1.0, 40)
    coefficients = rng.standard_normal((400, 40)) * scales
    images = (coefficients @ patterns).reshape(400, 32, 32).astype(np.float32)
    images += 0.001 * rng.standard_normal(images.shape).astype(np.float32)
    found = diversity(images)
    _, sigma, delta, *_ = released_script(images, images)
    assert found.delta == delta == 40
    assert found.sigma == pytest.approx(sigma, rel=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \(n, H, W\)"):
        diversity(np.zeros((4, 8), np.float32))
    with pytest.raises(ValueError, match="At least 2 images"):
        diversity(np.zeros((1, 8, 8), np.float32))
    fitted = PaperReference.fit(np.random.default_rng(0).normal(size=(40, 8, 8)))
    with pytest.raises(ValueError, match="reference has 64"):
        fitted.realism(np.zeros((3, 16, 16), np.float32))
