"""Latent interpolation strips (paper §3.2): images along straight lines between latents."""

import numpy as np

from keras_mrigan.models.latents import sample_latents
from keras_mrigan.plotting import save_image_grid


def interpolation_latents(latent_dim, distribution="uniform", rows=4, steps=8, seed=0):
    """``rows`` lines of ``steps`` latents from one random latent to another, ``(rows * steps,
    latent_dim)``. Normalized-Gaussian latents are put back on the unit sphere, where the
    generator was trained."""
    ends = np.asarray(sample_latents(2 * rows, latent_dim, distribution, seed=seed))
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    lines = ends[0::2, None, :] * (1.0 - t) + ends[1::2, None, :] * t
    lines = lines.reshape(rows * steps, latent_dim)
    if distribution == "normal":
        lines /= np.linalg.norm(lines, axis=1, keepdims=True)
    return lines.astype(np.float32)


def save_interpolation(generate, latent_dim, path, distribution="uniform", rows=4, steps=8,
                       seed=0):
    """Writes a PNG with one interpolation per row.

    Args:
        generate: a function from latents ``(n, latent_dim)`` to images in ``[-1, 1]``.
    """
    latents = interpolation_latents(latent_dim, distribution, rows, steps, seed)
    images = np.clip(np.asarray(generate(latents)), -1.0, 1.0)
    return save_image_grid(images, path, ncols=steps)
