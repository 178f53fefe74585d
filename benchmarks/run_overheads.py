"""What a run spends outside its training steps: laying out the epochs it plans, and writing
its checkpoint, sample grid and loss curves when its epochs are short.

1. ``epochs``: ``data.pipeline.batch_epochs`` of the demo cohort's 2,048 training slices at
   64 x 64 (batch 32), the seconds to build the dataset and reach its first batch, for runs
   that plan 40, 451 and 2,000 epochs (a time-bounded run plans many: ``benchmarks/peers.py``
   gives 45 minutes 451), and for one resumed at epoch 400 of 451.
2. ``saves``: ``demo-dcgan-budget`` trained on the slices of 2 demo subjects (64 slices: 2
   steps an epoch, as in the scarce regimes of the utility study) for 60 epochs, writing
   after every epoch (``save_minutes=0``) and at most every half minute (0.5): the wall
   time of each run and the time its writes took.

Writes ``OUT/run_overheads.json`` and prints each figure. Run it alone on the machine.

    python benchmarks/run_overheads.py --out overheads/ [--parts epochs saves]
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_mrigan import training  # noqa: E402
from keras_mrigan.callbacks import RunCheckpoint, SampleGrid  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402
from keras_mrigan.data.pipeline import batch_epochs, load_slices  # noqa: E402
from keras_mrigan.utils import random_scope  # noqa: E402

PLANS = ((40, 0), (451, 0), (2000, 0), (451, 400))


def epochs_part(images):
    slices = tf.data.Dataset.from_tensor_slices(images).cache()
    list(slices.batch(512))  # The cache filled, as a run's is before it batches.
    rows = []
    for epochs, initial in PLANS:
        with random_scope(0):
            start = time.perf_counter()
            dataset = batch_epochs(slices, 32, epochs=epochs, initial_epoch=initial)
            built = time.perf_counter() - start
            next(iter(dataset))
            first = time.perf_counter() - start - built
        rows.append({"epochs": epochs, "initial_epoch": initial, "build_s": built,
                     "first_batch_s": first})
        print(f"  {epochs} epochs from {initial}: built in {built:.2f} s, first batch after "
              f"{first:.2f} s more", flush=True)
    return rows


class WriteTimer:
    """Sums the seconds the run's writers spend in ``write``."""

    def __init__(self):
        self.seconds, self.count = 0.0, 0
        self.originals = {cls: cls.write for cls in (SampleGrid, RunCheckpoint)}

    def __enter__(self):
        for cls, original in self.originals.items():
            def timed(obj, *args, _original=original):
                start = time.perf_counter()
                _original(obj, *args)
                self.seconds += time.perf_counter() - start
                self.count += 1
            cls.write = timed
        return self

    def __exit__(self, *exc):
        for cls, original in self.originals.items():
            cls.write = original


def saves_part(images, subjects):
    keep = np.isin(subjects, np.unique(subjects)[:2])
    data = {"images": images[keep][..., None], "subjects": list(subjects[keep])}
    rows = []
    for minutes in (0.0, 0.5):
        config = get_preset("demo-dcgan-budget").replace(epochs=60, save_minutes=minutes)
        with tempfile.TemporaryDirectory() as folder, WriteTimer() as timer:
            start = time.perf_counter()
            training.train(config, Path(folder) / "run", verbose=0, data=data)
            wall = time.perf_counter() - start
        rows.append({"save_minutes": minutes, "slices": int(keep.sum()), "epochs": 60,
                     "wall_s": wall, "writes": timer.count, "write_s": timer.seconds})
        print(f"  save_minutes={minutes}: {wall:.1f} s, {timer.count} writes took "
              f"{timer.seconds:.1f} s", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--parts", nargs="+", choices=["epochs", "saves"],
                        default=["epochs", "saves"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores", flush=True)
    images, subjects = load_slices("demo", 64, return_subjects=True)
    images, subjects = images[..., 0], np.asarray(subjects)
    record = {"machine": platform.machine(), "cores": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d")}
    if "epochs" in args.parts:
        print("batch_epochs:", flush=True)
        record["epochs"] = epochs_part(images[..., None])
    if "saves" in args.parts:
        print("writes:", flush=True)
        record["saves"] = saves_part(images, subjects)
    (out / "run_overheads.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
