import json
import logging

import pytest

from keras_mrigan import speed, training
from keras_mrigan.config import get_preset


@pytest.mark.parametrize("images, preset", [
    (18_432, "demo-dcgan-thin"),  # An AVX2 CPU's 10 minutes without oneDNN.
    (44_992, "demo-dcgan-thin"),  # An AVX2 CPU's estimate with oneDNN.
    (63_999, "demo-dcgan-thin"),
    (64_000, "demo-dcgan-k3"),
    (120_000, "demo-dcgan-k3"),  # A CPU with AVX-512 BF16: 81,920 images in 8 minutes.
])
def test_the_demo_preset_follows_the_images_of_its_budget(images, preset):
    assert speed.demo_preset_for(images) == preset


def test_the_thin_preset_is_the_demo_preset_with_half_the_generator():
    wide, thin = get_preset("demo-dcgan-k3"), get_preset("demo-dcgan-thin")
    assert thin.model.width == wide.model.width / 2 and thin.schedule.epochs == 80
    assert thin.replace(width=wide.model.width, epochs=wide.schedule.epochs,
                        preset="demo-dcgan-k3") == wide


def test_images_per_second_times_the_steps_after_the_first(tiny_config):
    reads = iter([10.0, 12.0])  # Read before and after the timed steps: 2 s for 4 steps.
    rate = speed.images_per_second(tiny_config, steps=4, clock=lambda: next(reads))
    assert rate == pytest.approx(4 * 8 / 2.0)  # Batch 8.
    assert speed.images_per_second(tiny_config, steps=1) > 0  # On the real clock.


TINY = dict(resolution=16, batch_size=8, latent_dim=8, width=1 / 16, d_width=1 / 16,
            jit_compile=False)


@pytest.mark.parametrize("seconds, preset", [(400.0, "demo-dcgan-thin"),
                                             (0.001, "demo-dcgan-k3")])
def test_the_demo_preset_is_chosen_from_the_measured_speed(caplog, seconds, preset):
    reads = iter([0.0, seconds])  # 4 steps of 8 images: 0.08 or 32,000 images a second.
    with caplog.at_level(logging.INFO, logger="keras_mrigan.speed"):
        assert speed.choose_demo_preset(10, TINY, clock=lambda: next(reads)) == preset
    message = caplog.records[-1].getMessage()
    assert "images a second of demo-dcgan-k3" in message
    assert ("so the demo trains demo-dcgan-thin" in message) is (preset == "demo-dcgan-thin")


@pytest.mark.slow
def test_a_demo_on_a_slow_machine_trains_the_thin_preset(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "images_per_second", lambda config, **kw: 10.0)
    settings = dict(TINY, source=tiny_config.data.source, epochs=1)
    result = training.demo(tmp_path / "demo", minutes=5, **settings)
    saved = json.loads((tmp_path / "demo" / "config.json").read_text())
    assert saved["schedule"]["preset"] == "demo-dcgan-thin"
    assert saved["model"]["width"] == 1 / 16  # The given settings over the chosen preset.
    assert result.images > 0 and not result.stopped_by_budget
