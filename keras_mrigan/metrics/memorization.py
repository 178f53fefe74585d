"""Does the generator copy its training images? Nearest training neighbours of generated
images, against the distances between real images of different subjects (each real image and
its nearest image of another person).

Images are compared as 32 x 32 average-pooled thumbnails: the central ``32 - 2 MARGIN``
square of a training thumbnail against the same square of a query moved by up to ``SHIFT``
thumbnail pixels each way in half-pixel steps (a thumbnail pixel is 2 pixels of a 64 x 64
image; half steps interpolate bilinearly), each slightly blurred, centered and scaled to unit
length, the distance being ``1 - cos`` at the best shift. A copy moved by a few pixels is still
a copy.
"""

import dataclasses
import math

import numpy as np

from keras_mrigan.plotting import save_image_grid

FEATURE_SIZE = 32  # Images are compared as 32 x 32 averages, centered and L2-normalized.
SHIFT = 1.5  # Translations (thumbnail pixels, each way, in half steps) a copy may have.
MARGIN = 2  # Thumbnail pixels left out at each side, so that every shift stays inside.
BLUR = 0.7  # Gaussian blur (thumbnail pixels) of the compared squares.
PERCENTILE = 1.0
BASELINE = 1000  # Real images in the real-to-real baseline (against other subjects).


def pool(images, size=FEATURE_SIZE):
    """Images ``(n, H, W[, 1])`` area-averaged to ``(n, size, size)`` float32 thumbnails (an
    axis already at most ``size`` long is kept).

    Each thumbnail pixel is the mean of the image area it covers; where ``size`` does not
    divide the image, an image pixel on a cell border counts in both cells with the fraction
    of it that each covers.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    if h % size == 0 and w % size == 0 or h <= size and w <= size:
        fy, fx = max(1, h // size), max(1, w // size)
        return images.reshape(n, h // fy, fy, w // fx, fx).mean(axis=(2, 4))
    rows, cols = _area_weights(h, size), _area_weights(w, size)
    return np.einsum("yh,nhw,xw->nyx", rows, images, cols).astype(np.float32)


def _area_weights(length, size):
    """``(min(length, size), length)``: row ``i`` averages the part of ``[0, length)`` that
    output cell ``i`` of ``size`` equal cells covers (the identity if ``length <= size``)."""
    if length <= size:
        return np.eye(length)
    edges = np.arange(size + 1) * (length / size)
    pixels = np.arange(length)
    overlap = np.clip(np.minimum(edges[1:, None], pixels[None, :] + 1)
                      - np.maximum(edges[:-1, None], pixels[None, :]), 0.0, None)
    return overlap / (length / size)


def features(thumbnails, dy=0.0, dx=0.0):
    """Cosine-comparison features of thumbnails ``(n, s, s)``: the central ``s - 2 MARGIN``
    square moved by ``(dy, dx)`` (half-integers interpolate between the two neighbouring
    squares), blurred (``BLUR``), centered and of unit length."""
    from scipy.ndimage import gaussian_filter

    n, h, w = thumbnails.shape
    ys = sorted({math.floor(dy), math.ceil(dy)})
    xs = sorted({math.floor(dx), math.ceil(dx)})
    crop = sum(thumbnails[:, MARGIN + y : h - MARGIN + y, MARGIN + x : w - MARGIN + x]
               for y in ys for x in xs) / (len(ys) * len(xs))
    crop = gaussian_filter(crop.astype(np.float32), (0, BLUR, BLUR), mode="nearest")
    flat = crop.reshape(n, -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)


def shifts(shift=SHIFT):
    """The query shifts tried along each axis: ``-shift, ..., shift`` in half steps."""
    return np.arange(-2 * shift, 2 * shift + 1) / 2


def nearest(queries, index, shift=SHIFT, chunk=1024, query_subjects=None,
            index_subjects=None):
    """For each query thumbnail, the index of its nearest ``index`` thumbnail and the cosine
    distance ``1 - cos`` to it, at the best shift of the query.

    Args:
        shift: at most ``MARGIN``.
        query_subjects, index_subjects: subject labels; with them, a query's nearest image is
            sought among the other subjects' images only.
    """
    return _nearest(queries, features(index), shift, chunk, query_subjects, index_subjects)


def _nearest(queries, reference, shift=SHIFT, chunk=1024, query_subjects=None,
             index_subjects=None):
    """``nearest`` against the ``features`` of the index, computed once by the caller."""
    if not 0 <= shift <= MARGIN:
        raise ValueError(f"`shift` must be in [0, {MARGIN}]. Received: shift={shift}")
    best = np.zeros(len(queries), np.int64)
    similarity = np.full(len(queries), -np.inf, np.float32)
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        same = (None if query_subjects is None else
                np.asarray(query_subjects)[rows, None] == np.asarray(index_subjects)[None, :])
        for dy in shifts(shift):
            for dx in shifts(shift):
                scores = features(queries[rows], dy, dx) @ reference.T
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
    reference = features(train)  # One index for both searches.
    index, distance = _nearest(generated, reference, shift)
    subjects = np.asarray(subjects)
    _, real = _nearest(train[baseline], reference, shift, query_subjects=subjects[baseline],
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


@dataclasses.dataclass
class MemorizationIndex:
    """What a memorization search compares with: the thumbnails of a set of real slices, each
    one's subject (as an integer code) and the indices of the slices whose distance to their
    nearest slice of another subject forms the real-to-real baseline."""

    thumbnails: np.ndarray  # (n, 32, 32) average-pooled real images.
    subjects: np.ndarray  # (n,) integer subject code of each thumbnail.
    baseline: np.ndarray  # Sorted indices into ``thumbnails``.
    # What the slices are, in reports: "reference" or "training" (the slices a run trained
    # on).
    source: str = "reference"

    @classmethod
    def fit(cls, images, subjects=None, rng=None, baseline=BASELINE, source="reference"):
        """The index of real ``images`` ``(N, H, W)`` in ``[-1, 1]``.

        Args:
            subjects: each image's subject. ``None``: each image is its own subject (then an
                image's nearest other image is usually the neighbouring slice of the same
                person, and the baseline is far too strict).
            rng: a ``numpy.random.Generator`` that draws the baseline (default: seed 0).
            baseline: images in the baseline (all, when there are fewer).
            source: what the images are, in reports.

        Raises:
            ValueError: every image is of one subject.
        """
        rng = np.random.default_rng(0) if rng is None else rng
        codes = (np.arange(len(images)) if subjects is None
                 else np.unique(np.asarray(subjects), return_inverse=True)[1])
        if codes.max() < 1:
            raise ValueError("The memorization baseline needs images of at least 2 subjects; "
                             f"all {len(images)} reference images are of one.")
        drawn = np.sort(rng.choice(len(images), min(baseline, len(images)), replace=False))
        return cls(pool(images), codes, drawn, source)

    def search(self, generated):
        """``memorization`` of the thumbnails ``generated`` against this index, with
        ``against``: the source, its count of slices and of subjects."""
        found = memorization(generated, self.thumbnails, self.baseline, self.subjects)
        found["against"] = {"source": self.source, "slices": int(len(self.thumbnails)),
                            "subjects": int(len(np.unique(self.subjects)))}
        return found


def save_closest_pairs(generated, train, result, path, pairs=16):
    """A PNG of the ``pairs`` generated images closest to a training image: generated on top,
    its nearest training image below."""
    order = np.argsort(result["distance"])[:pairs]
    top = np.asarray(generated)[order]
    bottom = np.asarray(train)[result["nearest"][order]]
    return save_image_grid(np.concatenate([top, bottom]), path, ncols=len(order))
