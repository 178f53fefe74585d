"""Pure measures of label masks: Dice per class, and how the class proportions of generated
masks compare with real ones.

Masks here are integer class indices ``(N, H, W)`` (class 0 is the background); the measures
take arrays, not models.
"""

import numpy as np


def _indices(masks, num_classes, name):
    masks = np.asarray(masks)
    if not np.issubdtype(masks.dtype, np.integer):
        raise ValueError(f"`{name}` must hold integer class indices. Received: "
                         f"dtype={masks.dtype}")
    if masks.size and (masks.min() < 0 or masks.max() >= num_classes):
        raise ValueError(f"`{name}` holds class indices outside 0..{num_classes - 1}. "
                         f"Received: values from {masks.min()} to {masks.max()}")
    return masks


def dice_per_class(predicted, target, num_classes):
    """Dice of every class over a whole set of masks: ``2 |P ∩ T| / (|P| + |T|)`` with the
    pixels of all slices pooled.

    Pooling the set (rather than averaging per-slice scores) keeps slices where a class is
    absent from both masks from counting as perfect or as undefined: a class that appears
    in neither mask anywhere in the set is NaN.

    Reference:
        Dice, "Measures of the amount of ecologic association between species", Ecology
        26(3), 1945.

    Args:
        predicted: integer class indices ``(N, H, W)`` (or any shape).
        target: class indices of the same shape.
        num_classes: number of classes ``K``.

    Returns:
        float64 ``(K,)``.
    """
    predicted = _indices(predicted, num_classes, "predicted")
    target = _indices(target, num_classes, "target")
    if predicted.shape != target.shape:
        raise ValueError(f"`predicted` and `target` must have the same shape. Received: "
                         f"{predicted.shape} and {target.shape}")
    both = np.bincount(target[predicted == target].ravel(), minlength=num_classes)
    sizes = (np.bincount(predicted.ravel(), minlength=num_classes)
             + np.bincount(target.ravel(), minlength=num_classes))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, 2.0 * both / sizes, np.nan)


def mean_foreground_dice(dice):
    """The mean Dice over the foreground classes (every class but 0), NaN classes left out."""
    foreground = np.asarray(dice, np.float64)[1:]
    return float(np.nanmean(foreground)) if np.isfinite(foreground).any() else float("nan")


def class_proportions(masks, num_classes):
    """The fraction of each slice's pixels in each class.

    Args:
        masks: integer class indices ``(N, H, W)``.
        num_classes: number of classes ``K``.

    Returns:
        float64 ``(N, K)``, each row summing to 1.
    """
    masks = _indices(masks, num_classes, "masks")
    if masks.ndim != 3:
        raise ValueError(f"`masks` must be (N, H, W). Received: shape={masks.shape}")
    flat = masks.reshape(len(masks), -1)
    offsets = flat + num_classes * np.arange(len(masks))[:, None]
    counts = np.bincount(offsets.ravel(), minlength=num_classes * len(masks))
    return counts.reshape(len(masks), num_classes) / flat.shape[1]


def wasserstein_1d(u, v):
    """The 1-D Wasserstein (earth mover's) distance between two samples: the area between
    their empirical distribution functions, in the samples' unit."""
    u = np.sort(np.asarray(u, np.float64).ravel())
    v = np.sort(np.asarray(v, np.float64).ravel())
    if not len(u) or not len(v):
        raise ValueError("Both samples must be non-empty.")
    points = np.sort(np.concatenate([u, v]))
    widths = np.diff(points)
    cdf_u = np.searchsorted(u, points[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(v, points[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cdf_u - cdf_v) * widths))


def proportion_distance(generated, real, class_names=None):
    """How far the class proportions of generated masks are from those of real masks.

    Per class: the mean and standard deviation of the per-slice proportion in each set, and
    the 1-D Wasserstein distance between the two distributions of per-slice proportions
    (in units of proportion, so 0.02 means that, on average, slices would have to move 2 %
    of their pixels' worth of that class to match). The Wasserstein distance compares whole
    distributions: a generator that draws every slice with the mean proportions has the
    right mean and a large distance. ``mean_wasserstein`` averages it over the classes.

    Args:
        generated: ``(n, K)`` per-slice proportions of the generated masks
            (``class_proportions``).
        real: ``(m, K)`` those of the real masks.
        class_names: the classes' names (default ``"0"``, ``"1"``, ...).

    Returns:
        ``{"classes": {name: {"real_mean", "real_std", "generated_mean", "generated_std",
        "wasserstein"}}, "mean_wasserstein": float}``.
    """
    generated = np.asarray(generated, np.float64)
    real = np.asarray(real, np.float64)
    if generated.ndim != 2 or real.ndim != 2 or generated.shape[1] != real.shape[1]:
        raise ValueError(f"`generated` and `real` must be (n, K) with the same K. Received: "
                         f"{generated.shape} and {real.shape}")
    num_classes = real.shape[1]
    names = [str(i) for i in range(num_classes)] if class_names is None else list(class_names)
    if len(names) != num_classes:
        raise ValueError(f"`class_names` must name {num_classes} classes. Received: "
                         f"class_names={names!r}")
    classes = {}
    for k, name in enumerate(names):
        classes[name] = {"real_mean": float(real[:, k].mean()),
                         "real_std": float(real[:, k].std()),
                         "generated_mean": float(generated[:, k].mean()),
                         "generated_std": float(generated[:, k].std()),
                         "wasserstein": wasserstein_1d(generated[:, k], real[:, k])}
    return {"classes": classes,
            "mean_wasserstein": float(np.mean([c["wasserstein"] for c in classes.values()]))}
