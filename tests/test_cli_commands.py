"""The thin command line over its library functions: ``generate.write_samples`` behind
``keras-mrigan generate``, ``evaluation.evaluate_path`` behind ``keras-mrigan evaluate``, and a
package import without deprecation warnings."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import save_png
from PIL import Image

from keras_mrigan.builders import build_gan
from keras_mrigan.cli import main
from keras_mrigan.config import RunConfig
from keras_mrigan.generate import Written, generate, write_samples
from keras_mrigan.runs import Sampler

CLASSES = ("control", "atrophy")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Untrained tiny 16 x 16 GANs saved as ``.keras`` files: an unconditional one and one of
    two classes (what the commands read is a GAN file; training adds nothing here)."""
    folder = tmp_path_factory.mktemp("models")
    config = RunConfig().replace(resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
                                 loss="dragan", jit_compile=False)
    gan = build_gan(config)
    gan.save(folder / "plain.keras")
    build_gan(config, classes=(CLASSES, (3, 1))).save(folder / "conditional.keras")
    return folder / "plain.keras", folder / "conditional.keras", gan


def test_importing_the_package_warns_of_no_deprecated_path():
    # A fresh process: this one has imported the package already.
    script = ("import warnings\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n"
              "    import keras_mrigan, keras_mrigan.cli, keras_mrigan.evaluation\n"
              "    import keras_mrigan.generate, keras_mrigan.tuning, keras_mrigan.utility\n"
              "print([str(w.message) for w in caught\n"
              "       if issubclass(w.category, DeprecationWarning)\n"
              "       and 'keras_mrigan' in (w.filename + str(w.message))])\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command, expected", [
    ("evaluate", ("--generated", "--reference-stats", "--labels", "--raw-generator",
                  "labels the generator was trained with", "per class for a conditional one")),
    ("generate", ("--model", "--per-class", "--label", "--nifti-per-slice", "--format",
                  "Image i comes from seed SEED + i")),
])
def test_help_of_evaluate_and_generate(command, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines.
    for text in expected:
        assert text in shown


def test_write_samples_of_an_unconditional_generator(models, tmp_path):
    plain, _, gan = models
    written = write_samples(plain, tmp_path / "npy", n=3, seed=5, format="npy",
                            progress=False)
    assert written == [Written(tmp_path / "npy", None, 3, [tmp_path / "npy" / "generated.npy"])]
    images = np.load(tmp_path / "npy" / "generated.npy")
    assert images.shape == (3, 16, 16, 1)
    # One seed mapping: the GAN itself, a Sampler and the written file agree bit for bit.
    np.testing.assert_array_equal(images, gan.generate(3, seed=5))
    np.testing.assert_array_equal(images, generate(Sampler(plain), 3, seed=5, progress=False))
    pngs = write_samples(Sampler(plain), tmp_path / "png", n=3, seed=5, batch_size=2,
                         progress=False)
    assert [p.name for p in pngs[0].files] == ["image_000005.png", "image_000006.png",
                                               "image_000007.png"]
    read = np.stack([np.asarray(Image.open(p)) for p in pngs[0].files]).astype(np.float32)
    np.testing.assert_allclose(read, np.round((images[..., 0] + 1) * 127.5), atol=1)


def test_write_samples_of_a_conditional_generator(models, tmp_path):
    _, conditional, _ = models
    sampler = Sampler(conditional)
    written = write_samples(sampler, tmp_path / "all", per_class=2, seed=7, format="npy",
                            progress=False)
    assert [(w.folder, w.label, w.n) for w in written] == [
        (tmp_path / "all" / name, name, 2) for name in CLASSES]
    for name in CLASSES:
        np.testing.assert_array_equal(np.load(tmp_path / "all" / name / "generated.npy"),
                                      sampler(np.arange(7, 9), name))
    # A class by index is written to its name's folder.
    (one,) = write_samples(sampler, tmp_path / "one", n=2, label=1, seed=7, progress=False)
    assert one.folder == tmp_path / "one" / "atrophy" and one.label == "atrophy"
    assert sorted(p.name for p in one.folder.iterdir()) == ["image_000007.png",
                                                            "image_000008.png"]


def test_write_samples_refuses_before_any_image(models, tmp_path):
    plain, conditional, _ = models
    out = tmp_path / "bad"
    for model, kwargs, message in (
        (plain, {}, "--n must be a positive integer (or give --per-class N). Received: "
                    "n=None"),
        (plain, {"n": 0}, "Received: n=0"),
        (plain, {"n": True}, "Received: n=True"),
        (plain, {"per_class": 2, "n": 2}, "--per-class N makes N images of every class: give "
                                          "it without --n and --label."),
        (plain, {"per_class": 0}, "--per-class must be a positive integer. Received: "
                                  "per_class=0"),
        (plain, {"n": 2, "format": "jpg"}, "`format` must be one of ('png', 'nifti', 'npy'). "
                                           "Received: format='jpg'"),
        (plain, {"per_class": 2}, "--per-class needs a conditional generator; "),
        (plain, {"n": 2, "label": "control"}, "is unconditional: it takes no label. "
                                              "Received: label='control'"),
        (conditional, {"n": 2, "label": "dementia"}, "Unknown class 'dementia': a class name "
                                                     "in ['control', 'atrophy']"),
        (conditional, {"n": 2}, "conditional generator: choose a class (--label or "
                                "--per-class) among ['control', 'atrophy']"),
    ):
        with pytest.raises(ValueError) as raised:
            write_samples(model, out, progress=False, **kwargs)
        assert message in str(raised.value)
    assert not out.exists() or not list(out.rglob("*.*"))


def test_generate_command_prints_what_it_wrote(models, tmp_path, capsys):
    _, conditional, _ = models
    out = tmp_path / "out"
    assert main(["generate", "--model", str(conditional), "--per-class", "2", "--seed", "3",
                 "--format", "nifti", "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    for name in CLASSES:
        assert f"Wrote 2 images (nifti, 1 file(s)) to {out / name}" in printed
        assert (out / name / "generated.nii.gz").exists()
    assert main(["generate", "--model", str(conditional), "--n", "2", "--out",
                 str(tmp_path / "x")]) == 2
    assert "keras-mrigan: error:" in capsys.readouterr().err


def test_evaluate_command_prints_the_report_and_its_files(models, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for folder in ("real", "fake"):
        for i in range(20):
            save_png(tmp_path / folder / f"{i}.png", rng.integers(0, 256, (16, 16), np.uint8))
    out = tmp_path / "eval"
    assert main(["evaluate", "--generated", str(tmp_path / "fake"), "--reference",
                 str(tmp_path / "real"), "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 20 and metrics["reference"]["n"] == 20
    assert "| Training dataset | 20 |" in printed and "| fake | 20 |" in printed
    assert f"Wrote {out}/metrics.json, table.md, memorization.png\n" in printed
    assert sorted(p.name for p in out.iterdir()) == ["memorization.png", "metrics.json",
                                                     "table.md"]
    # --labels is for a conditional generator; refused before any work.
    assert main(["evaluate", "--generated", str(tmp_path / "fake"), "--reference",
                 str(tmp_path / "real"), "--labels", "folders", "--out",
                 str(tmp_path / "eval2")]) == 2
    assert "is not a conditional generator: --labels applies" in capsys.readouterr().err
    assert not (tmp_path / "eval2").exists()
