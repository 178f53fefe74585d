"""Runs bounded by time: a budget stops a run at a step boundary with a complete checkpoint,
and the resumed run ends where an uninterrupted one does, bit for bit."""

import json

import pytest
from conftest import StepClock, assert_same_weights

from keras_mrigan import training
from keras_mrigan.callbacks import SampleGrid, SaveSchedule, TimeBudget


def test_time_budget_rejects_a_non_positive_budget():
    with pytest.raises(ValueError, match=r"`minutes` must be > 0. Received: minutes=0"):
        TimeBudget(0)


def test_minutes_is_a_checked_run_setting(tiny_config):
    assert tiny_config.replace(minutes=2.5).schedule.minutes == 2.5
    with pytest.raises(ValueError, match=r"`minutes` must be > 0. Received: minutes=-1"):
        tiny_config.replace(minutes=-1)


@pytest.mark.slow
def test_a_budget_stops_at_a_step_and_the_resumed_run_equals_an_uninterrupted_one(
        tiny_config, tmp_path):
    config = tiny_config.replace(epochs=3, ema_half_life_images=100)  # 3 batches an epoch.
    whole = training.train(config, tmp_path / "whole")

    run = tmp_path / "cut"
    training.train(config.replace(minutes=3.5 / 60), run, clock=StepClock())
    # 4 batches: epoch 1 whole, 1 batch of epoch 2; checkpointed, and its model written.
    assert json.loads((run / "state.json").read_text()) == {"epoch": 1, "step": 1, "images": 32}
    assert (run / "checkpoint.keras").exists() and (run / "model.keras").exists()
    assert (run / "samples" / "epoch_002.png").exists()
    assert len((run / "history.csv").read_text().splitlines()) == 2  # Header + epoch 1.

    # A second budget of 3 batches: to epoch 2, step 1 (1 + 3 + 3 = 7 of 9 batches seen).
    training.resume(run, minutes=2.5 / 60, clock=StepClock())
    assert json.loads((run / "state.json").read_text()) == {"epoch": 2, "step": 1, "images": 56}
    resumed = training.resume(run, minutes=60)
    assert json.loads((run / "state.json").read_text()) == {"epoch": 3, "images": 72}
    assert (run / "model.keras").exists()
    assert int(resumed.g_optimizer.iterations) == int(whole.g_optimizer.iterations) == 9
    assert_same_weights(whole, resumed)
    history = (run / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3"]


@pytest.mark.slow
def test_the_demo_keeps_to_its_whole_budget_and_records_its_preset(tiny_config, tmp_path):
    tiny = {name: getattr(getattr(tiny_config, section), name)
            for section, name in (("data", "source"), ("data", "resolution"),
                                  ("data", "batch_size"), ("model", "latent_dim"),
                                  ("model", "width"), ("schedule", "jit_compile"))}
    # The clock is read at the start, for the start-up spent (1 s), when the budget starts and
    # after each batch: 4 batches fit in what is left after the reserve.
    minutes = training.DEMO_RESERVE_MINUTES + 1 / 60 + 3.5 / 60
    # demo-dcgan: its clock is read only by the budget (the default preset's learning-rate
    # decay reads it too, which would change the count of reads above).
    result = training.demo(tmp_path / "demo", minutes=minutes, preset="demo-dcgan",
                           clock=StepClock(), **tiny)
    assert result.images == 4 * 8 and result.stopped_by_budget
    assert (tmp_path / "demo" / "model.keras").exists()
    saved = json.loads((tmp_path / "demo" / "config.json").read_text())
    assert saved["schedule"]["preset"] == "demo-dcgan"
    assert saved["schedule"]["minutes"] == pytest.approx(3.5 / 60)
    assert "32 images" in result.text() and "its time budget ended it" in result.text()
    with pytest.raises(ValueError, match="leaves no time to train"):
        training.demo(tmp_path / "none", minutes=0.5, **tiny)


def test_a_save_schedule_writes_after_its_minutes_and_at_the_end_of_each_fit():
    now = [0.0]
    schedule = SaveSchedule(1.0, clock=lambda: now[0])
    written = []

    class Recorder(SampleGrid):
        def write(self, epoch):
            written.append(epoch)

    recorder = Recorder("unused", schedule=schedule)
    recorder.on_train_begin()
    for epoch, seconds in enumerate([30, 61, 100, 121.5, 150]):
        now[0] = seconds
        schedule.on_epoch_end(epoch)
        recorder.on_epoch_end(epoch)
    assert written == [1, 3]  # 61 s after the start, then 60.5 s after that.
    recorder.on_train_end()  # The fit's end writes the last epoch, once.
    recorder.on_train_end()
    assert written == [1, 3, 4]
    every = SaveSchedule(0, clock=lambda: pytest.fail("read the clock"))
    every.on_epoch_end(0)
    assert every.writes
    with pytest.raises(ValueError, match=r"`minutes` must be >= 0. Received: minutes=-1"):
        SaveSchedule(-1)


def test_save_minutes_keeps_a_run_complete_and_resumable(tiny_config, tmp_path):
    config = tiny_config.replace(epochs=3, save_minutes=60)
    run = tmp_path / "run"
    training.train(config, run, verbose=0)
    # Only the fit's end wrote: one grid, and a checkpoint with every epoch's history.
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_003.png",
                                                                   "latest.png"]
    assert json.loads((run / "state.json").read_text())["epoch"] == 3
    history = (run / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3"]
    resumed = training.resume(run, epochs=4, verbose=0)
    assert int(resumed.g_optimizer.iterations) == 12  # 3 batches an epoch.
    assert json.loads((run / "state.json").read_text())["epoch"] == 4
    assert (run / "samples" / "epoch_004.png").exists()
    assert not (run / "samples" / "epoch_001.png").exists()
