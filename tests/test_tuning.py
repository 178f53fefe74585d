import csv
import json
import math
import sys

import keras
import keras_tuner
import numpy as np
import pytest
from conftest import free_ports, run_together
from PIL import Image

from keras_mrigan import cli, training, tuning
from keras_mrigan.config import RunConfig
from keras_mrigan.metrics import ReferenceStats, cheap_measures
from keras_mrigan.tuning import GANHyperModel, Range

SMALL_SPACE = {"loss": ["dragan", "wgan-gp"], "g_learning_rate": Range(1e-4, 1e-3, log=True),
               "real_label": [1.0, 0.9]}


class CountingHyperModel(GANHyperModel):
    """Records which trials were trained, and from which epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fits = []

    def fit(self, hp, model, *args, **kwargs):
        self.fits.append(kwargs["trial_id"])
        return super().fit(hp, model, *args, **kwargs)


class InterruptTrial(keras.callbacks.Callback):
    """Simulates a crash (Ctrl-C) at the start of the second epoch of the n-th trial."""

    trials_seen = 0

    def __init__(self, trial):
        super().__init__()
        self.trial = trial

    def on_train_begin(self, logs=None):
        InterruptTrial.trials_seen += 1

    def on_epoch_begin(self, epoch, logs=None):
        if InterruptTrial.trials_seen == self.trial and epoch == 1:
            raise KeyboardInterrupt


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_random_search_scores_trials_with_gan_metrics(tiny_config, tmp_path):
    out = tmp_path / "search"
    tuner = tuning.tune(tiny_config, out, max_trials=2, space=SMALL_SPACE, default_space=False,
                        metrics_n=16, verbose=0)
    rows = tuning.trial_results(tuner)
    assert [r.status for r in rows] == ["COMPLETED", "COMPLETED"]
    stats = ReferenceStats.load(out / tuning.REFERENCE_STATS)
    for row in rows:
        assert math.isfinite(row.score) and row.seconds > 0
        # The score is GANMetrics' SWD of the trial's final model, recomputed here from its
        # saved generator, not a loss.
        gan = keras.models.load_model(row.run_dir / "model.keras")
        images = gan.generate(16, seed=tiny_config.schedule.seed)[..., 0]
        measures = cheap_measures(images, stats, ("swd",), seed=tiny_config.schedule.seed)
        assert row.score == pytest.approx(measures["swd"], rel=1e-5)
        history = _read_csv(row.run_dir / "history.csv")
        assert float(history[-1]["swd"]) == pytest.approx(row.score)
        assert row.score not in {float(history[-1][k]) for k in ("d_loss", "g_loss")}

    # The report.
    table = _read_csv(out / "results.csv")
    assert [r["trial"] for r in table] == ["0", "1"]
    assert {"trial", "status", "swd", "seconds", "loss", "g_learning_rate"} <= set(table[0])
    assert float(table[0]["swd"]) == pytest.approx(rows[0].score)
    markdown = (out / "results.md").read_text()
    assert "Objective: swd (minimize). 2 of 2 trials completed." in markdown
    assert markdown.count("(best)") == 1
    with Image.open(out / "best_trials.png") as picture:
        assert picture.width > 300

    # The best trial's hyperparameters reproduce its model: the same config, and retraining it
    # gives the same weights.
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = min(rows, key=lambda r: r.score)
    config = tuner.hypermodel.config_for(best_hp)
    assert config == RunConfig.load(out / tuning.BEST_RUN / "config.json")
    assert config.loss.loss == best_hp.values["loss"]
    retrained = training.train(config, tmp_path / "again", verbose=0)
    saved = keras.models.load_model(out / tuning.BEST_RUN / "model.keras")
    for a, b in zip(retrained.generator.weights, saved.generator.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    best_model = tuner.get_best_models(1)[0]
    np.testing.assert_allclose(best_model.generate(4, seed=1), saved.generate(4, seed=1))
    assert (best.run_dir / "model.keras").read_bytes() == \
        (out / tuning.BEST_RUN / "model.keras").read_bytes()


@pytest.mark.slow
def test_resumed_search_does_not_redo_finished_trials(tiny_config, tmp_path):
    out = tmp_path / "search"
    config = tiny_config.replace(epochs=2)

    def tuner(overwrite):
        hypermodel = CountingHyperModel(config, space=SMALL_SPACE, default_space=False,
                                        metrics_n=16, stats_path=out / tuning.REFERENCE_STATS)
        return tuning.make_tuner(hypermodel, "random", max_trials=3, directory=out,
                                 overwrite=overwrite)

    first = tuner(overwrite=True)
    InterruptTrial.trials_seen = 0
    with pytest.raises(KeyboardInterrupt):
        first.search(verbose=0, callbacks=[InterruptTrial(trial=2)])
    assert first.hypermodel.fits == ["0", "1"]
    finished = (first.trial_run_dir("0") / "model.keras").stat().st_mtime_ns
    state = json.loads((first.trial_run_dir("1") / "state.json").read_text())
    assert state == {"epoch": 1, "images": 24}

    second = tuner(overwrite=False)
    second.search(verbose=0)
    # Trial 0 is kept, trial 1 is retried (from its finished epoch), trial 2 is new.
    assert second.hypermodel.fits == ["1", "2"]
    assert (second.trial_run_dir("0") / "model.keras").stat().st_mtime_ns == finished
    assert [r["epoch"] for r in _read_csv(second.trial_run_dir("1") / "history.csv")] == \
        ["1", "2"]
    rows = tuning.write_results(second, out)
    assert [r.status for r in rows] == ["COMPLETED"] * 3
    assert all(math.isfinite(r.score) for r in rows)


@pytest.mark.slow
def test_cli_tune_with_hyperband_continues_trials(tiny_config, tmp_path, capsys):
    out = tmp_path / "search"
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"d_learning_rate": {"min": 1e-4, "max": 1e-3, "log": True}}))
    code = cli.main([
        "tune", "--data", tiny_config.data.source, "--resolution", "16", "--batch-size", "8",
        "--latent-dim", "8", "--width", "0.0625", "--loss", "dragan", "--tuner", "hyperband",
        "--epochs", "3", "--max-trials", "4", "--space", str(space), "--no-default-space",
        "--metrics-n", "16", "--out", str(out), "--preset", "demo-dcgan", "--tensorboard",
    ])
    assert code == 0, capsys.readouterr().err
    table = _read_csv(out / "results.csv")
    assert len(table) == 4 and all(r["status"] == "COMPLETED" for r in table)
    assert {r["loss"] for r in table} == {"dragan"}  # A flag fixes its setting.
    assert all(1e-4 <= float(r["d_learning_rate"]) <= 1e-3 for r in table)
    # Hyperband trained three trials for 1 epoch and continued the best to epoch 3.
    epochs = sorted(len(_read_csv(out / "search" / f"trial_{r['trial']}" / "run" /
                                  "history.csv")) for r in table)
    assert epochs == [1, 1, 1, 2]
    for row in table:  # Each trial logs into its own run folder.
        assert list((out / "search" / f"trial_{row['trial']}" / "run" / "tensorboard" /
                     "train").glob("events.out.tfevents.*"))
    assert (out / tuning.BEST_RUN / "model.keras").exists()
    assert "best run is" in capsys.readouterr().out


@pytest.mark.slow
def test_distributed_search_shares_trials_between_two_workers(tiny_config, tmp_path):
    out = tmp_path / "search"
    command = [
        sys.executable, "-m", "keras_mrigan", "tune", "--data", tiny_config.data.source,
        "--resolution", "16", "--batch-size", "8", "--latent-dim", "8", "--width", "0.0625",
        "--epochs", "1", "--max-trials", "4", "--metrics-n", "16", "--out", str(out),
        "--preset", "demo-dcgan", "--loss", "dragan",
    ]
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_ports(1)[0])}
    outputs = run_together([(command, {**oracle, "KERASTUNER_TUNER_ID": tuner_id})
                            for tuner_id in ("chief", "tuner0", "tuner1")], timeout=180)
    table = _read_csv(out / "results.csv")
    assert [r["status"] for r in table] == ["COMPLETED"] * 4
    workers = [json.loads((out / "search" / f"trial_{r['trial']}" / "run" /
                           tuning.TRIAL_INFO).read_text())["tuner_id"] for r in table]
    assert set(workers) == {"tuner0", "tuner1"}  # Both workers ran trials; none ran twice.
    assert "best run is" in outputs[0]


def test_invalid_search_spaces_are_rejected_clearly(tmp_path):
    cases = [
        ({"loss": ["dragan", "wgan-pg"]}, "`loss` must be one of ('gan', 'lsgan', 'wgan', "
         "'wgan-gp', 'dragan', 'gan-r1', 'rpgan'). Received: loss='wgan-pg'"),
        ({"loss": []}, "'loss': the choice list is empty"),
        ({"g_learning_rate": Range(1e-3, 1e-5)}, "min > max"),
        ({"g_steps": {"min": 3, "max": 1}}, "'g_steps': min > max"),
        ({"beta_1": Range(0.0, 1.5)}, "`beta_1` must be in [0, 1). Received: beta_1=1.5"),
        ({"g_steps": Range(1.5, 3)}, "`g_steps` must be an integer. Received: g_steps=1.5"),
        ({"width": [0.5, 5]}, "`width` must be in (0, 4]. Received: width=5"),
        ({"augment": ["flip", "zoom"]}, "`augment` must be comma-separated names among"),
        ({"penalty_weight": Range(0.0, 100.0, log=True)}, "log range needs min > 0"),
        ({"latent_size": [8, 16]}, "Cannot tune 'latent_size': tunable settings are"),
        ({"loss": Range(0, 1)}, "a Range needs a numeric setting"),
        ({"width": [0.5, 0.5]}, "repeated values"),
        ({"g_steps": {"low": 1}}, "a range is"),
    ]
    for space, message in cases:
        with pytest.raises(ValueError) as error:
            tuning.check_space(space)
        assert message in str(error.value)
    with pytest.raises(ValueError, match="Unknown objective 'd_loss'.*not objectives"):
        GANHyperModel(RunConfig(), objective="d_loss")
    with pytest.raises(ValueError, match="Unknown tuner 'grid'"):
        tuning.make_tuner(GANHyperModel(RunConfig()), "grid")
    bad = tmp_path / "space.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="space.json: not a readable JSON search space"):
        tuning.load_space(bad)
    bad.write_text(json.dumps({"loss": ["lsgan", "hinge"]}))
    with pytest.raises(ValueError, match="Received: loss='hinge'"):
        tuning.load_space(bad)


def test_hyperparameters_default_to_the_base_config_and_follow_the_loss():
    config = RunConfig().replace(loss="dragan", real_label=0.9, g_learning_rate=2e-4,
                                 penalty_weight=10.0, g_steps=3)
    hypermodel = GANHyperModel(config)
    hp = keras_tuner.HyperParameters()
    assert hypermodel.config_for(hp) == config  # The default trial is the base config.
    assert set(hp.values) == set(tuning.DEFAULT_SPACE)
    # Label smoothing only for objectives with targets; lambda only with a gradient penalty.
    wgan = keras_tuner.HyperParameters()
    hypermodel.config_for(wgan)
    wgan.values["loss"] = "wgan"
    chosen = hypermodel.config_for(wgan)
    assert chosen.loss.loss == "wgan" and chosen.loss.real_label == 1.0
    assert not wgan.is_active("real_label") and not wgan.is_active("penalty_weight")
    # A value fixes a setting; a custom range replaces the default one.
    fixed = GANHyperModel(config, space={"loss": "lsgan", "width": [0.25, 0.5]})
    hp = keras_tuner.HyperParameters()
    chosen = fixed.config_for(hp)
    assert chosen.loss.loss == "lsgan" and chosen.model.width == 0.25
    assert "penalty_weight" not in hp.values  # lsgan has no gradient penalty.
    model = fixed.build(hp)
    assert model.compiled and model.loss_fn.name == "lsgan"


def test_the_tunable_settings_are_declared_by_the_schema():
    from keras_mrigan import config

    assert tuning.TUNABLE == config.tunable_settings()
    assert set(tuning.TUNABLE) == {
        "arch", "loss", "g_learning_rate", "d_learning_rate", "beta_1", "beta_2", "g_steps",
        "d_steps", "real_label", "penalty_weight", "drift", "penalty_interval",
        "latent_distribution", "latent_dim", "minibatch_stddev", "width", "batch_size",
        "ema_half_life_images", "upsample", "augment", "augment_p", "ada_target"}
    for name in ("source", "resolution", "epochs", "minutes", "seed", "precision"):
        assert config.fields()[name].metadata["tunable"] is False, name
    with pytest.raises(ValueError, match="Cannot tune 'epochs': tunable settings are"):
        tuning.check_space({"epochs": [1, 2]})


def test_the_tune_command_takes_its_choices_from_the_tuning_module(capsys):
    parser = cli.build_parser()
    tune = ["tune", "--out", "s", "--data", "d"]
    for tuner in tuning.TUNERS:
        assert parser.parse_args([*tune, "--tuner", tuner]).tuner == tuner
    for objective in tuning.OBJECTIVES:
        assert parser.parse_args([*tune, "--objective", objective]).objective == objective
    with pytest.raises(SystemExit):
        parser.parse_args([*tune, "--tuner", "grid"])
    assert "invalid choice: 'grid'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["tune", "--help"])
    assert ", ".join(tuning.DEFAULT_SPACE) in " ".join(capsys.readouterr().out.split())


def test_a_search_whose_trials_all_fail_says_so(tiny_config, tmp_path):
    config = tiny_config.replace(source=str(tmp_path / "no-such-data"))
    with pytest.raises(ValueError, match="No trial of the search .* completed.*no-such-data"):
        tuning.tune(config, tmp_path / "search", max_trials=1, space={"loss": "dragan"},
                    default_space=False, metrics_n=16, verbose=0)
    assert "0 of 1 trials completed" in (tmp_path / "search" / "results.md").read_text()


def test_the_space_module_needs_no_model_code_and_the_tuners_no_private_hooks(tmp_path):
    import ast
    from pathlib import Path

    tree = ast.parse(Path(tuning.space.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"keras_mrigan", "keras_mrigan.losses", "pathlib"}
    for cls in (tuning.RandomSearch, tuning.BayesianOptimization, tuning.Hyperband):
        assert "_build_hypermodel" not in vars(tuning.tuners._RunFolders)
        assert cls.run_trial is tuning.tuners._RunFolders.run_trial
    tuner = tuning.make_tuner(GANHyperModel(RunConfig().replace(epochs=3)), "hyperband",
                              max_trials=2, directory=tmp_path)
    assert tuner.oracle.trial_limit == 2 and tuner.oracle.max_trials is None
