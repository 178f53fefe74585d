"""Generator averages side by side: one training run of a preset per seed, with moving averages
of its generator of several half-lives kept on the same trajectory, each scored as the demo is.

Comparing two half-lives in two runs mixes the average with everything else that differs
between the runs (on a time budget, the images the host allowed). Here one run per seed
carries every average: after each generator update, ``SideAverages`` moves each of its
averages towards the generator's weights with the run's own arithmetic (``ema.ema_beta``:
``0.5 ** (batch / half_life)``, the half-life capped at ``rampup`` times the images seen).
At the end each average replaces the run's ``ema_generator`` in a copy of its ``.keras``
file, and ``keras-mrigan evaluate --reference demo --n N`` scores it, beside the trained
weights (``--raw-generator``) and the run's own average. The run's own average and the side
average of the same half-life agree to the digit.

Writes ``OUT/averages.json`` and ``OUT/averages.md`` (SWD / floor per average and seed).

    python benchmarks/averages.py --out averages/ [--preset demo-dcgan-thin] [--seeds 0 1 2]
        [--minutes 9 | --epochs 39] [--half-lives 500:0 1000:0.05 2000:0.05 4000:0.05] [--n 1000]
        [--set upsample=bilinear ...]

``--epochs N`` bounds every run by its epochs instead of a time budget, so that runs on hosts
of different speed (or one host whose speed changes) train the same images.

Like the ``keras-mrigan`` command, it turns TensorFlow's oneDNN kernels on unless the
environment chose. One run at a time: run it alone on the machine.
"""

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from common import evaluate_demo, parse_setting, swd_ratio  # noqa: E402

from keras_mrigan import training  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402
from keras_mrigan.models import ema  # noqa: E402
from keras_mrigan.utils import atomic_path  # noqa: E402


class SideAverages(keras.callbacks.Callback):
    """Moving averages of the GAN's generator weights (numpy copies), one per
    ``name: (half_life_images, rampup)``, updated after every batch of ``batch`` images (one
    generator update a batch, as the demo presets train)."""

    def __init__(self, half_lives, batch):
        super().__init__()
        self.half_lives = dict(half_lives)
        self.batch = batch
        self.seen = 0
        self.averages = None

    def on_train_batch_end(self, batch, logs=None):
        weights = [w.numpy() for w in self.model.generator.trainable_weights]
        self.seen += self.batch
        if self.averages is None:  # The run's average starts from the weights too.
            self.averages = {name: [w.copy() for w in weights] for name in self.half_lives}
            return
        for name, (half_life, rampup) in self.half_lives.items():
            beta = float(ema.ema_beta(self.batch, half_life, rampup, float(self.seen)))
            for average, weight in zip(self.averages[name], weights, strict=True):
                average += (1 - beta) * (weight - average)


def save_with_average(gan, average, path):
    """Saves ``gan`` with ``average`` (the generator's trainable weights, in order) as its
    moving average; non-trainable weights are the generator's, as the run's average has."""
    averaged = iter(average)
    for slot, weight in zip(gan.ema_generator.weights, gan.generator.weights, strict=True):
        slot.assign(next(averaged) if weight.trainable else weight)
    gan.save(path)


def score(path, stats, n, out, raw=False):
    """``keras-mrigan evaluate`` of a run folder or ``.keras`` file: its metrics."""
    return evaluate_demo(path, out, n, stats, flags=["--raw-generator"] if raw else [])


def parse_half_life(text):
    half_life, sep, rampup = text.partition(":")
    try:
        return float(half_life), float(rampup) if sep else 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--half-lives takes IMAGES[:RAMPUP], e.g. 2000:0.05. Received: {text!r}") from None


def table(record):
    seeds = record["seeds"]
    bound = (f"{record['minutes']} minutes" if record.get("minutes") is not None
             else f"{record['epochs']} epochs")
    lines = [f"Machine: {record['machine']}; {record['preset']} with {record['settings']}, "
             f"{bound} per seed; SWD / floor.", "",
             "| generator | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "| --- |" + " ---: |" * (len(seeds) + 1),
             "| images | " + " | ".join(f"{record['images'][str(s)]:,}" for s in seeds) + " | |"]
    for name in record["names"]:
        ratios = [record["ratios"][str(s)][name] for s in seeds]
        lines.append(f"| {name} | " + " | ".join(f"{r:.2f}" for r in ratios)
                     + f" | {np.mean(ratios):.2f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--preset", default="demo-dcgan-thin")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--minutes", type=float, default=9.0,
                       help="each run's time budget (the demo trains about 9 of its 10)")
    bound.add_argument("--epochs", type=int, default=None,
                       help="bound each run by this many epochs instead, with no time budget")
    parser.add_argument("--half-lives", type=parse_half_life, nargs="+",
                        default=[(500, 0.0), (1000, 0.05), (2000, 0.05), (4000, 0.05)],
                        metavar="IMAGES[:RAMPUP]")
    parser.add_argument("--n", type=int, default=1000, help="images sampled per evaluation")
    parser.add_argument("--set", type=parse_setting, nargs="+", default=[],
                        metavar="NAME=VALUE", help="settings over the preset's")
    args = parser.parse_args()
    settings = dict(args.set)
    base = get_preset(args.preset).replace(**settings)  # Bad settings fail here, before runs.
    if args.epochs is not None:
        base = base.replace(epochs=args.epochs)
    minutes = None if args.epochs is not None else args.minutes
    half_lives = {f"half-life {h:g}, ramp-up {r:g}": (h, r) for h, r in args.half_lives}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stats = out / "reference_stats.npz"
    record = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "preset": args.preset, "settings": settings, "minutes": minutes,
              "epochs": base.schedule.epochs,
              "seeds": args.seeds, "names": ["trained weights", "the run's average",
                                             *half_lives],
              "images": {}, "ratios": {}, "metrics": {}}
    for seed in args.seeds:
        folder = out / f"seed{seed}"
        averages = SideAverages(half_lives, base.data.batch_size)
        config = base.replace(seed=seed, minutes=minutes)
        gan = training.train(config, folder / "run", overwrite=True, verbose=2,
                             extra_callbacks=[averages])
        metrics = {"trained weights": score(folder / "run", stats, args.n, folder / "eval_raw",
                                            raw=True),
                   "the run's average": score(folder / "run", stats, args.n,
                                              folder / "eval_run")}
        for i, (name, average) in enumerate(averages.averages.items()):
            path = folder / f"average{i}.keras"
            save_with_average(gan, average, path)
            metrics[name] = score(path, stats, args.n, folder / f"eval_average{i}")
        record["images"][str(seed)] = averages.seen
        record["metrics"][str(seed)] = metrics
        record["ratios"][str(seed)] = {name: swd_ratio(m) for name, m in metrics.items()}
        print(f"seed {seed}, {averages.seen:,} images: " + ", ".join(
            f"{name} {r:.2f}" for name, r in record["ratios"][str(seed)].items()), flush=True)
        with atomic_path(out / "averages.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1))
    with atomic_path(out / "averages.md") as tmp:
        tmp.write_text(table(record))
    print(table(record))


if __name__ == "__main__":
    main()
