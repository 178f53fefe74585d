import logging

import pytest

from keras_mrigan import speed


@pytest.mark.parametrize("images, batch_size, expected", [
    (18_432, 32, 16),  # A slow CPU's 10 minutes.
    (39_999, 32, 16),
    (40_000, 32, 32),
    (81_920, 32, 32),  # A fast CPU's 10 minutes.
    (10_000, 8, 8),  # Never a larger batch than the preset's.
])
def test_the_demo_batch_size_follows_the_images_of_its_budget(images, batch_size, expected):
    assert speed.demo_batch_size(images, batch_size) == expected


def test_images_per_second_times_the_steps_after_the_first(tiny_config):
    reads = iter([10.0, 12.0])  # Read before and after the timed steps: 2 s for 4 steps.
    rate = speed.images_per_second(tiny_config, steps=4, clock=lambda: next(reads))
    assert rate == pytest.approx(4 * 8 / 2.0)  # Batch 8.
    assert speed.images_per_second(tiny_config, steps=1) > 0  # On the real clock.


@pytest.mark.parametrize("seconds, expected", [(400.0, 16), (0.01, 32)])
def test_the_demo_chooses_its_batch_size_from_the_measured_speed(tiny_config, caplog, seconds,
                                                                  expected):
    config = tiny_config.replace(batch_size=32)
    reads = iter([0.0, seconds])  # 4 steps of 32 images: 0.32 or 12,800 images a second.
    with caplog.at_level(logging.INFO, logger="keras_mrigan.speed"):
        chosen = speed.choose_demo_batch_size(config, minutes=10, clock=lambda: next(reads))
    assert chosen.data.batch_size == expected
    assert config.data.batch_size == 32  # The given config is left as it was.
    message = caplog.records[-1].getMessage()
    assert "images a second at batch 32" in message
    assert ("so the demo trains at batch 16" in message) is (expected == 16)
