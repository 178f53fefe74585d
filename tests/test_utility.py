"""The utility study: subject splits, every row on every seed, the report, the leakage check."""

import json
import logging
import shutil

import numpy as np
import pytest

from keras_mrigan import runs, training, utility
from keras_mrigan.cli import main
from keras_mrigan.config import get_preset
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
def test_study_produces_every_row_and_refuses_a_leaking_generator(labelled, tmp_path, capsys,
                                                                   caplog):
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
        assert runs.read_split(out / f"generator_{key}") == info["train_subjects"]
    with pytest.raises(ValueError, match="selection of slices given in memory"):
        training.resume(out / "generator_1", epochs=2)
    assert (out / "utility.png").exists() and "real+synthetic 1:2" in (
        out / "utility.md").read_text()

    # Run again into the same folder, through the library with the settings the flags gave,
    # for the one row that needs synthetic slices: the finished generator of the regime is
    # kept (loaded, not trained again) and only that row is run.
    capsys.readouterr()
    finished = (out / "generator_1" / "model.keras").stat().st_mtime_ns
    settings = get_preset("demo-dcgan").replace(
        source=labelled.data.source, labels="folders", resolution=16, batch_size=8,
        latent_dim=8, width=0.0625, epochs=1)
    with caplog.at_level(logging.INFO, logger="keras_mrigan"):
        again = utility.study(settings, out, fractions=[1], seeds=2, test_fraction=0.25,
                              classifier_epochs=1, rows=["real+synthetic 1:1"],
                              progress=False)
    assert caplog.text.count("Reusing the finished generator") == 1
    assert (out / "generator_1" / "model.keras").stat().st_mtime_ns == finished
    assert list(again["regimes"]["1"]) == ["real+synthetic 1:1"]
    assert len(again["regimes"]["1"]["real+synthetic 1:1"]["auc"]["values"]) == 2
    assert again["test_subjects"] == report["test_subjects"]

    # A generator trained on every subject has seen the test subjects: refused, by name. (The
    # finished generator with every subject in its split.json, as training on them records:
    # the check reads the record, and a copy spares a training.)
    shutil.copytree(out / "generator_1", tmp_path / "leaky")
    runs.write_split(tmp_path / "leaky", [*test, *report["regime_info"]["1"]["train_subjects"]])
    assert len(runs.read_split(tmp_path / "leaky")) == 8
    assert main(["utility", "--data", labelled.data.source, "--labels", "folders",
                 "--resolution", "16", "--fractions", "1", "--seeds", "2", "--test-fraction",
                 "0.25", "--generator", str(tmp_path / "leaky"), "--out",
                 str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err
    assert "was trained on 2 of the test subjects" in error
    assert all(subject.rsplit("/", 1)[-1] in error for subject in test)


def test_study_runs_the_rows_asked_for_and_refuses_unknown_ones(labelled, tmp_path, capsys):
    for rows in (["real", "synthetic"], []):
        with pytest.raises(ValueError, match=r"`rows` must be a non-empty selection of "):
            utility.study(labelled, tmp_path, rows=rows)
    with pytest.raises(ValueError, match=r"Received: rows=\('real', 'synthetic'\)"):
        utility.study(labelled, tmp_path, rows=("real", "synthetic"))
    assert not list(tmp_path.glob("utility.*"))  # Refused before any work.
    # The command line's --rows reaches the study, with the same message.
    assert main(["utility", "--data", labelled.data.source, "--labels", "folders",
                 "--rows", "real, synthetic", "--out", str(tmp_path / "cli")]) == 2
    assert "Received: rows=('real', 'synthetic')" in capsys.readouterr().err
    assert not (tmp_path / "cli" / "utility.md").exists()


def test_train_classifier_owns_its_randomness():
    import random

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 16, 16, 1)).astype(np.float32)
    labels = np.arange(16) % 2
    images[labels == 1, 4:12, 4:12] = 1.0  # Class 1 has a bright square.
    python_state, numpy_state = random.getstate(), np.random.get_state()
    first = utility.train_classifier(images, labels, 2, seed=3, epochs=2)
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])
    again = utility.train_classifier(images, labels, 2, seed=3, epochs=2)
    other = utility.train_classifier(images, labels, 2, seed=4, epochs=2)
    p = [m.predict(images, verbose=0) for m in (first, again, other)]
    np.testing.assert_array_equal(p[0], p[1])
    assert not np.allclose(p[0], p[2])
    assert p[0].shape == (16, 2)
    np.testing.assert_allclose(p[0].sum(axis=1), 1.0, rtol=1e-5)
    # Trained again from seed 4's start (weights, dropout draws, a zeroed optimizer), the
    # first model becomes the model a new one trained with seed 4 is.
    reused = utility.train_classifier(images, labels, 2, seed=4, epochs=2, model=first)
    assert reused is first
    np.testing.assert_array_equal(reused.predict(images, verbose=0), p[2])
    with pytest.raises(ValueError, match=r"`model` maps \(None, 16, 16, 1\) to \(None, 2\), "
                                         r"these slices need \(None, 8, 8, 1\)"):
        utility.train_classifier(images[:, :8, :8], labels, 2, model=first)


def test_report_files_and_figure(tmp_path):
    from PIL import Image

    summary = utility.summarize({row: {m: [0.5, 0.7] for m in utility.MEASURES}
                                 for row in utility.ROWS})
    study = {"regimes": {"0.5": summary, "1": summary},
             "regime_info": {"0.5": {"subjects": 2, "slices": 10},
                             "1": {"subjects": 4, "slices": 20}},
             "test_subjects": ["a", "b"], "seeds": [0, 1], "class_names": ["x", "y"]}
    utility.write_report(study, tmp_path)
    assert json.loads((tmp_path / "utility.json").read_text()) == study
    table = (tmp_path / "utility.md").read_text()
    assert "### 50% of the training subjects (2 subjects, 10 slices)" in table
    assert "| real | 0.600 ± 0.141 | 0.600 ± 0.141 | 0.600 ± 0.141 | - | - |" in table
    assert "| synthetic only | 0.600 ± 0.141" in table and "+0.000 [+0.000, +0.000]" in table
    assert Image.open(tmp_path / "utility.png").size == (880, 528)  # (8, 4.8) in at 110 dpi.
