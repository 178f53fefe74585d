"""The segmentation utility study: the U-Net, its pair augmentation, the regimes, every row on
every seed, the report, the subject split and the leakage check."""

import json

import numpy as np
import pytest

from keras_mrigan import evaluation, runs, utility
from keras_mrigan.data.pipeline import SliceOptions
from tests.conftest import head_volume, save_nifti


def discs(n, resolution=32, seed=0):
    """Dark slices with one bright noisy disc each; the mask is the disc (class 1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:resolution, :resolution]
    centre = rng.uniform(0.3 * resolution, 0.7 * resolution, (n, 2))
    radius = rng.uniform(0.12 * resolution, 0.25 * resolution, n)
    masks = ((yy - centre[:, :1, None]) ** 2 + (xx - centre[:, 1:, None]) ** 2
             < radius[:, None, None] ** 2).astype(np.int32)
    images = np.where(masks == 1, 0.6, -0.8) + rng.normal(0, 0.1, masks.shape)
    return images[..., None].astype(np.float32), masks


@pytest.fixture
def paired(tiny_config, tmp_path):
    """Six heads with label volumes beside them (``sub3_seg.nii.gz``): 0 outside the head, 1
    its bright core, 2 the rest of the tissue."""
    root = tmp_path / "pairs"
    for i in range(6):
        volume = head_volume(seed=i)
        labels = np.where(volume > 750, 1, np.where(volume > 0, 2, 0)).astype(np.int16)
        save_nifti(root / f"sub{i}.nii.gz", volume)
        save_nifti(root / f"sub{i}_seg.nii.gz", labels)
    return tiny_config.replace(source=str(root), masks="{stem}_seg.nii.gz", epochs=1)


@pytest.mark.slow
def test_unet_learns_discs():
    images, masks = discs(48)
    model = utility.train_segmenter(images[:32], masks[:32], 2, seed=0, steps=60,
                                    batch_size=8)
    assert model.output_shape == (None, 32, 32, 2)
    found = utility.segmentation_scores(model, images[32:], masks[32:], ["background", "disc"])
    assert found["dice_disc"] > 0.9 and found["dice_background"] > 0.9
    assert found["dice_mean"] == found["dice_disc"]  # The one foreground class.
    predicted = utility.predict_masks(model, images[32:])
    assert predicted.dtype == np.int32 and predicted.shape == (16, 32, 32)
    # Trained again from another seed's start, the same model object is the model a new one
    # would be.
    expected = utility.train_segmenter(images[:32], masks[:32], 2, seed=1, steps=3,
                                       classic=True).predict(images[32:], verbose=0)
    again = utility.train_segmenter(images[:32], masks[:32], 2, seed=1, steps=3, classic=True,
                                    model=model)
    assert again is model
    np.testing.assert_array_equal(again.predict(images[32:], verbose=0), expected)
    with pytest.raises(ValueError, match=r"`model` maps \(None, 32, 32, 1\) to \(None, 32, 32, "
                                         r"2\), these slices need"):
        utility.train_segmenter(images[:4, :16, :16], masks[:4, :16, :16], 2, model=model)


def test_build_segmenter_refuses_what_it_cannot_pool():
    with pytest.raises(ValueError, match=r"divisible by 8 for 3 levels. Received: resolution=20"):
        utility.build_segmenter(20, 4)
    with pytest.raises(ValueError, match="at least 2"):
        utility.build_segmenter(16, 1)


def test_pair_augmentation_moves_image_and_mask_together():
    images, masks = discs(16, seed=3)
    augment = utility.pair_augmentation(2, seed=5)
    moved, moved_masks = (np.asarray(x) for x in augment(images, masks))
    assert moved.shape == images.shape and moved_masks.shape == masks.shape
    assert moved_masks.dtype == np.int32 and set(np.unique(moved_masks)) <= {0, 1}
    assert not np.array_equal(moved_masks, masks)  # Something moved.
    # The disc of the image is the disc of the mask (the contrast change keeps the
    # threshold's side; only interpolated border pixels may disagree).
    agree = (moved[..., 0] > -0.1) == (moved_masks == 1)
    assert agree.mean() > 0.99
    assert abs(int(moved_masks.sum()) - int(masks.sum())) < 0.05 * masks.sum()
    assert moved.min() >= -1.0 and moved.max() <= 1.0


def test_nested_subjects():
    train = [f"s{i}" for i in range(10)]
    found = utility.nested_subjects(train, [2, 4, "all"], seed=1)
    assert list(found) == ["2", "4", "all"]
    assert len(found["2"]) == 2 and len(found["4"]) == 4 and found["all"] == sorted(train)
    assert set(found["2"]) < set(found["4"])
    assert utility.nested_subjects(train, [4], seed=1)["4"] == found["4"]
    with pytest.raises(ValueError, match=r"from 1 to 10 \(or 'all'\). Received: 11"):
        utility.nested_subjects(train, [11])


@pytest.mark.slow
def test_rows_on_every_seed_and_the_report(tmp_path):
    from PIL import Image

    images, masks = discs(24, resolution=16)
    drawn = []

    def synthesize(n, seed):
        drawn.append((n, seed))
        return discs(n, resolution=16, seed=100 + seed)

    rows = utility.SEGMENTATION_ROWS
    regime = utility.PairRegime("2", ["a", "b"], images[:16], masks[:16], synthesize)
    results = utility.run_segmentation_regime(regime, images[16:], masks[16:],
                                              ["background", "disc"], [0, 1], steps=2,
                                              rows=rows, progress=False)
    assert tuple(results) == rows == ("real", "real+classic", "real+synthetic 1:1",
                                      "real+synthetic 1:2", "synthetic only")
    for measures in results.values():
        assert set(measures) == {"dice_mean", "dice_background", "dice_disc"}
        assert all(len(values) == 2 for values in measures.values())
    # As many synthetic pairs as real ones (1:1, synthetic only), twice as many (1:2); one
    # draw per ratio and seed.
    assert sorted(drawn) == [(16, 0), (16, 1), (32, 0), (32, 1)]

    study = {"task": "segmentation", "class_names": ["background", "disc"], "seeds": [0, 1],
             "test_subjects": ["c"], "regimes": {"2": utility.summarize(results)},
             "regime_info": {"2": {"subjects": 2, "slices": 16, "train_subjects": ["a", "b"]}}}
    utility.write_report(study, tmp_path)
    assert json.loads((tmp_path / "utility.json").read_text()) == study
    table = (tmp_path / "utility.md").read_text()
    assert "### 2 training subjects (2 subjects, 16 slices)" in table
    assert "| training data | mean Dice | disc | Δ mean Dice |" in table
    real = study["regimes"]["2"]["real"]["dice_mean"]
    assert f"| real | {real['mean']:.3f} ± {real['std']:.3f} | " in table
    assert table.count("| synthetic only |") == 1
    assert Image.open(tmp_path / "utility.png").size == (880, 528)


def test_the_study_refuses_what_it_cannot_run(tiny_config, tmp_path):
    with pytest.raises(ValueError, match="needs image \\+ mask pairs: set --masks"):
        utility.study(tiny_config, tmp_path, task="segmentation")
    with pytest.raises(ValueError, match="numbers of training subjects: give `subjects`"):
        utility.study(tiny_config, tmp_path, task="segmentation", fractions=[0.5])
    with pytest.raises(ValueError, match=r"`task` must be one of \('classification', "):
        utility.study(tiny_config, tmp_path, task="detection")
    assert not list(tmp_path.glob("utility.*"))


def test_leakage_check_fires_before_any_training(paired, tmp_path):
    # A generator folder whose record holds every subject: refused by name, nothing trained.
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    runs.write_split(leaky, [f"{paired.data.source}/sub{i}.nii.gz" for i in range(6)])
    with pytest.raises(ValueError, match=r"was trained on 2 of the test subjects \(\S+/sub\d"
                                         r"\.nii\.gz, \S+/sub\d\.nii\.gz\)"):
        utility.study(paired, tmp_path / "refused", task="segmentation", subjects=[2],
                      generator=leaky, seeds=2, progress=False)
    with pytest.raises(ValueError, match="does not record its training subjects"):
        utility.study(paired, tmp_path / "refused", task="segmentation", subjects=["all"],
                      generator=tmp_path, seeds=2, progress=False)
    assert not (tmp_path / "refused" / "utility.json").exists()


@pytest.mark.slow
def test_segmentation_study_every_row_split_by_subject(paired, tmp_path):
    out = tmp_path / "study"
    report = utility.study(paired, out, task="segmentation", subjects=[2], seeds=2,
                           segmenter_steps=2, progress=False)
    assert report["class_names"] == ["0", "1", "2"]
    assert list(report["regimes"]) == ["2"]
    test = set(report["test_subjects"])
    assert len(test) == 2  # 0.3 of six subjects.
    for key, summary in report["regimes"].items():
        assert list(summary) == list(utility.SEGMENTATION_ROWS)
        for row, measures in summary.items():
            assert set(measures) == {"dice_mean", "dice_0", "dice_1", "dice_2"}
            assert len(measures["dice_mean"]["values"]) == 2
            assert ("difference" in measures["dice_mean"]) == (row != "real")
        info = report["regime_info"][key]
        assert not test & set(info["train_subjects"])
        assert len(info["train_subjects"]) == 2
        # Each regime's generator trained on exactly its subjects.
        assert runs.read_split(out / f"generator_{key}") == info["train_subjects"]
    assert "| real+synthetic 1:2 |" in (out / "utility.md").read_text()
    assert (out / "utility.png").exists()

    # The regime's generator, evaluated as a pair generator: its images by every measure,
    # its masks against the real masks its run's settings name.
    found = evaluation.evaluate_path(out / "generator_2", paired.data.source,
                                     out=tmp_path / "evaluated", n=12, segmenter_steps=2)
    masks = found.metrics["masks"]
    assert list(masks["proportions"]["classes"]) == ["0", "1", "2"]
    assert set(masks["fit"]) == {"real_held_out", "generated"}
    assert set(masks["fit"]["generated"]) == {"dice_mean", "dice_0", "dice_1", "dice_2"}
    assert found.metrics["n"] == 12 and "swd" in found.metrics
    written = json.loads((tmp_path / "evaluated" / "metrics.json").read_text())
    assert written["masks"] == json.loads(json.dumps(masks))
    assert "| 1 | " in (tmp_path / "evaluated" / "table.md").read_text()
    with pytest.raises(ValueError, match="makes no masks: --masks applies to generators"):
        evaluation.evaluate_path(tmp_path / "evaluated", paired.data.source,
                                 options=SliceOptions(masks="{stem}_seg.nii.gz"))


def test_mask_measures_by_hand():
    from keras_mrigan.data.masks import MaskClasses, to_pair

    images, masks = discs(24, resolution=16)
    subjects = np.repeat(["a", "b", "c", "d"], 6)
    classes = MaskClasses(values=(0, 1), names=("background", "disc"))
    # "Generated" pairs: the first 8 real ones; their proportions against all 24.
    found = evaluation.mask_measures(images[:8], masks[:8], to_pair(images, masks, 2), classes,
                                     subjects, steps=1)
    disc = found["proportions"]["classes"]["disc"]
    proportions = masks.mean(axis=(1, 2))
    assert disc["real_mean"] == pytest.approx(proportions.mean())
    assert disc["generated_mean"] == pytest.approx(proportions[:8].mean())
    assert disc["wasserstein"] > 0
    assert set(found["fit"]["generated"]) == {"dice_mean", "dice_background", "dice_disc"}
    table = evaluation.mask_table(found)
    assert f"| disc | {disc['real_mean']:.3f} ± {disc['real_std']:.3f} | " in table
