"""Time per phase of a small progressive run on the demo cohort.

A progressive GAN (equalized learning rate, pixel norm, minibatch stddev, WGAN-GP with drift)
grows from 4 x 4 to the target resolution through ``keras_mrigan.train``: one fade-in and one
stabilization phase per resolution above 4 x 4. The table lists the wall time of every phase
and its images per second; the first epoch of each resolution includes tracing the new
networks' train step.

    python benchmarks/progressive_phases.py [--resolution 64] [--phase-epochs 1] [--width 0.25]
"""

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_mrigan import training  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402
from keras_mrigan.models import progan  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # Runs before the sample-grid and checkpoint callbacks' files are counted: only the
        # training steps are timed.
        self.rows.append((epoch, self.model.resolution, time.perf_counter() - self.start))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--phase-epochs", type=int, default=1)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    config = get_preset("paper-progan").replace(
        source="demo", resolution=args.resolution, width=args.width, latent_dim=128,
        batch_size=args.batch_size, phase_epochs=args.phase_epochs, epochs=None,
        sample_count=16,
    )
    growth = progan.growth_schedule(args.resolution, args.phase_epochs)
    config = config.replace(epochs=growth[-1].stop)
    timer = EpochTimer()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}")
    with tempfile.TemporaryDirectory() as run:
        start = time.perf_counter()
        gan = training.train(config, run, verbose=0, extra_callbacks=[timer])
        total = time.perf_counter() - start
        images_per_epoch = training.steps_per_epoch(training.make_dataset(config),
                                                    args.batch_size) * args.batch_size
    stages = training.schedule_stages(config, images_per_epoch)
    print(f"progressive 4 -> {args.resolution}, width {args.width}, batch {args.batch_size}, "
          f"{images_per_epoch} images per epoch, {args.phase_epochs} epoch(s) per phase; "
          f"G {gan.generator.count_params():,} / D {gan.discriminator.count_params():,} "
          "parameters at the end")
    print("phase | resolution | kind | epochs | seconds | images/s")
    phase = 0
    for stage in stages:
        kinds = [("fade-in", stage.start, stage.fade_stop), ("stabilize", stage.fade_stop,
                                                             stage.stop)]
        for kind, first, stop in kinds:
            if stop == first:
                continue
            phase += 1
            seconds = sum(t for epoch, _, t in timer.rows if first <= epoch < stop)
            print(f"{phase} | {stage.resolution} | {kind} | {stop - first} | {seconds:.1f} | "
                  f"{images_per_epoch * (stop - first) / seconds:.0f}")
    print(f"whole run (data pass, tracing, samples, checkpoints included): {total:.0f} s")


if __name__ == "__main__":
    main()
