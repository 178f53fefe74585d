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


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "iterative"])
def test_equal_to_the_released_script(sets, exact):
    reference, generated = sets
    rho, sigma, delta, components, explained, eigenvalues = released_script(reference, generated)
    fitted = PaperReference.fit(reference)
    assert fitted.realism(generated) == pytest.approx(rho, rel=1e-6)
    found = diversity(generated, exact=exact)
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


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "iterative"])
def test_delta_beyond_the_first_block_of_eigenvalues(exact):
    # 40 orthogonal patterns with nearly equal variance: each about 2.5 % of sigma, so
    # delta = 40, more than the first block of 24 the solver tries.
    rng = np.random.default_rng(2)
    patterns = np.linalg.qr(rng.standard_normal((1024, 40)))[0].T
    scales = np.linspace(1.2, 1.0, 40)
    coefficients = rng.standard_normal((400, 40)) * scales
    images = (coefficients @ patterns).reshape(400, 32, 32).astype(np.float32)
    images += 0.001 * rng.standard_normal(images.shape).astype(np.float32)
    found = diversity(images, exact=exact)
    _, sigma, delta, *_ = released_script(images, images)
    assert found.delta == delta == 40
    assert found.sigma == pytest.approx(sigma, rel=1e-6)


def direct_sigma_delta(images):
    """sigma and delta straight from ``numpy.cov`` of the images as rows, in float64."""
    y = images.reshape(len(images), -1).astype(np.float64)
    cov = np.atleast_2d(np.cov(y - y.mean(axis=0)))
    sigma = float(np.trace(cov))
    return sigma, int(np.sum(np.linalg.eigvalsh(cov) > 0.01 * sigma))


def smooth_near_duplicates(n, spread, res=32, seed=0):
    """One smooth image plus spatially correlated variations of per-pixel std ``spread``:
    the output of a nearly mode-collapsed generator."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    base = np.tanh(5 * gaussian_filter(rng.standard_normal((res, res)), 3))
    noise = gaussian_filter(rng.standard_normal((n, res, res)), (0, 2, 2))
    return (base + spread * noise / noise.std()).astype(np.float32)


def hard_sets():
    rng = np.random.default_rng(3)
    centers = np.tanh(3 * rng.standard_normal((4, 1, 16, 16)))
    clusters = centers + 1e-4 * rng.standard_normal((4, 30, 16, 16))
    ends = np.sign(rng.standard_normal((64, 16, 16)))
    return {
        "nearly identical": smooth_near_duplicates(256, 4e-4),
        "nearly identical, large": smooth_near_duplicates(1100, 4e-4, seed=1),
        "identical": np.repeat(smooth_near_duplicates(1, 0.1), 40, axis=0),
        "two images": rng.uniform(-1, 1, (2, 16, 16)),
        "three images": rng.uniform(-1, 1, (3, 16, 16)),
        "clusters of near-duplicates": clusters.reshape(120, 16, 16),
        "values at -1 and 1": ends,
        "mostly -1": np.where(rng.uniform(size=(64, 16, 16)) < 0.05, 1.0, -1.0),
    }


@pytest.mark.parametrize("name", list(hard_sets()))
def test_any_finite_set_against_float64(name):
    images = hard_sets()[name].astype(np.float32)
    sigma, delta = direct_sigma_delta(images)
    found = diversity(images)
    assert found.sigma == pytest.approx(sigma, rel=1e-6, abs=1e-12)
    assert found.delta == delta
    assert found.n == len(images)


def test_collapsed_sets_take_the_exact_route():
    # 1,100 images of 32 x 32 are past the cost bound of the exact route, but their spread
    # (4e-4) is below what float32 products resolve (forced float32 iteration has returned
    # delta = 0 for such a set where the truth is 21), so the exact route is taken: it
    # reports the whole spectrum, where the iteration reports a few dozen values.
    images = smooth_near_duplicates(1100, 4e-4, seed=1)
    found = diversity(images)
    assert found.delta == direct_sigma_delta(images)[1] > 10
    assert len(found.eigenvalues) > 500


def test_a_stalled_iteration_falls_back_to_the_exact_route(monkeypatch):
    import keras_mrigan.metrics.paper as paper

    images = smooth_near_duplicates(256, 4e-4)
    stalled = []
    original = paper.top_eigenpairs

    def watch(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except paper.NotConverged:
            stalled.append(True)
            raise

    monkeypatch.setattr(paper, "top_eigenpairs", watch)
    found = diversity(images, exact=False)
    assert stalled  # The real iteration stalled on this set ...
    assert (found.sigma, found.delta) == pytest.approx(direct_sigma_delta(images), rel=1e-6)


def test_non_finite_images_are_counted():
    images = np.zeros((10, 8, 8), np.float32)
    images[2, 0, 0], images[7, 3, 3] = np.nan, np.inf
    with pytest.raises(ValueError, match="2 of 10 images contain NaN or Inf"):
        diversity(images)
    fitted = PaperReference.fit(np.random.default_rng(0).normal(size=(40, 8, 8)))
    with pytest.raises(ValueError, match="2 of 10 images contain NaN or Inf"):
        fitted.realism(images)


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \(n, H, W\)"):
        diversity(np.zeros((4, 8), np.float32))
    with pytest.raises(ValueError, match="At least 2 images"):
        diversity(np.zeros((1, 8, 8), np.float32))
    fitted = PaperReference.fit(np.random.default_rng(0).normal(size=(40, 8, 8)))
    with pytest.raises(ValueError, match="reference has 64"):
        fitted.realism(np.zeros((3, 16, 16), np.float32))
