"""The paper's realism rho and diversity sigma and delta (§3.2, Table 3), computed exactly as
its released evaluation script defines them, but without any n x n or p x p matrix.

All functions take images in ``[-1, 1]`` as an array ``(n, H, W)`` or ``(n, H, W, 1)``.
"""

import dataclasses

import numpy as np

from keras_mrigan.metrics.linalg import (
    CenteredRows,
    NotConverged,
    exact_eigenvalues,
    rayleigh_ritz,
    top_eigenpairs,
)
from keras_mrigan.utils import atomic_path

COMPONENTS = 16  # Principal directions of the reference set (paper: 16, 55 % on OASIS).
DELTA_FRACTION = 0.01  # delta counts the eigenvalues above 1 % of sigma.
MAX_DELTA = int(1 / DELTA_FRACTION)  # Their sum is sigma, so fewer than 100 can exceed it.
# The exact route (a float64 Gram matrix) is taken when it needs at most this many
# multiply-adds (about a second on one core): every set of up to about 500 images of 64 x 64.
EXACT_WORK = 2**30
# Below this ratio of the spread between images to their magnitude, float32 products lose the
# differences between images (the subtraction of the mean image cancels most digits).
FLOAT32_SPREAD = 1e-2


def flatten(images):
    """``(n, H, W[, 1])`` images as float32 rows ``(n, H * W)`` (no copy when possible)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(
            f"Expected images of shape (n, H, W) or (n, H, W, 1); received {images.shape}."
        )
    if len(images) < 2:
        raise ValueError(f"At least 2 images are needed; received {len(images)}.")
    rows = np.ascontiguousarray(images.reshape(len(images), -1), dtype=np.float32)
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        raise ValueError(f"{np.count_nonzero(~finite)} of {len(rows)} images contain NaN or Inf "
                         "values; the measures need finite images in [-1, 1].")
    return rows


@dataclasses.dataclass
class PaperReference:
    """The reference statistics of the paper's realism: the mean training image and its top
    principal directions.

    Attributes:
        mean: ``(p,)`` mean image, flattened.
        components: ``(16, p)`` unit principal directions, by decreasing variance.
        variances: ``(16,)`` their variances (eigenvalues of the covariance, ddof = 1).
        total_variance: trace of the covariance.
        shape: ``(H, W)`` of the images.
        n: number of reference images.
    """

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    total_variance: float
    shape: tuple
    n: int

    @property
    def explained_variance(self):
        """Fraction of the reference set's variance the components explain."""
        return float(self.variances.sum() / self.total_variance)

    @classmethod
    def fit(cls, images, components=COMPONENTS, tol=1e-6, seed=0):
        """Fits the mean and the top principal directions without a covariance matrix.

        Block subspace iteration runs in float32 on the image side (two passes of matrix
        products over the data per iteration) until every residual is below ``tol`` times
        the top eigenvalue; then one float64 pass gives the directions ``A^T u_i``
        (normalized) and one more their variances as Rayleigh quotients. The directions
        match a full float64 eigendecomposition to about 1e-10 in ``1 - |cos|``.
        """
        x = flatten(images)
        n, p = x.shape
        if components > min(n - 1, p):
            raise ValueError(f"Cannot fit {components} components to {n} images of {p} pixels.")
        mean = x.mean(axis=0, dtype=np.float64)
        _, u, _ = top_eigenpairs(CenteredRows(x, mean, dtype=np.float32), components, tol=tol,
                                 seed=seed)
        directions = np.zeros((p, components))
        total = 0.0
        for start, rows in _centered_chunks(x, mean):
            directions += rows.T @ u[start : start + len(rows)]
            total += float(np.einsum("ij,ij->", rows, rows))
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        variances = sum(np.sum(np.square(rows @ directions), axis=0)
                        for _, rows in _centered_chunks(x, mean)) / (n - 1)
        order = np.argsort(variances)[::-1]
        return cls(mean=mean, components=directions[:, order].T.copy(),
                   variances=variances[order], total_variance=total / (n - 1),
                   shape=tuple(np.shape(images)[1:3]), n=n)

    def realism(self, images, per_image=False):
        """rho: the mean over images of the norm of the projection of the unit vector
        ``(G - mean) / ||G - mean||`` on the principal directions (equation 6)."""
        x = flatten(images)
        if x.shape[1] != self.mean.size:
            raise ValueError(f"Images of {x.shape[1]} pixels, but the reference has "
                             f"{self.mean.size} ({self.shape}).")
        # Differences in float32 (the subtraction is exact to about 1e-7), squares summed
        # pairwise in float64, projections by one float32 matrix product.
        mean32, components32 = self.mean.astype(np.float32), self.components.astype(np.float32)
        values = np.empty(len(x))
        for start in range(0, len(x), 512):
            d = x[start : start + 512] - mean32
            norms = np.sqrt(np.sum(np.square(d), axis=1, dtype=np.float64))
            projection = np.linalg.norm((d @ components32.T).astype(np.float64), axis=1)
            values[start : start + 512] = projection / np.maximum(norms, 1e-300)
        return values if per_image else float(values.mean())

    def save(self, path, **extra):
        """Saves to an ``.npz`` (plus any extra arrays)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, mean=self.mean, components=self.components, variances=self.variances,
                     total_variance=self.total_variance, shape=np.array(self.shape), n=self.n,
                     **extra)

    @classmethod
    def from_arrays(cls, arrays):
        return cls(mean=arrays["mean"], components=arrays["components"],
                   variances=arrays["variances"],
                   total_variance=float(arrays["total_variance"]),
                   shape=tuple(int(v) for v in arrays["shape"]), n=int(arrays["n"]))


def _centered_chunks(x, mean, size=512):
    """``(start, rows - mean)`` in float64, a few hundred rows at a time."""
    for start in range(0, len(x), size):
        yield start, x[start : start + size].astype(np.float64) - mean


@dataclasses.dataclass
class Diversity:
    """sigma and delta of an image set (see ``diversity``)."""

    n: int
    sigma: float
    delta: int
    eigenvalues: np.ndarray  # The leading eigenvalues found, decreasing (all above 1 % and more).

    @property
    def sigma_per_image(self):
        return self.sigma / self.n


def diversity(images, seed=0, exact=None):
    """The paper's sigma and delta, as the released script computes them.

    The set's mean image is subtracted from every image; the script then takes
    ``numpy.cov(X)`` with images as rows, an n x n matrix whose entries are covariances
    between images over pixels (each row centered on its own pixel mean, ddof = 1). sigma is
    its trace, i.e. the sum over images of the variance of their pixels, and grows with n;
    delta counts its eigenvalues above 1 % of sigma (in decreasing order; the released script
    forgot to sort them).

    Two routes give these numbers for any finite set, from two images up:

    - exact: the smaller of the two Gram matrices of the centered images (n x n or p x p)
      in float64 and all its eigenvalues; sigma is its trace.
    - iterative, for large sets: sigma is the sum above (each image's term to about 1e-7);
      the eigenvalues above the threshold, at most 99 since they sum to at most sigma, come
      from block subspace iteration in float32 on the implicit matrix, widened until the
      smallest one found is below the threshold. Iteration stops once every Ritz value down
      to the first one below the threshold is farther from it than its residual, which
      settles delta exactly; a value within float32's reach of the threshold is settled by a
      Rayleigh-Ritz step in float64. The eigenvalues reported are good to about 1e-4.

    Args:
        images: ``(n, H, W[, 1])`` finite images.
        seed: the iteration's random start.
        exact: ``True`` or ``False`` forces a route. ``None`` (default) takes the exact one
            when it is cheap (``EXACT_WORK``), when the images differ too little for float32
            products (a nearly mode-collapsed generator: spread below ``FLOAT32_SPREAD`` of
            their magnitude), and when the iteration stalls.
    """
    x = flatten(images)
    n, p = x.shape
    mean_image = x.mean(axis=0, dtype=np.float64)
    row_means = x.mean(axis=1, dtype=np.float64) - mean_image.mean()
    # Each image's squared distance to the mean image, subtracted in float32 and summed
    # pairwise (about 1e-7 relative), then its pixel variance: (||y||^2 - p ybar^2) / (p - 1).
    mean32 = mean_image.astype(np.float32)
    squares = np.concatenate([
        np.sum(np.square(x[start : start + 512] - mean32), axis=1, dtype=np.float64)
        for start in range(0, n, 512)
    ])
    sigma = float(np.sum((squares - p * row_means**2) / (p - 1)))
    if exact is None:
        magnitude = float(np.mean(np.square(mean_image)))
        exact = (min(n, p) ** 2 * max(n, p) <= EXACT_WORK
                 or sigma * (p - 1) / p < FLOAT32_SPREAD**2 * magnitude * n)
    if exact:
        return _exact_diversity(CenteredRows(x, mean_image, row_means))
    threshold = DELTA_FRACTION * sigma * (p - 1)  # Eigenvalues of A A^T = (p - 1) cov.
    fast = CenteredRows(x, mean_image, row_means, dtype=np.float32)
    k, start = 24, None
    while True:
        k = min(k, n)
        try:
            values, _, q = top_eigenpairs(fast, k, tol=1e-5, start=start, seed=seed,
                                          threshold=threshold)
        except NotConverged:
            return _exact_diversity(CenteredRows(x, mean_image, row_means))
        if np.any(np.abs(values - threshold) < 1e-4 * threshold):
            # An eigenvalue within float32's reach of the threshold: settle it in float64.
            values = rayleigh_ritz(CenteredRows(x, mean_image, row_means), q)[:k]
        if values[-1] < threshold or k >= min(n, MAX_DELTA + 1):
            break
        k, start = 2 * k, q
    values = values / (p - 1)
    return Diversity(n=n, sigma=sigma, delta=int(np.sum(values > DELTA_FRACTION * sigma)),
                     eigenvalues=values[values > 0])


def _exact_diversity(op):
    """sigma and delta from every eigenvalue of the covariance between images, in float64."""
    n, p = op.shape
    values = exact_eigenvalues(op) / (p - 1)
    sigma = float(np.sum(values))
    # Rounding leaves eigenvalues of about 1e-16 sigma where the set has none (identical
    # images: sigma = 0); they are not the set's.
    real = values > max(sigma, np.finfo(np.float64).tiny) * 1e-12
    return Diversity(n=n, sigma=sigma, delta=int(np.sum(values > DELTA_FRACTION * sigma)),
                     eigenvalues=values[real])
