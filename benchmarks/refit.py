"""Training a study's model again: what TensorFlow's kernel cache is worth.

The utility studies train one classifier (or U-Net) again and again, from each seed's initial
state (``utility.refit``), inside ``utils.random_scope``. ``tf.random.set_seed`` clears
TensorFlow's kernel cache, and every compiled function then optimizes its graph again on its
next call; ``random_scope`` sets the same global seed and keeps the cache. This script times
each fit both ways in one process, alternating: ``kept`` (the scope as it is) and ``cleared``
(``tf.random.set_seed`` called before the fit, as the scope used to seed).

    python benchmarks/refit.py --out refit/ [--repeats 3] [--size tiny study]

``tiny`` is the tests' size (16 x 16 slices, 2 U-Net steps, 1 classifier epoch on 64
slices); ``study`` the studies' (64 x 64 slices, 600 U-Net steps on 64 slices, 15 classifier
epochs on 384 slices, which it pools to 32 x 32). Writes ``OUT/refit.json`` and prints a
table of the median seconds per fit. Run it alone on the machine.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_mrigan import utility  # noqa: E402
from keras_mrigan.utils import atomic_path  # noqa: E402

# name -> (resolution, classifier slices, classifier epochs, U-Net slices, U-Net steps).
SIZES = {
    "tiny": (16, 64, 1, 16, 2),
    "study": (64, 384, utility.CLASSIFIER_EPOCHS, 64, utility.SEGMENTER_STEPS),
}
MODES = ("kept", "cleared")


def data(resolution, n, seed=0):
    """Slices in ``[-1, 1]`` with a bright disc of random centre, its mask and a class (the
    disc's half of the image): learnable, so the fits do real work."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:resolution, :resolution] / resolution
    centres = rng.uniform(0.25, 0.75, (n, 2))
    masks = ((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 < 0.04)
    images = np.where(masks, 0.8, -0.8) + rng.normal(0, 0.1, masks.shape)
    return (images[..., None].astype(np.float32), masks.astype(np.int32),
            (centres[:, 1] > 0.5).astype(np.int32))


def time_fits(size, repeats):
    """Seconds of each fit, ``{model: {mode: [seconds per repeat]}}``, the modes alternating
    on the same compiled model (a first, untimed fit compiles it)."""
    resolution, n_class, epochs, n_unet, steps = SIZES[size]
    images, _, labels = data(resolution, n_class)  # The classifier pools them to 32 x 32.
    unet_images, masks, _ = data(resolution, n_unet, seed=1)
    fits = {
        "classifier": lambda seed, model: utility.train_classifier(
            images, labels, 2, seed=seed, epochs=epochs, model=model),
        "U-Net": lambda seed, model: utility.train_segmenter(
            unet_images, masks, 2, seed=seed, steps=steps, model=model),
    }
    times = {}
    for name, fit in fits.items():
        model = fit(0, None)
        times[name] = {mode: [] for mode in MODES}
        for repeat in range(repeats):
            for mode in MODES if repeat % 2 == 0 else MODES[::-1]:
                if mode == "cleared":
                    tf.random.set_seed(0)  # Clears the kernel cache.
                start = time.perf_counter()
                fit(repeat + 1, model)
                times[name][mode].append(time.perf_counter() - start)
    return times


def table(record):
    """Markdown: median seconds per fit, each mode, and their ratio."""
    lines = ["| size | model | kernels kept (s) | cache cleared (s) | cleared / kept |",
             "| --- | --- | ---: | ---: | ---: |"]
    for size, models in record["sizes"].items():
        for name, modes in models.items():
            kept, cleared = (statistics.median(modes[m]) for m in MODES)
            lines.append(f"| {size} | {name} | {kept:.2f} | {cleared:.2f} | "
                         f"{cleared / kept:.1f}x |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", nargs="+", choices=sorted(SIZES), default=["tiny", "study"])
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1. Received: {args.repeats}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"machine": platform.machine(), "cores": os.cpu_count(),
              "tensorflow": tf.__version__, "repeats": args.repeats,
              "sizes": {size: time_fits(size, args.repeats) for size in args.size}}
    with atomic_path(out / "refit.json") as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")
    print(f"{record['machine']}, {record['cores']} cores, TensorFlow {record['tensorflow']}; "
          f"median of {args.repeats} fits")
    print(table(record))
    return record


if __name__ == "__main__":
    main()
