"""A training regime of the study, and its rows: which data each classifier (or segmenter) is
trained on."""

import dataclasses

import numpy as np

from keras_mrigan.utility.classifier import (
    CLASSIFIER_EPOCHS,
    MEASURES,
    scores,
    train_classifier,
)
from keras_mrigan.utility.segmenter import (
    SEGMENTER_STEPS,
    segmentation_scores,
    train_segmenter,
)
from keras_mrigan.utils import progress_bar

ROWS = ("real", "real+classic", "real+synthetic 1:1", "real+synthetic 1:2",
        "real+classic+synthetic 1:1", "synthetic only")
# Row -> (real images?, classic augmentation?, synthetic images per real image).
RECIPES = {
    "real": (True, False, 0),
    "real+classic": (True, True, 0),
    "real+synthetic 1:1": (True, False, 1),
    "real+synthetic 1:2": (True, False, 2),
    "real+classic+synthetic 1:1": (True, True, 1),
    "synthetic only": (False, False, 1),
}
# The segmentation study's rows by default (``real+classic+synthetic 1:1`` on request).
SEGMENTATION_ROWS = ("real", "real+classic", "real+synthetic 1:1", "real+synthetic 1:2",
                     "synthetic only")


@dataclasses.dataclass
class Regime:
    """One training regime of the study: its fraction of the training subjects, their
    slices, and a ``synthesize(n_per_class, seed) -> (images, labels)``."""

    fraction: float
    subjects: list
    images: np.ndarray
    labels: np.ndarray
    synthesize: object


def run_regime(regime, test_images, test_labels, num_classes, seeds, epochs=CLASSIFIER_EPOCHS,
               rows=ROWS, progress=True):
    """Trains and tests the classifier of every row on every seed.

    Args:
        regime: a ``Regime``.
        test_images, test_labels: the held-out subjects' slices and classes.
        num_classes: number of classes.
        seeds: the classifiers' seeds (each also draws its own synthetic images).
        epochs: the classifiers' epochs.
        rows: the rows to run, names of ``RECIPES``.
        progress: show a progress bar (Keras' ``Progbar``).

    Returns:
        ``{row: {measure: [value per seed]}}``.
    """
    counts = np.bincount(regime.labels, minlength=num_classes)
    results = {row: {m: [] for m in MEASURES} for row in rows}
    bar = progress_bar(len(rows) * len(seeds), f"utility, {regime.fraction:g} of the subjects",
                       "classifier") if progress else None
    model = None  # One classifier, trained again from each seed's initial state.
    for seed in seeds:
        synthetic = {}
        for row in rows:
            x, y, classic = _row_data(row, regime.images, regime.labels, synthetic,
                                      regime.synthesize, counts, seed)
            model = train_classifier(x, y, num_classes, seed=seed, epochs=epochs,
                                     classic=classic, model=model)
            for name, value in scores(model, test_images, test_labels, num_classes).items():
                results[row][name].append(value)
            if bar:
                bar.add(1)
    return results


@dataclasses.dataclass
class PairRegime:
    """One training regime of the segmentation study: its name (``"2"``, ``"all"``, ...),
    its training subjects, their slices and masks, and a ``synthesize(n, seed) -> (images,
    masks)`` of generated pairs."""

    name: str
    subjects: list
    images: np.ndarray
    masks: np.ndarray
    synthesize: object


def run_segmentation_regime(regime, test_images, test_masks, class_names, seeds,
                            steps=SEGMENTER_STEPS, rows=SEGMENTATION_ROWS, progress=True):
    """Trains and tests the segmenter of every row on every seed.

    Args:
        regime: a ``PairRegime``.
        test_images, test_masks: the held-out subjects' slices and masks.
        class_names: the masks' classes, in index order (background first).
        seeds: the segmenters' seeds (each also draws its own synthetic pairs).
        steps: every segmenter's updates.
        rows: the rows to run, names of ``RECIPES``.
        progress: show a progress bar (Keras' ``Progbar``).

    Returns:
        ``{row: {measure: [value per seed]}}``, the measures those of
        ``segmenter.segmentation_scores`` (``dice_mean``, ``dice_<class>``).
    """
    results = {row: {} for row in rows}
    model = None  # One segmenter, trained again from each seed's initial weights.
    bar = progress_bar(len(rows) * len(seeds), f"segmentation utility, {regime.name} subjects",
                       "U-Net") if progress else None
    for seed in seeds:
        synthetic = {}
        for row in rows:
            x, y, classic = _row_data(row, regime.images, regime.masks, synthetic,
                                      regime.synthesize, len(regime.images), seed)
            model = train_segmenter(x, y, len(class_names), seed=seed, steps=steps,
                                    classic=classic, model=model)
            found = segmentation_scores(model, test_images, test_masks, class_names)
            for name, value in found.items():
                results[row].setdefault(name, []).append(value)
            if bar:
                bar.add(1)
    return results


def _row_data(row, real_x, real_y, synthetic, synthesize, amount, seed):
    """A row's training data ``(x, y, classic)`` from ``RECIPES``: the real data if the row
    uses it, then the generated data of its ratio, ``synthesize(amount * ratio, seed) -> (x,
    y)`` (``amount``: the real count, or the count per class), drawn once per ratio and seed:
    ``synthetic`` keeps it for the seed's other rows)."""
    use_real, classic, ratio = RECIPES[row]
    parts_x, parts_y = ([real_x], [real_y]) if use_real else ([], [])
    if ratio:
        if ratio not in synthetic:
            synthetic[ratio] = synthesize(amount * ratio, seed)
        parts_x.append(synthetic[ratio][0])
        parts_y.append(synthetic[ratio][1])
    return np.concatenate(parts_x), np.concatenate(parts_y), classic
