"""Learning-rate decay in the second half of a run, bounded by epochs or by a time budget."""

import json
import math

import keras
import numpy as np
import pytest

from keras_mrigan import callbacks, config, training
from tests.conftest import poison_discriminator

G_LR, D_LR = 2e-4, 4e-4


def _f32(x):
    return float(np.float32(x))


def _expected(kind, progress, start, final):
    """Hand-computed factor: 1 until ``start``, then to ``final`` at progress 1."""
    if progress <= start:
        return 1.0
    q = min(1.0, (progress - start) / (1 - start))
    shape = 1 - q if kind == "linear" else (1 + math.cos(math.pi * q)) / 2
    return final + (1 - final) * shape


class ManualClock:
    """Seconds that move only when told."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


class RecordRates(keras.callbacks.Callback):
    """Records both learning rates used by each batch (at its end), then moves ``clock`` on
    by ``tick`` seconds."""

    def __init__(self, clock=None, tick=0.0):
        super().__init__()
        self.clock, self.tick = clock, tick
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(tuple(float(o.learning_rate) for o in (self.model.g_optimizer,
                                                                 self.model.d_optimizer)))
        if self.clock is not None:
            self.clock.now += self.tick


def _check_rates(found, factors):
    expected = [(_f32(_f32(G_LR) * f), _f32(_f32(D_LR) * f)) for f in factors]
    np.testing.assert_allclose(np.array(found), np.array(expected), rtol=1e-6)


def test_decay_factor_against_hand_computed_values():
    # progress 0.6 with start 0.5: q = 0.2.
    cosine = 0.25 + 0.75 * (1 + math.cos(0.2 * math.pi)) / 2
    assert callbacks.decay_factor("cosine", 0.6, 0.5, 0.25) == pytest.approx(cosine)
    assert cosine == pytest.approx(0.9283814)
    assert callbacks.decay_factor("linear", 0.6, 0.5, 0.25) == pytest.approx(0.85)
    assert callbacks.decay_factor("linear", 0.5, 0.5, 0.25) == 1.0
    assert callbacks.decay_factor("cosine", 1.0, 0.5, 0.25) == pytest.approx(0.25)
    assert callbacks.decay_factor("cosine", 1.7, 0.5, 0.25) == pytest.approx(0.25)  # After.
    assert callbacks.decay_factor("linear", 0.75, 0.0, 0.0) == pytest.approx(0.25)
    assert callbacks.decay_factor("none", 0.9) == 1.0
    with pytest.raises(ValueError, match="Received: kind='step'"):
        callbacks.decay_factor("step", 0.5)
    with pytest.raises(ValueError, match="Received: start=1"):
        callbacks.decay_factor("linear", 0.5, start=1)


def test_config_fields():
    fields = config.fields()
    assert fields["lr_decay"].metadata["choices"] == callbacks.LR_DECAYS
    defaults = config.RunConfig().optimizer
    assert (defaults.lr_decay, defaults.lr_decay_start, defaults.lr_decay_final) == (
        "none", 0.5, 0.25)
    with pytest.raises(ValueError, match=r"`lr_decay_start` must be in \[0, 1\)\. "
                       "Received: lr_decay_start=1"):
        config.RunConfig().replace(lr_decay_start=1)
    # The paper's presets and the earlier demo presets train as before; the budget preset
    # decays its rates over the second half of its budget, and so do the ones built on it.
    for name in config.PRESETS:
        decayed = ("demo-dcgan-budget", "demo-dcgan-fast", "demo-dcgan-k3", "demo-dcgan-thin",
                   "demo-dcgan-long")
        expected = "cosine" if name in decayed else "none"
        assert config.get_preset(name).optimizer.lr_decay == expected


@pytest.mark.slow
def test_epoch_bound_run_and_its_resumption(tiny_config, tmp_path):
    run = tmp_path / "run"
    cfg = tiny_config.replace(epochs=2, lr_decay="cosine", lr_decay_start=0.5,
                              lr_decay_final=0.2, g_learning_rate=G_LR, d_learning_rate=D_LR)
    record = RecordRates()
    gan = training.train(cfg, run, verbose=0, extra_callbacks=[record])
    steps = 3  # 28 slices in batches of 8.
    # Progress before global batch k: k / (2 epochs x 3 batches).
    _check_rates(record.rates, [_expected("cosine", k / 6, 0.5, 0.2) for k in range(6)])
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 2 and state["images"] == 2 * steps * 8 and state["seconds"] > 0
    # Checkpoints and the final model hold the undecayed rates.
    assert float(gan.g_optimizer.learning_rate) == _f32(G_LR)
    # Resumed with more epochs: the plan is now 12 batches, and 6 are done.
    record = RecordRates()
    training.resume(run, epochs=4, verbose=0, extra_callbacks=[record])
    _check_rates(record.rates, [_expected("cosine", (6 + k) / 12, 0.5, 0.2) for k in range(6)])


@pytest.mark.slow
def test_minute_bound_run_and_its_resumption(tiny_config, tmp_path):
    run = tmp_path / "run"
    cfg = tiny_config.replace(epochs=100, minutes=1, lr_decay="linear", lr_decay_final=0.0,
                              g_learning_rate=G_LR, d_learning_rate=D_LR)
    clock = ManualClock()
    record = RecordRates(clock, tick=6.0)  # Every batch lasts 6 s: the budget ends at 10.
    training.train(cfg, run, verbose=0, extra_callbacks=[record], clock=clock)
    # Time dominates (k / 300 of the epochs): progress before batch k is 6 k / 60.
    _check_rates(record.rates, [_expected("linear", 6 * k / 60, 0.5, 0.0) for k in range(10)])
    state = json.loads((run / "state.json").read_text())
    assert state == {"epoch": 3, "step": 1, "images": 80, "seconds": 60.0}
    # A new budget of 1 minute: the run may last 60 + 60 s, and 60 are done.
    clock = ManualClock(1000.0)
    record = RecordRates(clock, tick=6.0)
    training.resume(run, minutes=1, verbose=0, extra_callbacks=[record], clock=clock)
    _check_rates(record.rates,
                 [_expected("linear", (60 + 6 * k) / 120, 0.5, 0.0) for k in range(10)])
    assert json.loads((run / "state.json").read_text())["seconds"] == 120.0


@pytest.mark.slow
def test_nan_rollback_lowers_the_rates_the_decay_multiplies(tiny_config, tmp_path):
    cfg = tiny_config.replace(epochs=4, lr_decay="linear", lr_decay_final=0.2,
                              on_nan="rollback", nan_lr_factor=0.5, g_learning_rate=G_LR,
                              d_learning_rate=D_LR)
    record = RecordRates()
    gan = training.train(cfg, tmp_path / "run", verbose=0,
                         extra_callbacks=[poison_discriminator(2, 1), record])
    factors = [_expected("linear", k / 12, 0.5, 0.2) for k in range(12)]
    # Epochs 1-2 and batch 1 of epoch 3 (the poisoned batch 2 raises before it is recorded),
    # then from the epoch-2 checkpoint again with half the rates, decayed as before.
    assert len(record.rates) == 6 + 1 + 6
    _check_rates(record.rates[:7], factors[:7])
    found = np.array(record.rates[7:]) / 0.5
    _check_rates(found, factors[6:])
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.5 * G_LR)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.5 * D_LR)
