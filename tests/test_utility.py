"""The utility study: subject splits, every row on every seed, the report, the leakage check."""

import json

import numpy as np
import pytest

from keras_mrigan import training, utility
from keras_mrigan.cli import main
from tests.conftest import head_volume, save_nifti


@pytest.fixture
def labelled(tiny_config, tmp_path):
    """Four subjects per class; "big" heads are brighter than "small" ones."""
    root = tmp_path / "classes"
    for i in range(8):
        group = "big" if i % 2 else "small"
        save_nifti(root / group / f"sub{i}.nii.gz",
                   head_volume(seed=i) * (2.0 if group == "big" else 1.0))
    return tiny_config.replace(source=str(root), labels="folders", epochs=1)


def test_subject_split_is_by_subject_and_stratified():
    subjects = np.repeat([f"s{i}" for i in range(10)], 5)
    labels = np.repeat([0, 1] * 5, 5)
    train, test = utility.subject_split(subjects, labels, test_fraction=0.4, seed=3)
    assert not set(train) & set(test) and sorted(train + test) == sorted(set(subjects))
    by_subject = dict(zip(subjects, labels, strict=True))
    assert sorted(by_subject[s] for s in test) == [0, 0, 1, 1]
    kept = utility.subset_subjects(train, subjects, labels, 0.5, seed=3)
    assert set(kept) <= set(train) and sorted(by_subject[s] for s in kept) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="Subject 's0' has slices of two classes"):
        utility.subject_split(subjects, np.r_[[1], labels[1:]])


def test_classic_augmentation_keeps_the_background_and_the_range():
    image = -np.ones((4, 32, 32, 1), np.float32)
    image[:, 8:24, 8:24] = np.linspace(-0.5, 1.0, 16)[None, None, :, None]
    augmented = np.asarray(utility.classic_augmentation(seed=1)(image, training=True))
    assert augmented.min() >= -1.0 - 1e-6 and augmented.max() <= 1.0 + 1e-6
    # The background stays dark (contrast moves it a little; nothing is clipped to 0), and
    # the tissue keeps its dark values.
    assert augmented[:, :4, :4].max() < -0.5
    assert (augmented[:, 8:24, 8:24] < 0).mean() > 0.1
    assert not np.allclose(augmented, image)


def test_summary_pairs_each_row_with_real():
    results = {"real": {"auc": [0.6, 0.7, 0.8]}, "synthetic only": {"auc": [0.5, 0.7, 0.7]}}
    summary = utility.summarize(results)
    assert summary["real"]["auc"]["mean"] == pytest.approx(0.7)
    assert summary["real"]["auc"]["std"] == pytest.approx(0.1)
    difference = summary["synthetic only"]["auc"]["difference"]
    assert difference["mean"] == pytest.approx(-0.2 / 3)
    # Differences -0.1, 0, -0.1: std 0.0577, t(0.975, 2) = 4.303.
    half = 4.302653 * np.std([-0.1, 0, -0.1], ddof=1) / np.sqrt(3)
    np.testing.assert_allclose(difference["ci95"], [-0.2 / 3 - half, -0.2 / 3 + half], atol=1e-5)


@pytest.mark.slow
def test_study_produces_every_row_and_refuses_a_leaking_generator(labelled, tmp_path, capsys):
    out = tmp_path / "utility"
    command = ["utility", "--data", labelled.data.source, "--labels", "folders",
               "--resolution", "16", "--batch-size", "8", "--latent-dim", "8", "--width",
               "0.0625", "--epochs", "1", "--fractions", "0.5,1", "--seeds", "2",
               "--classifier-epochs", "1", "--test-fraction", "0.25", "--out", str(out)]
    assert main(command) == 0, capsys.readouterr().err
    report = json.loads((out / "utility.json").read_text())
    assert list(report["regimes"]) == ["0.5", "1"]
    for summary in report["regimes"].values():
        assert list(summary) == list(utility.ROWS)
        for row, measures in summary.items():
            assert set(measures) == set(utility.MEASURES)
            assert len(measures["auc"]["values"]) == 2
            assert ("difference" in measures["auc"]) == (row != "real")
    test = set(report["test_subjects"])
    assert len(test) == 2  # One subject of each class.
    for key, info in report["regime_info"].items():
        assert not test & set(info["train_subjects"])
        assert len(info["train_subjects"]) == {"0.5": 4, "1": 6}[key]
        # Each regime's generator trained on exactly its subjects.
        assert training.read_split(out / f"generator_{key}") == info["train_subjects"]
    with pytest.raises(ValueError, match="selection of slices given in memory"):
        training.resume(out / "generator_1", epochs=2)
    assert (out / "utility.png").exists() and "real+synthetic 1:2" in (
        out / "utility.md").read_text()

    # Run again into the same folder: the finished generator of the regime is kept.
    assert main(["1" if arg == "0.5,1" else arg for arg in command]) == 0
    assert capsys.readouterr().out.count("Reusing the finished generator") == 1

    # A generator trained on every subject has seen the test subjects: refused, by name.
    training.train(labelled, tmp_path / "leaky", verbose=0)
    assert main(["utility", "--data", labelled.data.source, "--labels", "folders",
                 "--resolution", "16", "--fractions", "1", "--seeds", "2", "--test-fraction",
                 "0.25", "--generator", str(tmp_path / "leaky"), "--out",
                 str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err
    assert "was trained on 2 of the test subjects" in error
    assert all(subject.rsplit("/", 1)[-1] in error for subject in test)
