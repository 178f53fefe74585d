"""Labelled runs: conditional GANs of every architecture trained, resumed and grown from
labelled data, with their training subjects recorded."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_mrigan import builders, runs, training
from tests.conftest import head_volume, save_nifti


@pytest.fixture
def labelled_config(tiny_config, tmp_path):
    """Class folders AD (2 volumes) and CN (1 volume): 42 slices of 16 x 16."""
    root = tmp_path / "classes"
    for i, group in enumerate(["AD", "AD", "CN"]):
        save_nifti(root / group / f"sub{i}.nii.gz", head_volume(seed=i))
    return tiny_config.replace(source=str(root), labels="folders", batch_size=8)


def test_a_labelled_run_trains_a_conditional_gan(labelled_config, tmp_path):
    run = tmp_path / "run"
    gan = training.train(labelled_config, run, verbose=0)
    assert gan.num_classes == 2 and gan.class_names == ("AD", "CN")
    np.testing.assert_allclose(gan.class_frequencies, [28 / 42, 14 / 42])
    assert [name.rsplit("/", 2)[-2:] for name in runs.read_split(run)] == [
        ["AD", "sub0.nii.gz"], ["AD", "sub1.nii.gz"], ["CN", "sub2.nii.gz"]]
    loaded = keras.models.load_model(run / "model.keras")
    np.testing.assert_array_equal(loaded.generate(4, seed=1, label="CN"),
                                  gan.generate(4, seed=1, label="CN"))
    assert (run / "samples" / "latest.png").exists()


def test_a_conditional_run_resumes_exactly(labelled_config, tmp_path):
    config = labelled_config.replace(epochs=3, ema_half_life_images=30)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    training.train(config.replace(epochs=1), tmp_path / "part", verbose=0)
    resumed = training.resume(tmp_path / "part", epochs=3, verbose=0)
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("arch", ["srresnet", "progan"])
def test_every_architecture_conditions(labelled_config, tmp_path, arch):
    settings = dict(arch=arch, latent_distribution="normal", loss="wgan-gp")
    if arch == "progan":
        settings.update(width=1 / 32, phase_epochs=1, epochs=5, batch_size=4)
    gan = training.train(labelled_config.replace(**settings), tmp_path / "run", verbose=0)
    assert gan.conditional and gan.generator.inputs[1].name.startswith("label")
    images = gan.generate(4, seed=0, label=[0, 1, 0, 1])
    assert np.isfinite(images).all()
    if arch == "progan":  # Grown 4 -> 8 -> 16, the label embeddings carried over.
        assert gan.resolution == 16
        state = json.loads((tmp_path / "run" / "state.json").read_text())
        assert state["resolution"] == 16
        grown = builders.build_gan(labelled_config.replace(**settings), 16,
                                   (gan.class_names, gan.class_frequencies))
        for network in ("generator", "discriminator"):
            layer = "label_embedding" if network == "generator" else "projection"
            kept = getattr(gan, network).get_layer(layer).get_weights()[0]
            fresh = getattr(grown, network).get_layer(layer).get_weights()[0]
            assert np.abs(kept - fresh).max() > 1e-4


def test_a_conditional_run_in_mixed_precision_with_augmentation(labelled_config, tmp_path):
    config = labelled_config.replace(precision="mixed_bfloat16", epochs=1,
                                     augment="translation,cutout", augment_p=0.5, loss="gan-r1",
                                     real_label=1.0)
    gan = training.train(config, tmp_path / "run", verbose=0)
    images = gan.generate(4, seed=0, label="AD")
    assert images.dtype == np.float32 and np.isfinite(images).all()


def test_labelled_runs_need_labelled_data(labelled_config, tmp_path):
    (tmp_path / "classes" / "MCI").mkdir()
    with pytest.raises(ValueError, match="MCI: class folder without any image"):
        training.train(labelled_config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    latents = np.load(sys.argv[2])
    labels = tf.constant([0, 1, 1, 0], tf.int32)
    by_latent = model.signatures["serving_default"](latent=tf.constant(latents), label=labels)
    by_seed = model.signatures["generate_from_seed"](
        seed=tf.constant(np.arange(4, dtype=np.int64)), label=labels)
    assert "keras_mrigan" not in sys.modules
    np.savez(sys.argv[3], latent=by_latent["images"].numpy(), seed=by_seed["images"].numpy())
    print(json.dumps(json.load(open(sys.argv[1] + "/assets/metadata.json"))))
""")


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    from keras_mrigan.config import RunConfig

    root = tmp_path_factory.mktemp("conditional")
    for i, group in enumerate(["control", "control", "atrophy", "atrophy"]):
        save_nifti(root / "data" / group / f"sub{i}.nii.gz", head_volume(seed=i))
    config = RunConfig().replace(
        source=str(root / "data"), labels="folders", resolution=16, batch_size=8, latent_dim=8,
        width=1 / 16, loss="gan", epochs=1, sample_count=4, jit_compile=False)
    training.train(config, root / "run", verbose=0)
    return root / "run"


@pytest.mark.slow
def test_conditional_savedmodel_takes_labels_in_both_signatures(conditional_run, tmp_path):
    from keras_mrigan import export
    from keras_mrigan.models.latents import seed_latents

    path = export.export_generator(conditional_run, "cond", base=tmp_path / "models")
    latents = np.random.default_rng(0).uniform(-1, 1, (4, 8)).astype(np.float32)
    np.save(tmp_path / "latents.npy", latents)
    done = subprocess.run([sys.executable, "-c", LOADER, str(path), str(tmp_path / "latents.npy"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, check=True)
    served = np.load(tmp_path / "out.npz")
    meta = json.loads(done.stdout.strip().splitlines()[-1])
    assert meta["class_names"] == ["atrophy", "control"]
    assert meta["class_frequencies"] == [0.5, 0.5]
    # How the training data were labelled, so that the export can be evaluated per class.
    assert meta["labels"] == {"labels": "folders", "label_column": None, "id_column": "ID",
                              "label_map": None, "drop_unlabelled": False}
    # The run's training subjects travel with the export, for the utility's leakage check.
    assert meta["train_subjects"] == runs.read_split(conditional_run)
    from keras_mrigan import utility

    assert utility.generator_subjects(path) == meta["train_subjects"]
    with pytest.raises(ValueError, match=r"was trained on 1 of the test subjects "
                       r"\(.*atrophy/sub2.nii.gz\)"):
        utility.check_leakage(meta["train_subjects"], [meta["train_subjects"][0], "other"],
                              str(path))
    assert "label int32" in meta["signatures"]["generate_from_seed"]
    gan = keras.models.load_model(conditional_run / "model.keras")
    import tensorflow as tf

    labels = tf.constant([0, 1, 1, 0], tf.int32)
    np.testing.assert_allclose(served["latent"], np.clip(gan.generator(
        [tf.constant(latents), labels], training=False).numpy(), -1, 1), atol=1e-5)
    np.testing.assert_allclose(served["seed"], np.clip(gan.generator(
        [seed_latents(np.arange(4), 8), labels], training=False).numpy(), -1, 1), atol=1e-5)


def test_generate_per_class_folders_read_back_by_keras(conditional_run, tmp_path, capsys):
    from keras_mrigan.cli import main
    from keras_mrigan.runs import Sampler

    out = tmp_path / "synthetic"
    assert main(["generate", "--model", str(conditional_run), "--per-class", "3", "--seed", "5",
                 "--out", str(out)]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        f"{c}/image_{s:06d}.png" for c in ("atrophy", "control") for s in (5, 6, 7)]
    dataset = keras.utils.image_dataset_from_directory(
        out, labels="inferred", color_mode="grayscale", image_size=(16, 16), shuffle=False,
        batch_size=None)
    sampler = Sampler(conditional_run)
    expected = {name: np.round((sampler(np.arange(5, 8), name) + 1) * 127.5)
                for name in sampler.class_names}
    read = {}
    for image, label in dataset:
        read.setdefault(dataset.class_names[int(label)], []).append(image.numpy())
    for name in ("atrophy", "control"):
        np.testing.assert_allclose(np.stack(read[name]), expected[name], atol=1)
    assert main(["generate", "--model", str(conditional_run), "--label", "control", "--n", "2",
                 "--out", str(tmp_path / "one")]) == 0
    assert len(list((tmp_path / "one" / "control").glob("*.png"))) == 2
    for args, message in (
        (["--label", "dementia", "--n", "2"], "Unknown class 'dementia': a class name in"),
        (["--n", "2"], "conditional generator: choose a class (--label or --per-class)"),
        (["--per-class", "2", "--n", "2"], "--per-class N makes N images of every class"),
    ):
        assert main(["generate", "--model", str(conditional_run), *args, "--out",
                     str(tmp_path / "bad")]) == 2
        assert message in capsys.readouterr().err
    assert not list((tmp_path / "bad").rglob("*.png"))


@pytest.mark.slow
def test_evaluate_per_class_with_class_fidelity(conditional_run, tmp_path, capsys):
    from keras_mrigan import export
    from keras_mrigan.cli import main

    data = conditional_run.parent / "data"
    out = tmp_path / "eval"
    assert main(["evaluate", "--generated", str(conditional_run), "--reference", str(data),
                 "--labels", "folders", "--n", "24", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    report = json.loads((out / "classes.json").read_text())
    assert sorted(report["classes"]) == ["atrophy", "control"]
    for name, result in report["classes"].items():
        assert result["n"] == 24 and result["reference"]["n"] == 24
        assert (out / name / "metrics.json").exists()
    fidelity = report["fidelity"]
    assert set(fidelity["generated"]) == {"atrophy", "control"}
    assert all(0 <= a <= 1 for a in fidelity["generated"].values())
    assert "Class fidelity" in (out / "classes.md").read_text()
    # A conditional SavedModel without labels: evaluated per class by the labels its
    # metadata records, on the images of the same seeds as the run folder.
    from keras_mrigan import evaluation

    path = export.export_generator(conditional_run, "c", base=tmp_path / "models")
    served = evaluation.evaluate_path(path, data, n=24, classifier_epochs=1)
    assert served.per_class and served.files == []
    for name in ("atrophy", "control"):
        assert served.metrics["classes"][name]["delta"] == report["classes"][name]["delta"]
    # Without that record: a clear error, before any work.
    meta = path / "assets" / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "labels": None}))
    with pytest.raises(ValueError, match="does not record the labels it was trained with"):
        evaluation.evaluate_path(path, data, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_conditional_run_is_evaluated_per_class_by_its_own_labels(conditional_run, tmp_path):
    from keras_mrigan import evaluation
    from keras_mrigan.generate import generate
    from keras_mrigan.runs import Sampler

    said = []
    report = evaluation.evaluate_path(conditional_run, conditional_run.parent / "data",
                                      out=tmp_path / "eval", n=20, seed=3,
                                      classifier_epochs=1, progress=said.append)
    assert report.per_class and report.name == "run"
    assert "evaluated class by class (atrophy, control) with labels 'folders'" in said[0]
    classes = report.metrics["classes"]
    assert sorted(classes) == ["atrophy", "control"]
    assert all(classes[name]["n"] == 20 and classes[name]["reference"]["n"] == 20
               for name in classes)
    fidelity = report.metrics["fidelity"]
    assert sorted(fidelity["generated"]) == ["atrophy", "control"]
    assert all(0 <= v <= 1 for v in [*fidelity["generated"].values(),
                                      fidelity["real_held_out"]])
    written = json.loads((tmp_path / "eval" / "classes.json").read_text())
    assert written == json.loads(json.dumps(report.metrics))
    for name in ("atrophy", "control"):
        assert {p.name for p in (tmp_path / "eval" / name).iterdir()} == {
            "metrics.json", "table.md", "memorization.png"}
    assert report.files == ["classes.json", "classes.md", "atrophy/", "control/"]
    assert "## atrophy" in report.text() and "## Class fidelity" in report.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval"]  # No staging left.
    # Each class is measured on the images its seeds give through the one mapping.
    images = generate(Sampler(conditional_run), 20, seed=3, progress=False, label="control")
    from keras_mrigan.metrics.paper import diversity

    assert classes["control"]["delta"] == diversity(images[..., 0], seed=3).delta


def test_a_conditional_generator_without_recorded_labels_is_refused_before_any_work(
        conditional_run, tmp_path):
    import shutil

    from keras_mrigan import evaluation

    shutil.copyfile(conditional_run / "model.keras", tmp_path / "bare.keras")
    with pytest.raises(ValueError, match=r"bare.keras is a conditional generator of classes "
                       r"\['atrophy', 'control'\] that does not record the labels it was "
                       r"trained with: pass the reference's labels \(--labels folders"):
        evaluation.evaluate_path(tmp_path / "bare.keras", tmp_path / "nowhere",
                                 out=tmp_path / "eval")
    with pytest.raises(ValueError, match="is not a conditional generator: --labels applies"):
        evaluation.evaluate_path(conditional_run.parent / "data", tmp_path / "nowhere",
                                 labels="folders", out=tmp_path / "eval")
    # Labels whose classes are not the generator's: refused before any report is written.
    other = tmp_path / "other"
    for i, group in enumerate(["AD", "CN"]):
        save_nifti(other / group / f"sub{i}.nii.gz", head_volume(seed=i))
    with pytest.raises(ValueError, match=r"The reference's classes \['AD', 'CN'\] are not the "
                                         r"generator's \['atrophy', 'control'\]"):
        evaluation.evaluate_path(conditional_run, other, labels="folders",
                                 out=tmp_path / "eval")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bare.keras", "other"]
