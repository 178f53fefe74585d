"""How fast this machine trains a run's GAN, measured in a few steps, and the demo preset
that suits it.

What a small DCGAN learns in a fixed number of CPU minutes depends on how many images those
minutes buy. With the images a slow CPU trains in the demo's 10 minutes, a generator half as
wide, which trains 1.4x (bfloat16) to 2x (float32) the images in the same time, came out far
ahead; with the images a fast CPU trains, the wider generator was the better one
(``benchmarks/RESULTS.md``, "the demo on slower CPUs"). So the demo measures the machine
first and chooses its preset by the images its budget allows.
"""

import logging
import time

import numpy as np

from keras_mrigan.builders import build_gan, compile_gan
from keras_mrigan.config import (
    DEMO_PRESET,
    DEMO_SMALL_BUDGET_IMAGES,
    DEMO_SMALL_BUDGET_PRESET,
    get_preset,
)

logger = logging.getLogger(__name__)


def images_per_second(config, steps=4, clock=time.perf_counter):
    """The images a second at which this machine runs the train step of ``config``'s GAN.

    The GAN is built as the run would build it (architecture, precision, loss), then trained
    on one batch of random images held in memory: a first step traces the step, and the next
    ``steps`` are timed (4 covers a lazy penalty applied every 4th step). The data pipeline,
    sample grids and checkpoints are not counted. The GAN is thrown away afterwards.

    Args:
        config: a ``RunConfig`` of an unconditional GAN of single images.
        steps: the steps timed.
        clock: seconds.

    Returns:
        float.
    """
    gan = compile_gan(build_gan(config), config)
    side, batch = config.data.resolution, config.data.batch_size
    images = np.random.default_rng(0).uniform(-1, 1, (batch, side, side, 1)).astype("float32")
    gan.train_on_batch(images)  # Traces the step.
    start = clock()
    for _ in range(steps):
        gan.train_on_batch(images)
    return steps * batch / max(clock() - start, 1e-9)


def demo_preset_for(images):
    """The demo's preset for a budget of about ``images`` images of ``DEMO_PRESET``:
    ``DEMO_SMALL_BUDGET_PRESET`` below ``DEMO_SMALL_BUDGET_IMAGES``, else ``DEMO_PRESET``."""
    return DEMO_SMALL_BUDGET_PRESET if images < DEMO_SMALL_BUDGET_IMAGES else DEMO_PRESET


def choose_demo_preset(minutes, settings=None, clock=time.perf_counter):
    """The demo preset for this machine: ``demo_preset_for`` the images it trains of
    ``DEMO_PRESET`` (with ``settings`` over it) in ``minutes``, at the speed
    ``images_per_second`` measures. Logs what it measured and chose."""
    config = get_preset(DEMO_PRESET).replace(**(settings or {}))
    rate = images_per_second(config, clock=clock)
    images = rate * minutes * 60
    preset = demo_preset_for(images)
    logger.info("This CPU trains about %.0f images a second of %s: about %s images in the "
                "demo's %.1f minutes%s.", rate, DEMO_PRESET, f"{images:,.0f}", minutes,
                "" if preset == DEMO_PRESET else
                f", fewer than {DEMO_SMALL_BUDGET_IMAGES:,}, so the demo trains {preset} "
                "(a thinner generator: 1.4x to 2x the images in the same minutes)")
    return preset
