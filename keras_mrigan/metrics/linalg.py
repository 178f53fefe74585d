"""Leading eigenpairs of the Gram matrix of a centered image set, without forming it.

A set of ``n`` flattened images ``X`` (n x p) is centered implicitly: ``A = X - 1 m^T - r 1^T``
with ``m`` a mean image and ``r`` optional per-image offsets, so ``X`` is never copied. Block
subspace iteration with Rayleigh-Ritz on ``M = A A^T`` needs two passes of matrix products
over ``X`` per iteration and ``O(n b^2)`` more, never an ``n x n`` or ``p x p`` matrix.
"""

import numpy as np

CHUNK = 2048  # Rows of X per float64 product: bounds the temporary copies.


class NotConverged(RuntimeError):
    """The subspace iteration reached its iteration limit."""


class CenteredRows:
    """``A = X - 1 m^T - r 1^T`` as an operator, for products with blocks of vectors.

    Args:
        x: ``(n, p)`` float array (not copied).
        col_mean: ``m``, ``(p,)``.
        row_offset: ``r``, ``(n,)``, or ``None`` for zeros.
        dtype: dtype of the products: float32 for fast passes, float64 for accurate ones
            (then ``x`` is converted chunk by chunk).
    """

    def __init__(self, x, col_mean, row_offset=None, dtype=np.float64):
        self.x = x
        self.dtype = np.dtype(dtype)
        self.m = np.asarray(col_mean, self.dtype)
        self.r = (np.zeros(len(x), self.dtype) if row_offset is None
                  else np.asarray(row_offset, self.dtype))

    @property
    def shape(self):
        return self.x.shape

    def _rows(self):
        for start in range(0, len(self.x), CHUNK):
            yield start, np.asarray(self.x[start : start + CHUNK], self.dtype)

    def dot(self, v):
        """``A @ v`` for ``v`` of shape ``(p, b)``."""
        v = np.asarray(v, self.dtype)
        if self.x.dtype == self.dtype:
            out = self.x @ v
        else:
            out = np.concatenate([rows @ v for _, rows in self._rows()])
        return out - (self.m @ v)[None, :] - self.r[:, None] * v.sum(axis=0)[None, :]

    def tdot(self, w):
        """``A.T @ w`` for ``w`` of shape ``(n, b)``."""
        w = np.asarray(w, self.dtype)
        if self.x.dtype == self.dtype:
            out = self.x.T @ w
        else:
            out = np.zeros((self.x.shape[1], w.shape[1]), self.dtype)
            for start, rows in self._rows():
                out += rows.T @ w[start : start + len(rows)]
        return out - self.m[:, None] * w.sum(axis=0)[None, :] - (self.r @ w)[None, :]

    def gram(self, q):
        """``A A^T q``."""
        return self.dot(self.tdot(q))


def top_eigenpairs(op, k, tol=1e-10, max_iter=300, oversample=16, start=None, seed=0,
                   threshold=None):
    """The ``k`` largest eigenvalues of ``M = A A^T`` and their eigenvectors.

    Args:
        op: a ``CenteredRows``.
        k: how many eigenpairs.
        tol: stop when every residual ``||M u - lambda u||`` is below ``tol * lambda_1``.
        max_iter: iteration limit (``NotConverged`` beyond it).
        oversample: extra block columns; the convergence rate is
            ``lambda_(k + oversample + 1) / lambda_k`` per iteration.
        start: ``(n, b)`` initial block (a warm start), else random.
        threshold: only count eigenvalues above this value: stop as soon as every Ritz
            value down to the first one below it is separated from it by more than its
            residual (a true eigenvalue lies within the residual of each Ritz value), even
            if ``tol`` is not reached yet.

    Returns:
        ``(eigenvalues, U, Q)``: ``k`` eigenvalues in decreasing order, their unit eigenvectors
        ``(n, k)``, and the final orthonormal block ``Q`` (to warm-start a larger ``k``).
    """
    n = op.shape[0]
    b = min(n, k + oversample)
    k = min(k, b)
    rng = np.random.default_rng(seed)
    q = np.asarray(start, op.dtype) if start is not None else rng.standard_normal((n, b))
    if q.shape[1] < b:
        q = np.concatenate([q, rng.standard_normal((n, b - q.shape[1]))], axis=1)
    q = np.linalg.qr(q)[0].astype(op.dtype)
    for _ in range(max_iter):
        w = op.gram(q)
        h = q.T @ w
        values, s = np.linalg.eigh((h + h.T) / 2)
        order = np.argsort(values)[::-1]
        values, s = values[order], s[:, order]
        u, mu = q @ s, w @ s
        scale = max(values[0], np.finfo(op.dtype).tiny)
        residual = np.linalg.norm(mu[:, :k] - u[:, :k] * values[:k], axis=0) / scale
        if values[0] <= 0 or residual.max() <= tol or _separated(values[:k], residual * scale,
                                                                  threshold):
            return values[:k], u[:, :k], q
        q = np.linalg.qr(mu)[0]
    raise NotConverged(f"Eigen-solver did not converge in {max_iter} iterations "
                       f"(residual {residual.max():.2e} > {tol:.0e}).")


def _separated(values, residual, threshold):
    """Whether the Ritz values settle which eigenvalues exceed ``threshold``: each value down
    to the first one below it lies farther from it than its residual, and that one exists."""
    if threshold is None:
        return False
    below = np.nonzero(values < threshold)[0]
    if len(below) == 0:
        return False
    last = below[0] + 1
    return bool(np.all(np.abs(values[:last] - threshold) > residual[:last]))


def exact_eigenvalues(op):
    """Every eigenvalue of ``M = A A^T`` in float64, in decreasing order.

    The smaller of the two Gram matrices, ``A A^T`` (n x n) or ``A^T A`` (p x p), which share
    their nonzero eigenvalues, is accumulated from float64 blocks of ``A`` (never more than
    ``CHUNK`` rows or columns at a time) and handed to ``numpy.linalg.eigvalsh``. It costs
    ``min(n, p)^2 max(n, p)`` multiply-adds: cheap for small sets, the fallback for the others.
    """
    x = op.x
    n, p = x.shape
    mean = np.asarray(op.m, np.float64)
    offset = np.asarray(op.r, np.float64)
    gram = np.zeros((min(n, p),) * 2)
    if n <= p:
        for start in range(0, p, CHUNK):
            block = (x[:, start : start + CHUNK].astype(np.float64)
                     - mean[start : start + CHUNK] - offset[:, None])
            gram += block @ block.T
    else:
        for start in range(0, n, CHUNK):
            block = x[start : start + CHUNK].astype(np.float64) - mean - offset[
                start : start + CHUNK, None]
            gram += block.T @ block
    return np.sort(np.linalg.eigvalsh(gram))[::-1]


def rayleigh_ritz(op, q):
    """Eigenvalues of ``M`` restricted to the span of ``q``, in decreasing order (one pass of
    ``op``'s precision over the data)."""
    q = np.linalg.qr(np.asarray(q, op.dtype))[0]
    h = q.T @ op.gram(q)
    return np.sort(np.linalg.eigvalsh((h + h.T) / 2))[::-1]
