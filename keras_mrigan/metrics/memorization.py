"""Does the generator copy its training images? Nearest training neighbours of generated
images, against the distances between real images of different subjects (each real image and
its nearest image of another person).

Images are compared as 32 x 32 average-pooled thumbnails: the central ``32 - 2 SHIFT``
square of a training thumbnail against the same square of a query shifted by up to ``SHIFT``
thumbnail pixels each way (2 px of a 64 x 64 image per thumbnail pixel), each centered and
scaled to unit length after a slight blur, the distance being ``1 - cos`` at the best shift.
A copy moved by a few pixels is still a copy.
"""

import numpy as np

FEATURE_SIZE = 32  # Images are compared as 32 x 32 averages, centered and L2-normalized.
SHIFT = 2  # Translations (in thumbnail pixels, each way) under which a copy is still found.
# Gaussian blur of the compared squares (thumbnail pixels): a copy moved by half a thumbnail
# pixel (one pixel of a 64 x 64 image) falls between two shifts; the blur brings it close to
# both.
BLUR = 0.7
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


def features(thumbnails, dy=0, dx=0, shift=SHIFT):
    """Cosine-comparison features of thumbnails ``(n, s, s)``: the central ``s - 2 shift``
    square moved by ``(dy, dx)``, blurred (``BLUR``), centered and of unit length."""
    from scipy.ndimage import gaussian_filter

    n, h, w = thumbnails.shape
    crop = thumbnails[:, shift + dy : h - shift + dy, shift + dx : w - shift + dx]
    crop = gaussian_filter(crop.astype(np.float32), (0, BLUR, BLUR), mode="nearest")
    flat = crop.reshape(n, -1).astype(np.float32)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)


def nearest(queries, index, shift=SHIFT, chunk=1024, query_subjects=None,
            index_subjects=None):
    """For each query thumbnail, the index of its nearest ``index`` thumbnail and the cosine
    distance ``1 - cos`` to it, at the best shift of the query.

    Args:
        query_subjects, index_subjects: subject labels; with them, a query's nearest image is
            sought among the other subjects' images only.
    """
    reference = features(index, shift=shift)
    best = np.zeros(len(queries), np.int64)
    similarity = np.full(len(queries), -np.inf, np.float32)
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        same = (None if query_subjects is None else
                np.asarray(query_subjects)[rows, None] == np.asarray(index_subjects)[None, :])
        for dy in range(-shift, shift + 1):
            for dx in range(-shift, shift + 1):
                scores = features(queries[rows], dy, dx, shift) @ reference.T
                if same is not None:
                    scores[same] = -np.inf
                found, value = scores.argmax(axis=1), scores.max(axis=1)
                better = value > similarity[rows]
                best[rows][better] = found[better]
                similarity[rows][better] = value[better]
    return best, np.maximum(1.0 - similarity, 0.0)


def memorization(generated, train, baseline, subjects, percentile=PERCENTILE, shift=SHIFT):
    """Generated-to-training nearest distances against those between different people.

    Args:
        generated: thumbnails (``pool``) of the generated images.
        train: of the training (reference) images.
        baseline: indices into ``train`` of the real images whose distance to the nearest
            image of another subject says what two different people look like.
        subjects: the subject of each ``train`` image.
        shift: see ``SHIFT``.

    Returns:
        A dict: ``fraction_below`` (generated images closer to a training image than the
        ``percentile`` of the real-to-real distances), ``threshold``, the medians of both
        distance sets, and ``nearest`` / ``distance`` arrays for the generated images.
    """
    index, distance = nearest(generated, train, shift)
    subjects = np.asarray(subjects)
    _, real = nearest(train[baseline], train, shift, query_subjects=subjects[baseline],
                      index_subjects=subjects)
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
