"""Multi-scale sliced Wasserstein distance (Karras et al. 2018, §5 and appendix D).

Each image becomes a Laplacian pyramid from its full resolution down to 16 x 16; from every
level, 128 random 7 x 7 patches per image are the level's descriptors. Each set's descriptors
are normalized per level (mean 0, standard deviation 1), and the distance between two sets at
a level is the mean, over 4 x 128 random unit directions, of the 1-D Wasserstein distance
between the sorted projections. Values are reported x 1e3, per level and averaged.
"""

import numpy as np
from scipy import ndimage

PATCH = 7
PATCHES_PER_IMAGE = 128
MIN_RESOLUTION = 16
DIRECTION_REPEATS = 4
DIRECTIONS_PER_REPEAT = 128
SCALE = 1e3
_GAUSSIAN = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0


def _blur(images):
    for axis in (1, 2):
        images = ndimage.correlate1d(images, _GAUSSIAN, axis=axis, mode="mirror")
    return images


def _down(images):
    return _blur(images)[:, ::2, ::2]


def _up(images):
    n, h, w = images.shape
    out = np.zeros((n, 2 * h, 2 * w), images.dtype)
    out[:, ::2, ::2] = images * 4.0
    return _blur(out)


def laplacian_pyramid(images, min_resolution=MIN_RESOLUTION):
    """Levels ``[L_full, L_half, ..., G_min]``: band-pass levels and the low-pass residual at
    ``min_resolution``, for images ``(n, H, W)``."""
    images = np.asarray(images, np.float32)
    levels = []
    current = images
    while current.shape[1] > min_resolution:
        smaller = _down(current)
        levels.append(current - _up(smaller))
        current = smaller
    levels.append(current)
    return levels


def descriptors(images, seed=0, patches=PATCHES_PER_IMAGE, chunk=256):
    """Raw (not yet normalized) patch descriptors of every pyramid level.

    Args:
        images: ``(n, H, W[, 1])`` in ``[-1, 1]``, ``H`` a power of two >= 16.

    Returns:
        A list, finest level first, of float32 arrays ``(n * patches, 49)``.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    if images.shape[1] < MIN_RESOLUTION:
        raise ValueError(f"SWD needs images of at least {MIN_RESOLUTION} pixels; "
                         f"received {images.shape[1:]}.")
    rng = np.random.default_rng(seed)
    out = None
    offsets = np.arange(PATCH)
    for start in range(0, len(images), chunk):
        levels = laplacian_pyramid(images[start : start + chunk])
        if out is None:
            out = [[] for _ in levels]
        for i, level in enumerate(levels):
            n, h, w = level.shape
            ys = rng.integers(0, h - PATCH + 1, size=(n, patches))
            xs = rng.integers(0, w - PATCH + 1, size=(n, patches))
            rows = (ys[..., None, None] + offsets[:, None])  # (n, patches, 7, 1)
            cols = (xs[..., None, None] + offsets[None, :])  # (n, patches, 1, 7)
            batch = np.arange(n)[:, None, None, None]
            out[i].append(level[batch, rows, cols].reshape(n * patches, PATCH * PATCH))
    return [np.concatenate(level) for level in out]


def normalize(desc):
    """Zero mean and unit standard deviation over all of one set's descriptors of a level."""
    desc = desc - desc.mean()
    return desc / max(float(desc.std()), 1e-12)


def sliced_wasserstein(a, b, seed=0):
    """Mean 1-D Wasserstein distance of two equal-sized descriptor sets along random
    directions (``4 x 128`` of them)."""
    if len(a) != len(b):
        raise ValueError(f"Descriptor sets differ in size: {len(a)} and {len(b)}.")
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(DIRECTION_REPEATS):
        directions = rng.standard_normal((a.shape[1], DIRECTIONS_PER_REPEAT))
        directions = (directions / np.linalg.norm(directions, axis=0)).astype(np.float32)
        pa = np.sort(a @ directions, axis=0)
        pb = np.sort(b @ directions, axis=0)
        results.append(float(np.mean(np.abs(pa - pb))))
    return float(np.mean(results))


def swd(real, fake, seed=0):
    """SWD x 1e3 between two sets given as descriptor lists (from ``descriptors``) or images.

    The larger set's descriptors are subsampled (seeded) to the smaller set's count.

    Returns:
        ``{"levels": [per level, finest first], "resolutions": [...], "mean": average}``.
    """
    real = real if isinstance(real, list) else descriptors(real, seed=seed)
    fake = fake if isinstance(fake, list) else descriptors(fake, seed=seed + 1)
    if len(real) != len(fake):
        raise ValueError(f"The sets have {len(real)} and {len(fake)} pyramid levels: "
                         "their images differ in size.")
    rng = np.random.default_rng(seed)
    levels = []
    for a, b in zip(real, fake, strict=True):
        count = min(len(a), len(b))
        a = a if len(a) == count else a[rng.choice(len(a), count, replace=False)]
        b = b if len(b) == count else b[rng.choice(len(b), count, replace=False)]
        levels.append(SCALE * sliced_wasserstein(normalize(a), normalize(b), seed=seed))
    top = MIN_RESOLUTION * 2 ** (len(levels) - 1)
    return {"levels": levels, "resolutions": [top >> i for i in range(len(levels))],
            "mean": float(np.mean(levels))}
