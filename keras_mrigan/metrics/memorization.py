"""Does the generator copy its training images? Nearest training neighbours of generated
images, against the nearest-neighbour distances between independent real images."""

import numpy as np

FEATURE_SIZE = 32  # Images are compared as 32 x 32 averages, centered and L2-normalized.
PERCENTILE = 1.0


def pool(images, size=FEATURE_SIZE):
    """Images ``(n, H, W[, 1])`` average-pooled to ``(n, size, size)`` float32 thumbnails
    (unchanged if already that small)."""
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    factor = max(1, h // size)
    return images.reshape(n, h // factor, factor, w // factor, factor).mean(axis=(2, 4))


def features(images, size=FEATURE_SIZE):
    """Cosine-comparison features: average-pooled to ``size``, centered, unit length."""
    pooled = pool(images, size)
    flat = pooled.reshape(len(pooled), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)


def nearest(queries, index, chunk=1024):
    """For each query feature, the index of its nearest ``index`` feature and the cosine
    distance ``1 - cos`` to it."""
    best = np.empty(len(queries), np.int64)
    distance = np.empty(len(queries), np.float32)
    for start in range(0, len(queries), chunk):
        similarity = queries[start : start + chunk] @ index.T
        best[start : start + chunk] = similarity.argmax(axis=1)
        distance[start : start + chunk] = 1.0 - similarity.max(axis=1)
    return best, np.maximum(distance, 0.0)


def memorization(generated_features, train_features, held_out_features, percentile=PERCENTILE):
    """Generated-to-training nearest distances against real-to-real ones.

    Args:
        generated_features: ``features`` of the generated images.
        train_features: of the training (reference) images.
        held_out_features: of real images not in ``train_features``: their distances to the
            nearest training image are what two independent real images look like.

    Returns:
        A dict: ``fraction_below`` (generated images closer to a training image than the
        ``percentile`` of the real-to-real distances), ``threshold``, the medians of both
        distance sets, and ``nearest`` / ``distance`` arrays for the generated images.
    """
    index, distance = nearest(generated_features, train_features)
    _, real = nearest(held_out_features, train_features)
    threshold = float(np.percentile(real, percentile))
    return {
        "fraction_below": float(np.mean(distance < threshold)),
        "threshold": threshold,
        "percentile": percentile,
        "median_generated": float(np.median(distance)),
        "median_real": float(np.median(real)),
        "nearest": index,
        "distance": distance,
    }


def save_closest_pairs(generated, train, result, path, pairs=16):
    """A PNG of the ``pairs`` generated images closest to a training image: generated on top,
    its nearest training image below."""
    from keras_mrigan.plotting import save_image_grid

    order = np.argsort(result["distance"])[:pairs]
    top = np.asarray(generated)[order]
    bottom = np.asarray(train)[result["nearest"][order]]
    return save_image_grid(np.concatenate([top, bottom]), path, ncols=len(order))
