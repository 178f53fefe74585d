import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import head_volume, save_nifti
from PIL import Image

from keras_mrigan.cli import main


def test_help_lists_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "keras_mrigan", "--help"], capture_output=True, text=True, check=True
    )
    assert "data" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "keras_mrigan", "data", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "preview" in result.stdout


def test_data_preview(tmp_path, capsys):
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    out = tmp_path / "grid.png"
    code = main(["data", "preview", "--data", str(tmp_path / "in"), "--resolution", "32",
                 "--out", str(out), "--n", "4"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "28 slices of shape (32, 32, 1) from 2 file(s)" in printed
    assert "s0.nii.gz" in printed and "14" in printed
    assert np.asarray(Image.open(out)).shape == (2 * 34 + 2, 2 * 34 + 2)


def test_data_preview_errors_name_the_argument(tmp_path, capsys):
    code = main(["data", "preview", "--data", str(tmp_path / "missing"), "--out", "x.png"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    save_nifti(tmp_path / "v.nii.gz", head_volume())
    code = main(["data", "preview", "--data", str(tmp_path), "--resolution", "48",
                 "--out", str(tmp_path / "g.png")])
    assert code == 2
    assert "resolution=48" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


TINY = ["--resolution", "16", "--batch-size", "8", "--latent-dim", "8", "--width", "0.0625",
        "--loss", "wgan-gp", "--epochs", "1"]


def test_train_and_resume(tmp_path, capsys):
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    run = tmp_path / "run"
    code = main(["train", "--data", str(tmp_path / "in"), "--out", str(run), *TINY])
    assert code == 0, capsys.readouterr().err
    config = (run / "config.json").read_text()
    assert '"loss": "wgan-gp"' in config and '"resolution": 16' in config
    assert (run / "samples" / "epoch_001.png").exists() and (run / "model.keras").exists()
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert (run / "samples" / "epoch_002.png").exists()
    assert main(["train", "--resume", str(run), "--loss", "gan"]) == 2
    assert "only --epochs may change" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "in"), "--out", str(run), *TINY]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_train_presets_and_bad_values(tmp_path, capsys):
    assert main(["train", "--preset", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "Unknown preset 'nope'" in capsys.readouterr().err
    assert main(["train", "--data", "demo", "--loss", "hinge", "--out", str(tmp_path / "r"),
                 "--resolution", "16"]) == 2
    assert "Unknown loss 'hinge'" in capsys.readouterr().err


def test_train_progressive_from_the_command_line(tmp_path, capsys):
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    run = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "in"), "--out", str(run), "--arch", "progan",
            "--resolution", "16", "--batch-size", "4", "--latent-dim", "8", "--width", "0.03125",
            "--loss", "wgan-gp", "--phase-epochs", "1"]
    assert main([*args, "--epochs", "4"]) == 2
    assert "needs at least 5 epochs" in capsys.readouterr().err
    # Without --epochs the run lasts exactly its growth schedule: 5 phases of 1 epoch.
    assert main(args) == 0, capsys.readouterr().err
    state = json.loads((run / "state.json").read_text())
    assert state == {"epoch": 5, "resolution": 16, "alpha": 1.0}
    printed = capsys.readouterr().out
    for resolution in (4, 8, 16):
        assert f"stage {resolution}x{resolution}: generator " in printed
    assert "expected duration of this stage: about" in printed


def test_train_prints_parameter_counts_and_the_expected_duration(tmp_path, capsys):
    import keras

    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    run = tmp_path / "run"
    tiny = [a if a != "1" else "3" for a in TINY]  # 3 epochs of 3 batches.
    assert main(["train", "--data", str(tmp_path / "in"), "--out", str(run), *tiny]) == 0
    printed = capsys.readouterr().out
    gan = keras.saving.load_model(run / "model.keras")
    assert (f"generator {gan.generator.count_params():,} parameters, discriminator "
            f"{gan.discriminator.count_params():,}") in printed
    # After the first timed batches, then after the first whole epoch.
    assert printed.count("expected duration of the run: about") == 2
    assert "s per batch)" in printed and "per epoch)" in printed


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_hidden_unless_asked_for(tmp_path):
    import os

    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "keras_mrigan", "train", "--data", str(tmp_path / "in"),
               *TINY]
    quiet = subprocess.run([*command, "--out", str(tmp_path / "a")], env=env,
                           capture_output=True, text=True, check=True)
    assert "InitializeLog" not in quiet.stderr and "I0000" not in quiet.stderr
    assert "Finished run" in quiet.stdout
    verbose = subprocess.run([*command, "--out", str(tmp_path / "b"), "--verbose"], env=env,
                             capture_output=True, text=True, check=True)
    assert "InitializeLog" in verbose.stderr


def test_evaluate_a_run_and_an_image_folder(tmp_path, capsys):
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "in"), "--out", str(run), *TINY]) == 0
    out = tmp_path / "eval"
    args = ["evaluate", "--generated", str(run), "--reference", str(tmp_path / "in"),
            "--n", "20", "--out", str(out), "--reference-stats", str(tmp_path / "ref.npz")]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "| Training dataset | 20 |" in printed and "| run | 20 |" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 20 and 0 <= metrics["rho"] <= 1
    assert (out / "interpolation.png").exists() and (tmp_path / "ref.npz").exists()
    # A folder of PNG images, evaluated against the saved statistics.
    (tmp_path / "pngs").mkdir()
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16), dtype=np.uint8)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "pngs" / f"{i}.png")
    assert main(["evaluate", "--generated", str(tmp_path / "pngs"), "--reference",
                 str(tmp_path / "ref.npz"), "--out", str(tmp_path / "eval2")]) == 0
    assert json.loads((tmp_path / "eval2" / "metrics.json").read_text())["n"] == 5
    assert not (tmp_path / "eval2" / "interpolation.png").exists()
    assert main(["evaluate", "--generated", str(tmp_path / "nope"), "--reference", "demo"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (run / "model.keras").unlink()
    assert main(["evaluate", "--generated", str(run), "--reference", "demo"]) == 2
    assert "without a finished model" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_command(tmp_path):
    code = main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "1"])
    assert code == 0
    grid = np.asarray(Image.open(tmp_path / "demo" / "samples" / "latest.png"))
    assert grid.shape == (6 * 66 + 2, 6 * 66 + 2)
    assert grid.std() > 10  # Not a blank image.
