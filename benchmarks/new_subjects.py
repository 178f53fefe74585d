"""What real slices score against the demo's reference: slices of its own 64 subjects, of 64
other subjects, and of every other subject of a larger demo cohort, each set sampled and
scored as a generator's samples are (``keras-mrigan evaluate --reference demo --n 1000``).

The SWD floor of a report compares two samples of the reference's own slices. A generator
trained on N subjects makes new people; the real slices of people outside the reference
show what a perfect one would score. The demo's subject ``i`` is the same in every cohort
size (``demo:N``), so subjects 64 and up of ``demo:N`` are people the reference lacks.

Each set is ``--n`` slices drawn at random (seeded by the draw) and written as 16-bit PNG
files, which ``evaluate`` reads as a folder of generated images.

Writes ``OUT/new_subjects.json``, ``OUT/new_subjects.md`` and ``OUT/new_subjects.png``: 36
slices of the reference's subjects beside 36 of other people (and 36 samples of ``--run``,
a run folder, when given).

    python benchmarks/new_subjects.py --out new_subjects/ [--subjects 1024] [--draws 0 1 2]
        [--run RUN_FOLDER]
"""

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import evaluate_demo, swd_ratio  # noqa: E402
from gallery import side_by_side  # noqa: E402
from PIL import Image  # noqa: E402

from keras_mrigan.data.slices import load_slices  # noqa: E402
from keras_mrigan.plotting import image_grid  # noqa: E402
from keras_mrigan.runs import load_run  # noqa: E402
from keras_mrigan.utils import atomic_path  # noqa: E402

DEMO_SUBJECTS = 64


def write_pngs(images, folder):
    """Writes ``(n, H, W)`` images in ``[-1, 1]`` as 16-bit PNG files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        levels = np.round((np.clip(image, -1.0, 1.0) + 1.0) / 2.0 * 65535.0).astype(np.uint16)
        Image.fromarray(levels).save(folder / f"slice_{i:05d}.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--subjects", type=int, default=1024,
                        help="size of the demo cohort the other subjects come from")
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=1000, help="slices per scored set")
    parser.add_argument("--run", default=None, help="a run folder whose samples join the picture")
    parser.add_argument("--scored", action=argparse.BooleanOptionalAction, default=True,
                        help="score the sets (--no-scored: the picture only)")
    args = parser.parse_args()
    if args.subjects < 2 * DEMO_SUBJECTS:
        parser.error(f"--subjects must be at least {2 * DEMO_SUBJECTS}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, subjects = load_slices(f"demo:{args.subjects}", 64, return_subjects=True)
    images = images[..., 0]
    # Subject names are sub-XXX: their number is the subject's index in every cohort size.
    index = np.array([int(Path(str(s)).name.split(".")[0].removeprefix("sub-"))
                      for s in subjects])
    sets = {"the reference's 64 subjects": (0, DEMO_SUBJECTS),
            "64 other subjects": (DEMO_SUBJECTS, 2 * DEMO_SUBJECTS),
            f"{args.subjects - DEMO_SUBJECTS} other subjects": (DEMO_SUBJECTS, args.subjects)}
    own, _, others = sets.items()
    picture(images, index, (own, others), args.run, out / "new_subjects.png")
    if not args.scored:
        return
    stats = out / "reference_stats.npz"
    record = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "subjects": args.subjects, "n": args.n, "draws": args.draws, "sets": {}}
    for name, (low, high) in sets.items():
        pool = np.flatnonzero((index >= low) & (index < high))
        rows = []
        for draw in args.draws:
            rng = np.random.default_rng(1000 + draw)
            folder = out / f"{low}-{high}" / f"draw{draw}"
            write_pngs(images[np.sort(rng.choice(pool, args.n, replace=False))],
                       folder / "images")
            metrics = evaluate_demo(folder / "images", folder / "eval", args.n, stats)
            floor = metrics["reference"]["swd"]["levels"]
            rows.append({"swd_over_floor": swd_ratio(metrics),
                         "levels_over_floor": [a / b for a, b in
                                               zip(metrics["swd"]["levels"], floor,
                                                   strict=True)],
                         "sigma_per_image": metrics["sigma_per_image"], "rho": metrics["rho"],
                         "delta": metrics["delta"],
                         "memorized": metrics["memorization"]["fraction_below"]})
            print(f"{name}, draw {draw}: {rows[-1]['swd_over_floor']:.2f}x the floor",
                  flush=True)
        record["sets"][name] = rows
        with atomic_path(out / "new_subjects.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1))
    with atomic_path(out / "new_subjects.md") as tmp:
        tmp.write_text(table(record))
    print(table(record))


def picture(images, index, sets, run, path, n=36):
    """``n`` slices of each ``(title, (low, high))`` subject range (and a run's samples) side
    by side."""
    rng = np.random.default_rng(0)
    found = []
    for title, (low, high) in sets:
        chosen = np.flatnonzero((index >= low) & (index < high))
        pick = np.sort(rng.choice(chosen, n, replace=False))
        found.append((title, image_grid(images[pick])))
    if run is not None:
        gan, _ = load_run(run)
        found.append((f"{Path(run).name}: samples", image_grid(gan.generate(n, seed=0))))
    with atomic_path(path) as tmp:
        side_by_side(found).save(tmp, format="PNG")


def table(record):
    lines = ["| real slices | SWD / floor (per draw) | mean | per level 64 / 32 / 16 (mean) "
             "| sigma / n | rho | delta | memorized |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name, rows in record["sets"].items():
        ratios = [r["swd_over_floor"] for r in rows]
        levels = np.mean([r["levels_over_floor"] for r in rows], axis=0)
        lines.append(
            f"| {name} | {' / '.join(f'{r:.2f}' for r in ratios)} | {np.mean(ratios):.2f} | "
            + " / ".join(f"{v:.1f}" for v in levels)
            + f" | {np.mean([r['sigma_per_image'] for r in rows]):.3f} "
            f"| {np.mean([r['rho'] for r in rows]):.3f} "
            f"| {np.mean([r['delta'] for r in rows]):.0f} "
            f"| {np.mean([r['memorized'] for r in rows]):.1%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
