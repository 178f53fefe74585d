import csv
import io
import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_mrigan import builders, runs, training
from keras_mrigan.config import RunConfig
from keras_mrigan.models.gan import GAN
from tests.conftest import StepClock, assert_same_weights, head_volume, save_nifti


class StopAt(keras.callbacks.Callback):
    """Simulates a crash at the start of an epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _history_epochs(run):
    with (run / "history.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_train_writes_a_complete_run_folder(tiny_config, tmp_path):
    run = tmp_path / "run"
    gan = training.train(tiny_config, run, verbose=0)
    names = {p.name for p in run.iterdir()}
    assert names == {"config.json", "checkpoint.keras", "state.json", "history.csv",
                     "loss_curves.png", "samples", "model.keras", "split.json"}
    assert runs.read_split(run) == [str(tmp_path / "data" / f"s{i}.nii.gz") for i in (0, 1)]
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_001.png", "epoch_002.png", "latest.png"]
    assert _history_epochs(run) == [1, 2]
    assert json.loads((run / "state.json").read_text()) == {"epoch": 2, "images": 48}
    # 28 slices, batch 8: 3 batches per epoch.
    assert int(gan.d_optimizer.iterations) == 6
    loaded = keras.models.load_model(run / "model.keras")
    assert isinstance(loaded, GAN)
    np.testing.assert_allclose(loaded.generate(3, seed=0), gan.generate(3, seed=0), atol=1e-6)
    # The latent random state comes back too (4 draws per DRAGAN step, 6 steps).
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), [0, 24])
    with pytest.raises(ValueError, match="is not empty. Resume it with"):
        training.train(tiny_config, run)


def test_resume_after_interruption_continues_the_epoch_count(tiny_config, tmp_path):
    run = tmp_path / "run"
    config = tiny_config.replace(epochs=3)
    with pytest.raises(KeyboardInterrupt):
        training.train(config, run, verbose=0, extra_callbacks=[StopAt(2)])
    assert json.loads((run / "state.json").read_text()) == {"epoch": 2, "images": 48}
    assert not (run / "model.keras").exists()
    gan = training.resume(run, verbose=0)
    assert _history_epochs(run) == [1, 2, 3]
    assert json.loads((run / "state.json").read_text()) == {"epoch": 3, "images": 72}
    assert int(gan.d_optimizer.iterations) == 9  # The optimizer state came back too.
    assert (run / "samples" / "epoch_003.png").exists()
    # A finished run can be extended.
    training.resume(run, epochs=4, verbose=0)
    assert _history_epochs(run) == [1, 2, 3, 4]


def test_resume_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a run folder"):
        training.resume(tmp_path)


def test_group_size_must_divide_batch(tiny_config):
    with pytest.raises(ValueError, match=r"`batch_size` \(6\) must be a multiple of"):
        builders.build_gan(tiny_config.replace(batch_size=6))


class AlphaLog(keras.callbacks.Callback):
    """Records (epoch, batch, resolution, alpha) before every batch."""

    def __init__(self):
        super().__init__()
        self.rows = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        fades = self.model.fade_layers
        alpha = float(fades[0].alpha.numpy()) if fades else None
        self.rows.append((self.epoch, batch, self.model.resolution, alpha))


PROGRESSIVE = dict(arch="progan", latent_dim=8, width=1 / 32, batch_size=4, loss="wgan-gp",
                   drift=1e-3, latent_distribution="normal", phase_epochs=2, epochs=10)


@pytest.fixture
def progressive_config(tiny_config):
    # 28 slices, batch 4: 7 steps per epoch. Stages 4: [0, 2), 8: [2, 4) fade, [4, 6),
    # 16: [6, 8) fade, [8, 10).
    return tiny_config.replace(**PROGRESSIVE)


@pytest.fixture(scope="module")
def module_config(tmp_path_factory):
    """``tiny_config``'s settings and data, shared by the runs of this module's fixtures."""
    root = tmp_path_factory.mktemp("training")
    for i in range(2):
        save_nifti(root / "data" / f"s{i}.nii.gz", head_volume(seed=i))
    return RunConfig().replace(
        source=str(root / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
        loss="dragan", epochs=2, sample_count=4, jit_compile=False), root


@pytest.fixture(scope="module")
def grown(module_config):
    """A progressive run through every phase (``progressive_config``), its folder, its GAN
    and its ``AlphaLog`` rows; several tests inspect it, none writes into it."""
    config, root = module_config
    config = config.replace(**PROGRESSIVE)
    log = AlphaLog()
    gan = training.train(config, root / "grown", verbose=0, extra_callbacks=[log])
    return config, root / "grown", gan, log.rows


def test_progressive_run_grows_through_every_phase(grown):
    _, run, gan, rows = grown
    by_epoch = {}
    for epoch, _, resolution, alpha in rows:
        by_epoch.setdefault(epoch, (resolution, []))[1].append(alpha)
    assert [by_epoch[e][0] for e in range(10)] == [4, 4, 8, 8, 8, 8, 16, 16, 16, 16]
    assert by_epoch[0][1] == [None] * 7  # No fade at 4 x 4.
    fade = by_epoch[6][1] + by_epoch[7][1]  # Linear from 0 towards 1 over the fade-in.
    np.testing.assert_allclose(fade, np.arange(14) / 14, atol=1e-7)
    assert by_epoch[8][1] == [1.0] * 7 and by_epoch[9][1] == [1.0] * 7
    assert gan.resolution == 16 and gan.generate(2, seed=0).shape == (2, 16, 16, 1)
    assert json.loads((run / "state.json").read_text()) == {
        "epoch": 10, "images": 280, "resolution": 16, "alpha": 1.0}
    assert _history_epochs(run) == list(range(1, 11))
    final = keras.models.load_model(run / "model.keras")
    assert float(final.generator.get_layer("fade_in").alpha.numpy()) == 1.0
    np.testing.assert_allclose(final.generate(3, seed=1), gan.generate(3, seed=1), atol=1e-6)


def test_progressive_run_resumes_at_the_same_resolution_phase_and_alpha(grown, tmp_path):
    config, _, _, reference = grown  # The same run, never interrupted.
    run = tmp_path / "run"
    first = AlphaLog()
    with pytest.raises(KeyboardInterrupt):  # Killed after the first of two fade-in epochs.
        training.train(config, run, verbose=0, extra_callbacks=[first, StopAt(3)])
    state = json.loads((run / "state.json").read_text())
    assert state == {"epoch": 3, "images": 84, "resolution": 8,
                     "alpha": pytest.approx(6 / 14)}
    second = AlphaLog()
    gan = training.resume(run, verbose=0, extra_callbacks=[second])
    assert second.rows[0][:3] == (3, 0, 8)  # Same resolution, same phase, next epoch.
    assert first.rows + second.rows == reference
    assert gan.resolution == 16
    assert _history_epochs(run) == list(range(1, 11))


def test_a_progressive_run_stopped_by_its_budget_during_a_fade_in_resumes_exactly(
        grown, tmp_path):
    config, _, whole, reference = grown  # The same run, never interrupted.
    run = tmp_path / "run"
    first = AlphaLog()
    # 6 epochs of 7 batches, then 3 batches into the first of the two fade-in epochs of
    # 16 x 16 (its alpha rises by 1/14 a batch; the last batch done trained at 2/14).
    training.train(config.replace(minutes=44.5 / 60), run, verbose=0, clock=StepClock(),
                   extra_callbacks=[first])
    state = json.loads((run / "state.json").read_text())
    assert state == {"epoch": 6, "step": 3, "images": 180, "resolution": 16,
                     "alpha": pytest.approx(2 / 14)}
    second = AlphaLog()
    resumed = training.resume(run, minutes=60, verbose=0, extra_callbacks=[second])
    # The rest of the 7th epoch first (its batches counted from 0 again), at the alpha the
    # uninterrupted run had there; then every batch as in that run.
    assert second.rows[0] == (6, 0, 16, pytest.approx(3 / 14))
    assert [(e, r, a) for e, _, r, a in first.rows + second.rows] == \
        [(e, r, a) for e, _, r, a in reference]
    assert_same_weights(whole, resumed)
    assert _history_epochs(run) == list(range(1, 11))


def test_progressive_run_needs_enough_epochs(progressive_config, tmp_path):
    with pytest.raises(ValueError, match="needs at least 10 epochs"):
        training.train(progressive_config.replace(epochs=8), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_srresnet_trains_through_the_same_run(tiny_config, tmp_path):
    config = tiny_config.replace(arch="srresnet", width=1 / 64, latent_distribution="normal",
                                 g_steps=2, epochs=1)
    gan = training.train(config, tmp_path / "run", verbose=0)
    assert gan.generator.name == "srresnet_generator"
    assert int(gan.g_optimizer.iterations) == 2 * int(gan.d_optimizer.iterations) == 6
    assert np.isfinite(gan.generate(2, seed=0)).all()


def test_metrics_every_adds_measures_to_the_history(tiny_config, tmp_path):
    config = tiny_config.replace(epochs=3, metrics_every=2, metrics_n=16)
    training.train(config, tmp_path / "run", verbose=0)
    with (tmp_path / "run" / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["rho"] == "nan" for row in rows] == [True, False, False]  # Epochs 2 and 3.
    assert 0 < float(rows[1]["rho"]) <= 1 and float(rows[2]["swd"]) > 0
    assert (tmp_path / "run" / "reference_stats.npz").exists()


def read_tensorboard(folder):
    """``{tag: {step: value}}`` of the event files in ``folder`` (scalars as floats, images
    as the encoded PNG bytes)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    found = {}
    for tag in events.Tags()["tensors"]:
        for event in events.Tensors(tag):
            value = tf.make_ndarray(event.tensor_proto)
            found.setdefault(tag, {})[event.step] = (
                float(value) if value.ndim == 0 else value[2])
    return found


def test_tensorboard_scalars_and_sample_grids(tiny_config, tmp_path):
    config = tiny_config.replace(epochs=2, metrics_every=1, metrics_n=16, tensorboard=True)
    gan = training.train(config, tmp_path / "run", verbose=0)
    logged = read_tensorboard(tmp_path / "run" / "tensorboard" / "train")
    history = list(csv.DictReader(open(tmp_path / "run" / "history.csv")))
    for name in ("d_loss", "g_loss", "swd", "rho", "delta"):
        assert logged[f"epoch_{name}"] == {
            e: pytest.approx(float(history[e][name]), rel=1e-5) for e in (0, 1)}, name
    assert logged["epoch_g_learning_rate"] == {0: pytest.approx(2e-4), 1: pytest.approx(2e-4)}
    assert set(logged["epoch_d_learning_rate"]) == {0, 1}
    for epoch in (0, 1):
        grid = np.asarray(Image.open(io.BytesIO(logged["samples"][epoch])))
        written = np.asarray(Image.open(tmp_path / "run" / "samples" / f"epoch_00{epoch + 1}.png"))
        np.testing.assert_array_equal(grid[..., 0] if grid.ndim == 3 else grid, written)
    assert gan.resolution == 16


@pytest.fixture(scope="module")
def grown_in_one_epoch_phases(module_config):
    """A progressive run of five one-epoch phases with a moving average of the generator and
    TensorBoard logs: its config and GAN (one run for the tests of both)."""
    config, root = module_config
    config = config.replace(**PROGRESSIVE).replace(phase_epochs=1, epochs=5,
                                                   ema_half_life_images=20, tensorboard=True)
    return config, training.train(config, root / "phases", verbose=0), root / "phases"


def test_tensorboard_follows_progressive_stages(grown_in_one_epoch_phases):
    run = grown_in_one_epoch_phases[2]
    logged = read_tensorboard(run / "tensorboard" / "train")
    assert sorted(logged["epoch_d_loss"]) == sorted(logged["samples"]) == [0, 1, 2, 3, 4]


def test_resize_upsampling_trains_and_round_trips(tiny_config, tmp_path):
    config = tiny_config.replace(upsample="resize", epochs=1)
    gan = training.train(config, tmp_path / "run", verbose=0)
    assert gan.generator.get_layer("up1_1_up").interpolation == "nearest"
    loaded = keras.models.load_model(tmp_path / "run" / "model.keras")
    np.testing.assert_allclose(loaded.generate(4, seed=2), gan.generate(4, seed=2), atol=1e-6)
    with pytest.raises(ValueError, match="srresnet has its own"):
        builders.build_gan(tiny_config.replace(arch="srresnet", upsample="resize"))


def _ema_weights(path):
    gan = keras.models.load_model(path)
    return [w.numpy() for w in gan.ema_generator.weights] + [gan.images_seen.numpy()]


def test_ema_survives_resume_exactly(tiny_config, tmp_path):
    config = tiny_config.replace(ema_half_life_images=40, epochs=3)
    training.train(config, tmp_path / "whole", verbose=0)
    training.train(config.replace(epochs=1), tmp_path / "resumed", verbose=0)
    training.resume(tmp_path / "resumed", epochs=3, verbose=0)
    for a, b in zip(_ema_weights(tmp_path / "whole" / "model.keras"),
                    _ema_weights(tmp_path / "resumed" / "model.keras"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ema_grows_with_a_progressive_generator(grown_in_one_epoch_phases):
    config, gan, _ = grown_in_one_epoch_phases
    assert gan.ema_generator.output.shape[1:] == (16, 16, 1)
    assert float(gan.images_seen.numpy()) == 5 * 7 * 4  # 5 epochs of 7 batches of 4.
    # Carried over from the 8 x 8 stage, a layer's average differs from the fresh weights
    # the 16 x 16 stage's networks were built with, as the generator's own weights do.
    grown = builders.build_gan(config, 16)
    kept = gan.ema_generator.get_layer("g8_conv1").get_weights()[0]
    assert np.abs(kept - grown.ema_generator.get_layer("g8_conv1").get_weights()[0]).max() > 1e-3


def test_export_serves_the_moving_average(tiny_config, tmp_path):
    import tensorflow as tf

    from keras_mrigan import export

    config = tiny_config.replace(ema_half_life_images=40, ema_rampup=0, epochs=1)
    gan = training.train(config, tmp_path / "run", verbose=0)
    latents = np.random.default_rng(0).uniform(-1, 1, (3, 8)).astype(np.float32)
    for raw in (False, True):
        path = export.export_generator(tmp_path / "run", "m", base=tmp_path / "models",
                                       raw=raw)
        served = tf.saved_model.load(str(path)).signatures["serving_default"](
            latent=tf.constant(latents))["images"].numpy()
        expected = gan.sampling_generator(raw)(latents, training=False).numpy()
        np.testing.assert_allclose(served, np.clip(expected, -1, 1), atol=1e-6)
    assert np.abs(gan.ema_generator(latents).numpy() - gan.generator(latents).numpy()).max() > 1e-5


def test_bad_ema_settings_fail_before_training(tiny_config, tmp_path, capsys):
    from keras_mrigan.cli import main

    code = main(["train", "--data", tiny_config.data.source, "--out", str(tmp_path / "r"),
                 "--resolution", "16", "--ema-half-life", "-5"])
    assert code == 2 and "ema_half_life_images=-5" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_train_leaves_the_callers_randomness_and_determinism_as_they_were(tiny_config,
                                                                           tmp_path):
    import random

    # TensorFlow has no public getter of the setting.
    from tensorflow.python.framework import config as tf_config

    random.seed(123)
    np.random.seed(123)
    expected_python, expected_numpy = random.random(), np.random.random_sample()
    random.seed(123)
    np.random.seed(123)
    determinism = tf_config.is_op_determinism_enabled()
    config = tiny_config.replace(epochs=1, deterministic=True, seed=5)
    first = training.train(config, tmp_path / "a", verbose=0)
    assert random.random() == expected_python
    assert np.random.random_sample() == expected_numpy
    assert tf_config.is_op_determinism_enabled() == determinism
    # Still the same weights for the same seed.
    second = training.train(config, tmp_path / "b", verbose=0)
    for a, b in zip(first.generator.get_weights(), second.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_builders_take_the_gan_settings_from_the_config_by_name(tiny_config):
    config = tiny_config.replace(d_steps=2, ada_target=0.7, augment="flip", penalty_interval=3,
                                 real_label=0.9, drift=0.01)
    gan = builders.compile_gan(builders.build_gan(config), config)
    assert gan.d_steps == 2 and gan.ada_target == 0.7 and gan.augment_policy == ("flip",)
    assert gan.real_label == 0.9 and gan.drift == 0.01
    assert gan.loss_fn.penalty_interval == 3 and gan.loss_fn.name == "dragan"
    assert builders.settings_for(GAN.compile, config) == {
        "loss": "dragan", "real_label": 0.9, "drift": 0.01, "penalty_weight": 10.0,
        "clip_value": 0.01, "penalty_interval": 3}
    with pytest.warns(DeprecationWarning, match="`keras_mrigan.training.build_gan` moved to "
                                                "`keras_mrigan.builders.build_gan`"):
        assert training.build_gan is builders.build_gan  # The former location still works.
