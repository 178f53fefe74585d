import json
import shutil
import sys

import numpy as np
import pytest
from conftest import head_volume, run_concurrently, save_nifti
from PIL import Image

from keras_mrigan import cli, runs, tuning
from keras_mrigan.cli import main
from keras_mrigan.config import PRESETS, RunConfig, fields
from keras_mrigan.evaluation import evaluate_path


def test_help_lists_subcommands():
    top, data = run_concurrently([[sys.executable, "-m", "keras_mrigan", "--help"],
                                  [sys.executable, "-m", "keras_mrigan", "data", "--help"]])
    assert top.returncode == data.returncode == 0, top.stderr + data.stderr
    assert "data" in top.stdout
    assert "preview" in data.stdout


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
    assert "only --epochs and --minutes may change" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "in"), "--out", str(run), *TINY]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_train_presets_and_bad_values(tmp_path, capsys):
    assert main(["train", "--preset", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "Unknown preset 'nope'" in capsys.readouterr().err
    assert main(["train", "--data", "demo", "--loss", "hinge", "--out", str(tmp_path / "r"),
                 "--resolution", "16"]) == 2
    assert "`loss` must be one of ('gan'," in capsys.readouterr().err


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
    assert state == {"epoch": 5, "images": 140, "resolution": 16, "alpha": 1.0}
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
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    unset = {"TF_CPP_MIN_LOG_LEVEL": None, "TF_ENABLE_ONEDNN_OPTS": None}
    # The keras-mrigan command's entry point (``python -m keras_mrigan`` imports the package,
    # and so TensorFlow, before any of the command's code can run).
    command = [sys.executable, "-m", "keras_mrigan_cli", "train", "--data", str(tmp_path / "in"),
               *TINY]
    quiet, verbose = run_concurrently([([*command, "--out", str(tmp_path / "a")], unset),
                                       ([*command, "--out", str(tmp_path / "b"), "--verbose"],
                                        unset)])
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "InitializeLog" not in quiet.stderr and "I0000" not in quiet.stderr
    assert "Finished run" in quiet.stdout
    assert "InitializeLog" in verbose.stderr
    # oneDNN on, whatever TensorFlow's default for this CPU.
    assert "oneDNN custom operations are on" in verbose.stderr


def test_the_command_turns_onednn_on_unless_the_environment_chose():
    import keras_mrigan_cli

    unset, chosen = {}, {"TF_ENABLE_ONEDNN_OPTS": "0"}
    keras_mrigan_cli.enable_onednn(unset)
    keras_mrigan_cli.enable_onednn(chosen)
    assert unset == {"TF_ENABLE_ONEDNN_OPTS": "1"} and chosen == {"TF_ENABLE_ONEDNN_OPTS": "0"}


def test_evaluate_a_run_and_an_image_folder(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run[0], run)  # A copy: its model is deleted below.
    data = tiny_run[0].parent / "data"
    out = tmp_path / "eval"
    args = ["evaluate", "--generated", str(run), "--reference", str(data),
            "--n", "20", "--out", str(out), "--reference-stats", str(tmp_path / "ref.npz")]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "| Training dataset | 20 |" in printed and "| run | 20 |" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 20 and 0 <= metrics["rho"] <= 1
    assert (out / "interpolation.png").exists() and (tmp_path / "ref.npz").exists()
    assert metrics["memorization"]["against"] == {"source": "reference", "slices": 28,
                                                  "subjects": 2}
    # Near copies searched among the slices the run trained on (2 heads, 14 slices each),
    # where the reference holds a third head too.
    others = tmp_path / "others"
    shutil.copytree(data, others)
    save_nifti(others / "s2.nii.gz", head_volume(seed=2))
    assert main(["evaluate", "--generated", str(run), "--reference", str(others), "--n", "20",
                 "--memorization", "training", "--out", str(tmp_path / "eval_t")]) == 0
    printed = capsys.readouterr().out
    assert "closer to one of the 28 training slices (2 subjects)" in printed
    found = json.loads((tmp_path / "eval_t" / "metrics.json").read_text())["memorization"]
    assert found["against"] == {"source": "training", "slices": 28, "subjects": 2}
    assert json.loads((tmp_path / "eval_t" / "metrics.json").read_text())["reference"][
        "n"] == 20
    # Refused before any work where there are no training slices to read.
    in_memory = tmp_path / "in_memory"
    shutil.copytree(run, in_memory)
    runs.write_split(in_memory, ["s0", "s1"], in_memory=True)
    for generated, message in ((in_memory, "given in memory"),
                               (data, "is not the run folder of an unconditional generator")):
        assert main(["evaluate", "--generated", str(generated), "--reference", str(data),
                     "--memorization", "training", "--out", str(tmp_path / "refused")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "refused").exists()
    with pytest.raises(ValueError, match=r"`memorization` must be one of \('reference', "
                       r"'training'\). Received: memorization='train'"):
        evaluate_path(tmp_path / "nope", str(data), memorization="train")
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
    # The demo preset at its resolution with thinner networks: the command, not the model.
    code = main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "1", "--width",
                 "0.0625"])
    assert code == 0
    saved = json.loads((tmp_path / "demo" / "config.json").read_text())
    # The preset chosen for the machine, either way with the budget's learning-rate decay, the
    # wider critic, 3 x 3 kernels and the machine's precision; --epochs bounds it here and
    # --width thins the generator.
    assert saved["schedule"]["preset"] in ("demo-dcgan-k3", "demo-dcgan-thin")
    assert saved["optimizer"]["lr_decay"] == "cosine" and saved["schedule"]["epochs"] == 1
    assert saved["model"]["width"] == 0.0625 and saved["model"]["d_width"] == 0.25
    assert saved["model"]["kernel_size"] == 3
    assert saved["schedule"]["precision"] == "auto"
    grid = np.asarray(Image.open(tmp_path / "demo" / "samples" / "latest.png"))
    assert grid.shape == (6 * 66 + 2, 6 * 66 + 2)
    assert grid.std() > 10  # Not a blank image.


def test_every_setting_has_a_flag_and_survives_config_flags_config():
    parser = cli.build_parser()
    # Only the preset a run started from has no flag of its own: --preset sets it.
    assert [name for name, f in fields().items() if f.metadata["no_flag"]] == ["preset"]
    assert "--preset" in fields()["preset"].metadata["no_flag"]
    for command in ("train", "tune", "demo", "utility"):
        options = {a.dest for a in parser._subparsers._group_actions[0].choices[command]._actions}
        assert set(fields()) - {"preset"} <= options, command
    custom = RunConfig().replace(
        cache="/tmp/slices", jit_compile=False, clip_percentiles=(1.5, 99), square="crop",
        include_masks=True, minibatch_stddev=False, augment="flip,cutout", epochs=5,
        labels="folders", label_map="0=a,1=b", nan_lr_factor=0.25, precision="mixed_bfloat16")
    configs = [preset for _, preset in PRESETS.values()] + [custom]
    for config in configs:
        argv = cli.config_flags(config)
        # One flag per setting that has a value (None is every setting's "not given").
        assert len([a for a in argv if a.startswith("--")]) == \
            sum(v is not None for v in config.settings().values())
        args = parser.parse_args(["train", "--out", "run", *argv])
        assert RunConfig().replace(**cli.given_settings(args)) == config
    args = parser.parse_args(["train", "--jit-compile", "--cache", "false", "--no-tensorboard"])
    assert cli.given_settings(args) == {"jit_compile": True, "cache": False,
                                        "tensorboard": False}


def test_a_bad_value_fails_with_the_same_message_everywhere(tmp_path, capsys):
    message = "`width` must be in (0, 4]. Received: width=4.5"
    with pytest.raises(ValueError) as from_config:
        RunConfig().replace(width=4.5)
    with pytest.raises(ValueError) as from_space:
        tuning.check_space({"width": [0.5, 4.5]})
    assert str(from_config.value) == str(from_space.value) == message
    assert main(["train", "--out", str(tmp_path / "r"), "--width", "4.5"]) == 2
    assert capsys.readouterr().err == f"keras-mrigan: error: {message}\n"
    assert main(["tune", "--data", "demo", "--out", str(tmp_path / "t"), "--width", "4.5"]) == 2
    assert capsys.readouterr().err == f"keras-mrigan: error: {message}\n"
    assert not (tmp_path / "r").exists() and not (tmp_path / "t").exists()
    # With --verbose the error comes whole, with its traceback.
    with pytest.raises(ValueError, match=r"`width` must be in \(0, 4\]"):
        main(["train", "--out", str(tmp_path / "r"), "--width", "4.5", "--verbose"])


def test_errors_from_inside_keras_are_not_turned_into_usage_messages():
    import keras

    try:
        keras.layers.Dense(-3)  # Keras raises a ValueError from its own code.
    except ValueError as error:
        from_keras = error
    try:
        RunConfig().replace(width=9)
    except ValueError as error:
        from_package = error
    assert "units" in str(from_keras) and "`width`" in str(from_package)
    assert not cli._raised_by_package(from_keras)  # main() re-raises it, with its traceback.
    assert cli._raised_by_package(from_package)  # main() prints it in one line.


def test_slice_settings_match_slice_options_and_the_logger_is_restored():
    import dataclasses
    import logging

    from keras_mrigan.data.pipeline import SliceOptions

    assert set(cli.SLICE_SETTINGS) == {f.name for f in dataclasses.fields(SliceOptions)}
    assert set(cli.SLICE_SETTINGS) <= set(cli.RUN_SETTINGS)
    assert cli.RUN_SETTINGS == tuple(fields())
    with pytest.warns(DeprecationWarning, match="RUN_FLAGS` is deprecated; use `RUN_SETTINGS"):
        assert cli.RUN_FLAGS == cli.RUN_SETTINGS
    logger = logging.getLogger("keras_mrigan")
    handlers, level = list(logger.handlers), logger.level
    assert main(["train", "--out", "x", "--width", "9"]) == 2
    assert logger.handlers == handlers and logger.level == level


def test_utility_and_evaluate_take_the_segmentation_flags(tmp_path, capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["utility", "--task", "segmentation", "--data", "demo",
                              "--masks", "demo", "--out", str(tmp_path / "u")])
    assert (args.task, args.subjects, args.segmenter_steps, args.fractions) == (
        "segmentation", "2,4,8,all", 600, None)
    args = parser.parse_args(["evaluate", "--generated", "g", "--reference", "r", "--masks",
                              "demo", "--segmenter-steps", "50"])
    assert (args.masks, args.segmenter_steps) == ("demo", 50)
    assert main(["utility", "--task", "segmentation", "--data", "demo", "--masks", "demo",
                 "--subjects", "2,many", "--out", str(tmp_path / "u")]) == 2
    assert "--subjects takes comma-separated integers or 'all', e.g. 2,4,8,all. Received: " \
           "'many'" in capsys.readouterr().err
    assert not (tmp_path / "u").exists()
