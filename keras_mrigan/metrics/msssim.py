"""MS-SSIM between random pairs of images: a diversity measure (lower = more diverse).

``tf.image.ssim_multiscale`` with an 11 x 11 window; small images use only the scales the
window fits in (3 at 64 x 64, 5 from 176 x 176), with the standard scale weights of Wang et
al. 2003 truncated and renormalized.
"""

import numpy as np

FILTER_SIZE = 11
POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def scales_for(size, filter_size=FILTER_SIZE):
    """How many scales of MS-SSIM fit in ``size`` pixels with the window."""
    scales = 1
    while scales < len(POWER_FACTORS) and size // 2**scales >= filter_size:
        scales += 1
    return scales


def mean_ms_ssim(images, pairs=1000, seed=0, batch=256):
    """Mean MS-SSIM over ``pairs`` random pairs of distinct images in ``[-1, 1]``."""
    import tensorflow as tf

    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    n = len(images)
    if n < 2:
        raise ValueError(f"MS-SSIM needs at least 2 images; received {n}.")
    if images.shape[1] < FILTER_SIZE:
        raise ValueError(f"MS-SSIM needs images of at least {FILTER_SIZE} pixels.")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, pairs)
    second = (first + rng.integers(1, n, pairs)) % n  # Never the same image.
    weights = np.array(POWER_FACTORS[: scales_for(images.shape[1])])
    weights = tuple(float(w) for w in weights / weights.sum())
    values = []
    unit = (images + 1.0) / 2.0
    for start in range(0, pairs, batch):
        a = tf.constant(unit[first[start : start + batch]])
        b = tf.constant(unit[second[start : start + batch]])
        values.append(tf.image.ssim_multiscale(a, b, max_val=1.0, power_factors=weights,
                                               filter_size=FILTER_SIZE).numpy())
    return float(np.mean(np.concatenate(values)))
