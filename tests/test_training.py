import csv
import json

import keras
import numpy as np
import pytest
from conftest import head_volume, save_nifti

from keras_mrigan import training
from keras_mrigan.config import RunConfig
from keras_mrigan.models.gan import GAN


@pytest.fixture
def tiny_config(tmp_path):
    for i in range(2):
        save_nifti(tmp_path / "data" / f"s{i}.nii.gz", head_volume(seed=i))  # 28 slices.
    return RunConfig().replace(
        source=str(tmp_path / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
        loss="dragan", epochs=2, sample_count=4, jit_compile=False,
    )


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
                     "loss_curves.png", "samples", "model.keras"}
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_001.png", "epoch_002.png", "latest.png"]
    assert _history_epochs(run) == [1, 2]
    assert json.loads((run / "state.json").read_text()) == {"epoch": 2}
    # 28 slices, batch 8: 3 batches per epoch.
    assert int(gan.d_optimizer.iterations) == 6
    loaded = keras.models.load_model(run / "model.keras")
    assert isinstance(loaded, GAN)
    np.testing.assert_allclose(loaded.generate(3, seed=0), gan.generate(3, seed=0), atol=1e-6)
    with pytest.raises(ValueError, match="is not empty. Resume it with"):
        training.train(tiny_config, run)


def test_resume_after_interruption_continues_the_epoch_count(tiny_config, tmp_path):
    run = tmp_path / "run"
    config = tiny_config.replace(epochs=3)
    with pytest.raises(KeyboardInterrupt):
        training.train(config, run, verbose=0, extra_callbacks=[StopAt(2)])
    assert json.loads((run / "state.json").read_text()) == {"epoch": 2}
    assert not (run / "model.keras").exists()
    gan = training.resume(run, verbose=0)
    assert _history_epochs(run) == [1, 2, 3]
    assert json.loads((run / "state.json").read_text()) == {"epoch": 3}
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
        training.build_gan(tiny_config.replace(batch_size=6))
