import numpy as np
import pytest

from keras_mrigan.metrics.fidelity import fidelity_scores, fidelity_table


def test_fidelity_counts_the_images_given_their_class():
    predicted = {
        0: np.array([0, 0, 1, 0]),  # 3 of 4 recognized as class 0.
        1: np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]]),  # Scores: 2 of 3 as class 1.
    }
    found = fidelity_scores(predicted, ("control", "atrophy"), real_held_out=0.9)
    assert found == {"real_held_out": 0.9, "generated": {"control": 0.75, "atrophy": 2 / 3},
                     "generated_mean": pytest.approx((0.75 + 2 / 3) / 2)}
    table = fidelity_table(found).splitlines()
    assert table[4] == "| real, held-out subjects (balanced) | 0.900 |"
    assert table[5:] == ["| generated as control | 0.750 |", "| generated as atrophy | 0.667 |"]
    assert "real, held-out" not in fidelity_table(fidelity_scores({1: [1]}, ("a", "b")))


def test_fidelity_errors():
    with pytest.raises(ValueError, match="at least one class"):
        fidelity_scores({}, ("a", "b"))
    with pytest.raises(ValueError, match="Class index 2 is not one of the 2 classes"):
        fidelity_scores({2: [0]}, ("a", "b"))
