"""The README's gallery: real slices beside a run's samples, from its moving average and from
its raw generator (the same number of images, the same seed), as one PNG per run.

    python benchmarks/gallery.py --out docs/ --n 36 NAME=RUN_FOLDER [NAME=RUN_FOLDER ...]

Writes ``OUT/gallery_<NAME>.png``: three panels, "real" (a seeded sample of the run's
training data, as ``keras-mrigan data preview`` draws it), "EMA" and "raw" (``GAN.generate``
with ``seed=0``; a run without a moving average has the raw panel only).
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from keras_mrigan.config import RunConfig  # noqa: E402
from keras_mrigan.data.pipeline import load_slices  # noqa: E402
from keras_mrigan.plotting import image_grid  # noqa: E402
from keras_mrigan.runs import load_run  # noqa: E402
from keras_mrigan.utils import atomic_path  # noqa: E402

TITLE = 14  # Pixels above each panel for its name.


def panels(run, n, seed=0):
    """``[(title, uint8 grid), ...]`` for one run folder."""
    gan, _ = load_run(run)
    config = RunConfig.load(Path(run) / "config.json")
    real = load_slices(config.data.source, gan.resolution)
    pick = np.sort(np.random.default_rng(seed).choice(len(real), n, replace=False))
    found = [("real", image_grid(real[pick]))]
    if gan.ema_generator is not None:
        found.append(("EMA", image_grid(gan.generate(n, seed=seed))))
    found.append(("raw", image_grid(gan.generate(n, seed=seed, raw=True))))
    return found


def side_by_side(found, gap=8):
    height = max(grid.shape[0] for _, grid in found) + TITLE
    width = sum(grid.shape[1] for _, grid in found) + gap * (len(found) - 1)
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for title, grid in found:
        draw.text((x + 2, 1), title, fill=0)
        canvas.paste(Image.fromarray(grid), (x, TITLE))
        x += grid.shape[1] + gap
    return canvas


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs")
    parser.add_argument("--n", type=int, default=36)
    parser.add_argument("runs", nargs="+", metavar="NAME=RUN_FOLDER")
    args = parser.parse_args()
    for item in args.runs:
        name, _, run = item.partition("=")
        path = Path(args.out) / f"gallery_{name}.png"
        with atomic_path(path) as tmp:
            side_by_side(panels(run, args.n)).save(tmp, format="PNG")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
