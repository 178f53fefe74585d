"""How fast this machine trains a run's GAN, measured in a few steps, and what the demo makes
of it.

A GAN given few images learns more from more, smaller steps: on the demo cohort, with the
images a slow CPU trains in the demo's 10 minutes (18,432), ``demo-dcgan-k3`` at batch 16 came
out at 4.6x the real-vs-real SWD floor on three seeds where its own batch of 32 gave 6.3x, and
with the images a fast CPU trains (about 80,000) batch 32 was the better one (2.05x against
3.31x; ``benchmarks/RESULTS.md``, "the demo on slower CPUs"). So the demo measures the speed
first and chooses its batch size by the images its budget allows.
"""

import logging
import time

import numpy as np

from keras_mrigan.builders import build_gan, compile_gan

logger = logging.getLogger(__name__)

# Below this many images in its budget, the demo trains at SMALL_BUDGET_BATCH_SIZE.
SMALL_BUDGET_IMAGES = 40_000
SMALL_BUDGET_BATCH_SIZE = 16


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


def demo_batch_size(images, batch_size):
    """The demo's batch size for a budget of about ``images`` images at its preset's
    ``batch_size``: ``SMALL_BUDGET_BATCH_SIZE`` below ``SMALL_BUDGET_IMAGES`` images (never
    more than the preset's), else the preset's own."""
    if images < SMALL_BUDGET_IMAGES:
        return min(batch_size, SMALL_BUDGET_BATCH_SIZE)
    return batch_size


def choose_demo_batch_size(config, minutes, clock=time.perf_counter):
    """``config`` with the batch size ``demo_batch_size`` gives for the images this machine
    trains at its speed (``images_per_second``) in ``minutes``, which it logs."""
    rate = images_per_second(config, clock=clock)
    images = rate * minutes * 60
    batch_size = demo_batch_size(images, config.data.batch_size)
    if batch_size != config.data.batch_size:
        logger.info("This CPU trains about %.0f images a second at batch %d: about %s images in "
                    "the demo's %.1f minutes, fewer than %s, so the demo trains at batch %d "
                    "(more, smaller steps learn more from few images).", rate,
                    config.data.batch_size, f"{images:,.0f}", minutes,
                    f"{SMALL_BUDGET_IMAGES:,}", batch_size)
    else:
        logger.info("This CPU trains about %.0f images a second at batch %d: about %s images in "
                    "the demo's %.1f minutes.", rate, batch_size, f"{images:,.0f}", minutes)
    return config.replace(batch_size=batch_size)
