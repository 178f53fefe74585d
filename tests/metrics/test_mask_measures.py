"""Mask measures: Dice per class, class proportions and their distance, against hand values."""

import numpy as np
import pytest

from keras_mrigan.metrics.masks import (
    class_proportions,
    dice_per_class,
    mean_foreground_dice,
    proportion_distance,
    wasserstein_1d,
)


def test_dice_per_class_pools_the_set():
    target = np.array([[[0, 0, 1, 1]], [[0, 2, 2, 2]]])
    predicted = np.array([[[0, 1, 1, 1]], [[0, 0, 2, 2]]])
    dice = dice_per_class(predicted, target, 4)
    # Class 0: both 2 pixels in common, |P| = 3, |T| = 3 -> 4/6. Class 1: 2 in common,
    # |P| = 3, |T| = 2 -> 4/5. Class 2: 2 in common, |P| = 2, |T| = 3 -> 4/5. Class 3: absent.
    np.testing.assert_allclose(dice[:3], [4 / 6, 4 / 5, 4 / 5])
    assert np.isnan(dice[3])
    assert mean_foreground_dice(dice) == pytest.approx(0.8)
    assert np.isnan(mean_foreground_dice([1.0, np.nan, np.nan]))
    np.testing.assert_array_equal(dice_per_class(target, target, 3), [1.0, 1.0, 1.0])


def test_dice_refuses_bad_masks():
    with pytest.raises(ValueError, match=r"class indices outside 0\.\.1. Received: values from "
                                         r"0 to 2"):
        dice_per_class(np.array([0, 2]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="integer class indices"):
        dice_per_class(np.array([0.0, 1.0]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match=r"same shape. Received: \(2,\) and \(3,\)"):
        dice_per_class(np.array([0, 1]), np.array([0, 1, 1]), 2)


def test_class_proportions_per_slice():
    masks = np.array([[[0, 0], [1, 2]], [[2, 2], [2, 2]]])
    np.testing.assert_allclose(class_proportions(masks, 3),
                               [[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])


def test_wasserstein_1d_by_hand():
    # Moving {0, 1} onto {0.5, 1.5}: each point by 0.5.
    assert wasserstein_1d([0, 1], [0.5, 1.5]) == pytest.approx(0.5)
    # {0} against {0, 1}: half the mass moves by 1.
    assert wasserstein_1d([0.0], [0.0, 1.0]) == pytest.approx(0.5)
    assert wasserstein_1d([0.2, 0.3], [0.3, 0.2]) == 0.0
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=17), rng.uniform(size=9)
    assert wasserstein_1d(u, v) == pytest.approx(scipy_stats.wasserstein_distance(u, v))


def test_proportion_distance_sees_the_spread_not_only_the_mean():
    real = np.array([[0.8, 0.2], [0.6, 0.4]])
    mean_only = np.array([[0.7, 0.3], [0.7, 0.3]])
    found = proportion_distance(mean_only, real, ["background", "tissue"])
    tissue = found["classes"]["tissue"]
    assert tissue["real_mean"] == pytest.approx(0.3)
    assert tissue["generated_mean"] == pytest.approx(0.3)
    assert tissue["real_std"] == pytest.approx(0.1) and tissue["generated_std"] == 0.0
    assert tissue["wasserstein"] == pytest.approx(0.1)  # Each real slice is 0.1 away.
    assert found["mean_wasserstein"] == pytest.approx(0.1)
    assert proportion_distance(real, real)["mean_wasserstein"] == 0.0
    with pytest.raises(ValueError, match="must name 2 classes"):
        proportion_distance(real, real, ["a"])
