import json

import keras
import numpy as np
import pytest

from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.evaluation import evaluate, table
from keras_mrigan.metrics import ReferenceStats, memorization
from keras_mrigan.metrics.interpolation import interpolation_latents
from keras_mrigan.models.latents import sample_latents


@pytest.fixture(scope="module")
def real():
    return load_slices("demo", 32)[..., 0]


@pytest.fixture(scope="module")
def stats(real):
    return ReferenceStats.fit(real[:1024], n=200, swd_images=200)


def test_memorization_flags_copies_not_new_images(real, stats):
    found = memorization.memorization(memorization.pool(real[:50]), stats.thumbnails,
                                      stats.baseline, stats.subjects)
    assert found["fraction_below"] == 1.0 and found["median_generated"] < 1e-5
    fresh = memorization.pool(real[1024:1124])  # Real images not in the reference.
    found = memorization.memorization(fresh, stats.thumbnails, stats.baseline, stats.subjects)
    assert found["fraction_below"] < 0.1 and found["median_real"] > found["threshold"]


def test_copies_of_training_slices_outside_the_reference_are_found_in_the_training_index(
        real, stats):
    # The reference holds subjects 0-31; the "generated" images are copies of slices of
    # subjects 32-63, on which a generator would have trained.
    _, subjects = load_slices("demo", 32, return_subjects=True)
    copies = real[1024:1124]
    against_reference = evaluate(copies, stats)["memorization"]
    assert against_reference["fraction_below"] < 0.1
    assert against_reference["against"] == {"source": "reference", "slices": 1024,
                                             "subjects": 1024}  # Each image its own subject.
    training = memorization.MemorizationIndex.fit(real[1024:], subjects[1024:],
                                                  np.random.default_rng(0), source="training")
    assert len(training.baseline) == 1000 and np.all(np.diff(training.baseline) > 0)
    found = evaluate(copies, stats, index=training)
    assert found["memorization"]["fraction_below"] == 1.0
    assert found["memorization"]["median_generated"] < 1e-5
    assert found["memorization"]["against"] == {"source": "training", "slices": 1024,
                                                "subjects": 32}
    # Every other measure is the reference's, as without the index.
    assert found["swd"] == evaluate(copies, stats)["swd"]
    assert ("Memorized: generated images closer to one of the 1,024 training slices (32 "
            "subjects) than 99 % of real slices are to their nearest slice of another person."
            in table(found))


def test_the_reference_statistics_keep_their_memorization_index(real, stats):
    index = stats.memorization_index
    assert index.source == "reference" and index.thumbnails is stats.thumbnails
    assert np.array_equal(index.baseline, stats.baseline)
    # The same draw as a fit of the index alone after the statistics' SWD sample.
    rng = np.random.default_rng(0)
    rng.choice(1024, 200, replace=False)
    again = memorization.MemorizationIndex.fit(real[:1024], None, rng)
    assert np.array_equal(again.baseline, stats.baseline)
    assert np.array_equal(again.thumbnails, stats.thumbnails)
    with pytest.raises(ValueError, match="at least 2 subjects; all 5 reference images are of"):
        memorization.MemorizationIndex.fit(real[:5], ["a"] * 5)


@pytest.fixture(scope="module")
def cohort_64():
    """The demo cohort at 64 x 64 with each slice's subject; a quarter of the subjects are
    in neither the reference nor the generator's training set."""
    images, subjects = load_slices("demo", 64, return_subjects=True)
    unseen = np.isin(subjects, np.unique(subjects)[::4])
    stats = ReferenceStats.fit(images[~unseen, ..., 0], subjects=subjects[~unseen], n=100,
                               swd_images=100)
    return images[..., 0], subjects, unseen, stats


def test_memorization_baseline_is_other_subjects(cohort_64):
    _, subjects, unseen, stats = cohort_64
    assert len(np.unique(subjects)) == 64 and np.unique(subjects[unseen]).size == 16
    names = np.unique(subjects[~unseen])
    assert np.array_equal(np.unique(stats.subjects), np.arange(len(names)))
    assert len(stats.baseline) == 1000


CHANGES = ["right 1", "diagonal 1", "down 2", "down 2 left 1", "diagonal 2", "noise"]


@pytest.fixture(scope="module")
def searched(cohort_64):
    """One ``memorization`` call (one real-to-real baseline search) for 300 moved or noised
    copies of reference images per change of ``CHANGES``, then the never-seen subjects'
    images: the result and each group's rows."""
    images, _, unseen, stats = cohort_64
    moves = {"right 1": (0, 1), "diagonal 1": (1, 1), "down 2": (2, 0),
             "down 2 left 1": (2, -1), "diagonal 2": (2, 2)}
    groups = {}
    for change in CHANGES:
        rng = np.random.default_rng(0)  # The same 300 images for every change.
        copies = images[~unseen][rng.choice(int(np.sum(~unseen)), 300, replace=False)]
        if change == "noise":
            copies = np.clip(copies + rng.normal(0, 0.05, copies.shape), -1, 1)
        else:
            copies = np.roll(copies, moves[change], axis=(1, 2))
        groups[change] = copies
    groups["unseen"] = images[unseen]
    rows, start = {}, 0
    for name, group in groups.items():
        rows[name] = slice(start, start + len(group))
        start += len(group)
    found = memorization.memorization(memorization.pool(np.concatenate(list(groups.values()))),
                                      stats.thumbnails, stats.baseline, stats.subjects)
    return found, rows


@pytest.mark.parametrize("change", CHANGES)
def test_memorization_flags_moved_and_noised_copies(searched, change):
    found, rows = searched
    assert found["distance"].shape == (rows["unseen"].stop,)
    assert np.mean(found["distance"][rows[change]] < found["threshold"]) >= 0.9


def test_memorization_rarely_flags_subjects_never_seen(searched):
    found, rows = searched
    distance = found["distance"][rows["unseen"]]
    assert np.mean(distance < found["threshold"]) <= 0.05
    assert np.median(distance) > found["threshold"]


def test_subjects_of_volumes_oasis_ids_and_png_slices(tmp_path):
    from keras_mrigan.data.readers import DataError, subject_of

    assert subject_of(tmp_path / "a" / "sub-01.nii.gz") == str(tmp_path / "a" / "sub-01.nii.gz")
    assert subject_of("/x/OAS1_0042_MR2/PROCESSED/t88.hdr") == "OAS1_0042"
    assert subject_of("/x/train/case_001_slice_12.nii.png") == "/x/train/case_001"
    assert subject_of("/x/train/case_001_slice_0.nii.png") == "/x/train/case_001"
    assert subject_of("/x/p17-z033.png", pattern=r"p(\d+)-") == "17"
    with pytest.raises(DataError, match="p17.png: the subject pattern .* does not occur"):
        subject_of("/x/p17.png", pattern=r"q\d")


def test_interpolation_latents_are_lines_between_two_samples():
    lines = interpolation_latents(8, "uniform", rows=2, steps=5, seed=3)
    ends = np.asarray(sample_latents(4, 8, "uniform", seed=3))
    np.testing.assert_allclose(lines[0], ends[0], atol=1e-6)
    np.testing.assert_allclose(lines[4], ends[1], atol=1e-6)
    np.testing.assert_allclose(lines[2], (ends[0] + ends[1]) / 2, atol=1e-6)
    unit = interpolation_latents(8, "normal", rows=2, steps=5)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)


def test_evaluate_writes_the_report_and_stats_round_trip(real, stats, tmp_path):
    stats.save(tmp_path / "ref.npz")
    loaded = ReferenceStats.load(tmp_path / "ref.npz")
    assert loaded.row == stats.row and loaded.resolution == 32
    np.testing.assert_array_equal(loaded.paper.components, stats.paper.components)
    for a, b in zip(loaded.swd_descriptors, stats.swd_descriptors, strict=True):
        np.testing.assert_array_equal(a, b)

    def generate(latents):
        return np.tanh(latents[:, :1, None] + np.zeros((1, 32, 32)))

    result = evaluate(real[1024:1224], loaded, out=tmp_path / "report", name="held-out",
                      generate=(generate, 4, "uniform"))
    written = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert written == json.loads(json.dumps(result))
    for key in ("n", "rho", "sigma", "sigma_per_image", "delta", "explained_variance_16",
                "swd", "ms_ssim", "memorization", "reference"):
        assert key in written
    assert written["n"] == 200 and written["reference"]["n"] == 200
    # Held-out real images (other subjects) look almost as real as the reference itself.
    assert 0.7 < written["rho"] < written["reference"]["rho"]
    table = (tmp_path / "report" / "table.md").read_text().splitlines()
    assert table[2].startswith("| Training dataset | 200 |") and table[3].startswith("| held-out")
    ratio = written["swd"]["mean"] / written["reference"]["swd"]["mean"]
    assert table[5].startswith(f"SWD: {ratio:.2f}x the floor "
                               f"({written['reference']['swd']['mean']:.2f}: two samples")
    assert {p.name for p in (tmp_path / "report").iterdir()} == {
        "metrics.json", "table.md", "memorization.png", "interpolation.png"}
    with pytest.raises(ValueError, match="not a reference statistics file"):
        (tmp_path / "bad.npz").write_bytes(b"no")
        ReferenceStats.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="fit them at the same size"):
        evaluate(np.zeros((4, 16, 16), np.float32), loaded)


def test_gan_metrics_callback_puts_measures_into_history(real, stats):
    from keras_mrigan.callbacks import GANMetrics
    from keras_mrigan.models import dcgan
    from keras_mrigan.models.gan import GAN

    gan = GAN(dcgan.build_generator(32, latent_dim=8, width=1 / 16),
              dcgan.build_discriminator(32, width=1 / 16))
    gan.compile(loss="dragan")
    history = gan.fit(real[:64, ..., None], batch_size=16, epochs=3, verbose=0,
                      callbacks=[GANMetrics(stats, n=32, every=2)])
    logs = history.history
    assert len(logs["d_loss"]) == 3
    # Measured after epochs 2 and 3 (the last); History holds them as they came.
    assert len(logs["rho"]) == len(logs["swd"]) == 2
    assert all(np.isfinite(v) for v in logs["rho"] + logs["swd"] + logs["delta"])
    with pytest.raises(ValueError, match="Unknown or no metrics"):
        GANMetrics(stats, metrics=("fid",))
    keras.backend.clear_session()


def test_a_failing_report_leaves_nothing_and_a_report_keeps_other_files(real, stats, tmp_path):
    def broken(latents):  # Fails after metrics and memorization.png are made.
        raise RuntimeError("generator lost")

    with pytest.raises(RuntimeError, match="generator lost"):
        evaluate(real[1024:1064], stats, out=tmp_path / "report", generate=(broken, 4, "uniform"))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "notes.txt").write_text("mine")
    (tmp_path / "report" / "metrics.json").write_text("{}")  # An older report's.
    with pytest.raises(RuntimeError, match="generator lost"):
        evaluate(real[1024:1064], stats, out=tmp_path / "report", generate=(broken, 4, "uniform"))
    assert (tmp_path / "report" / "metrics.json").read_text() == "{}"
    result = evaluate(real[1024:1064], stats, out=tmp_path / "report")
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["n"] == result["n"] == 40
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "memorization.png", "metrics.json", "notes.txt", "table.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
