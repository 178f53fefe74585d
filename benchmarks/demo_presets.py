"""The demo command as a user runs it, per preset and seed, and what its samples are worth.

For every preset and seed, ``keras-mrigan demo --preset P --seed S`` runs as a fresh process
(its whole wall time is recorded, TensorFlow's start-up and the cohort's loading included),
then ``keras-mrigan evaluate --reference demo --n N`` scores the run's samples: multi-scale SWD
against the real-vs-real floor, sigma / n, rho and delta beside the real images' own. One run
at a time: run it alone on the machine.

Writes ``OUT/demo_presets.json``, ``OUT/demo_presets.md`` (one row per run, the mean per
preset) and ``OUT/demo_presets.png`` (each preset's seed-0 samples beside real slices).

    python benchmarks/demo_presets.py --out demo_presets/ [--presets demo-dcgan ...]
        [--seeds 0 1 2] [--n 1000] [--minutes 10]
        [--variants NAME="--flag value ..." ...] [--demo-args "--flag value ..."]

``--presets auto`` runs the demo without ``--preset``: the preset it chooses for the machine.
``--variants`` runs each preset once per named set of the demo's own flags (e.g.
``b16="--batch-size 16"``; an empty set is the preset as it is) and ``--demo-args`` adds flags
to every run: ``--demo-args "--epochs 9 --precision float32"`` gives every run the images a
slower CPU trains in its 10 minutes, to compare settings for such machines on a faster one.
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import time
from pathlib import Path

import numpy as np
from common import CLI, evaluate_demo

from keras_mrigan.utils import atomic_path


def run(argv, log):
    """Runs a command-line call in a fresh process; its wall time in seconds."""
    started = time.perf_counter()
    with open(log, "w") as out:
        subprocess.run(CLI + argv, stdout=out, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return time.perf_counter() - started


def measure(out, preset, seed, n, minutes, variant="", flags=()):
    """One demo run (the preset with the demo's ``flags``) and its evaluation: a row of the
    table, named ``preset`` or ``preset:variant``."""
    name = f"{preset}:{variant}" if variant else preset
    folder = out / f"{name.replace(':', '_')}_seed{seed}"
    chosen = [] if preset == "auto" else ["--preset", preset]  # auto: the demo's own choice.
    wall = run(["demo", *chosen, "--seed", str(seed), "--out", str(folder),
                "--minutes", str(minutes), *flags], folder.with_name(folder.name + ".log"))
    if preset == "auto":
        saved = json.loads((folder / "config.json").read_text())["schedule"]["preset"]
        name = name.replace("auto", f"auto ({saved})", 1)
    report = folder.with_name(folder.name + "_eval")
    metrics = evaluate_demo(folder, report, n, out / "reference_stats.npz",
                            log=report.with_name(report.name + ".log"))
    state = json.loads((folder / "state.json").read_text())
    real = metrics["reference"]
    return {"preset": name, "flags": list(flags), "folder": folder.name, "seed": seed,
            "minutes": wall / 60, "images": state["images"],
            "epoch": state["epoch"], "swd": metrics["swd"]["mean"],
            "floor": real["swd"]["mean"], "swd_levels": metrics["swd"]["levels"],
            "floor_levels": real["swd"]["levels"],
            "sigma_per_image": metrics["sigma_per_image"],
            "real_sigma_per_image": real["sigma_per_image"], "rho": metrics["rho"],
            "real_rho": real["rho"], "delta": metrics["delta"], "real_delta": real["delta"]}


def table(rows):
    lines = ["| preset | seed | wall time (min) | images | SWD / floor | per level (64 / 32 / 16) "
             "| sigma / n (real) | rho (real) | delta (real) |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"]
    for r in rows:
        levels = " / ".join(f"{g / f:.1f}" for g, f in
                            zip(r["swd_levels"], r["floor_levels"], strict=True))
        lines.append(
            f"| {r['preset']} | {r['seed']} | {r['minutes']:.1f} | {r['images']:,} | "
            f"{r['swd'] / r['floor']:.2f} | {levels} | {r['sigma_per_image']:.3f} "
            f"({r['real_sigma_per_image']:.3f}) | {r['rho']:.3f} ({r['real_rho']:.3f}) | "
            f"{r['delta']} ({r['real_delta']}) |")
    lines += ["", "| preset | seeds | mean wall time (min) | SWD / floor (mean ± std) |",
              "| --- | ---: | ---: | --- |"]
    for preset in dict.fromkeys(r["preset"] for r in rows):
        mine = [r for r in rows if r["preset"] == preset]
        ratios = np.array([r["swd"] / r["floor"] for r in mine])
        lines.append(f"| {preset} | {len(mine)} | {np.mean([r['minutes'] for r in mine]):.1f} "
                     f"| {ratios.mean():.2f} ± {ratios.std():.2f} |")
    return "\n".join(lines) + "\n"


def picture(out, rows):
    """Real slices beside each preset's (and variant's) seed-0 samples (the runs' own
    grids)."""
    from PIL import Image

    from keras_mrigan.data.pipeline import load_slices
    from keras_mrigan.plotting import image_grid, save_panels

    real = load_slices("demo", 64)
    picks = np.random.default_rng(0).choice(len(real), 36, replace=False)
    panels = [("real", image_grid(real[picks]))]
    for row in rows:
        path = out / row["folder"] / "samples" / "latest.png"
        if row["seed"] == 0 and path.exists():
            panels.append((row["preset"], np.asarray(Image.open(path).convert("L"))))
    save_panels(panels, out / "demo_presets.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--presets", nargs="+", default=["demo-dcgan-fast", "demo-dcgan-k3"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--variants", nargs="+", default=[""], metavar='NAME="FLAGS"',
                        help="named sets of the demo's flags, each run for every preset")
    parser.add_argument("--demo-args", default="", help="the demo's flags for every run")
    args = parser.parse_args()
    variants = [variant.partition("=")[::2] for variant in args.variants]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'native')}; "
          f"demo flags {args.demo_args!r}", flush=True)
    rows = []
    for seed in args.seeds:  # Seed by seed, so that an early stop still compares presets.
        for preset in args.presets:
            for variant, flags in variants:
                rows.append(measure(out, preset, seed, args.n, args.minutes, variant,
                                    [*shlex.split(flags), *shlex.split(args.demo_args)]))
                print(table(rows[-1:]).splitlines()[2], flush=True)
                with atomic_path(out / "demo_presets.json") as tmp:
                    tmp.write_text(json.dumps(rows, indent=1))
                with atomic_path(out / "demo_presets.md") as tmp:
                    tmp.write_text(table(rows))
    picture(out, rows)
    print(table(rows))


if __name__ == "__main__":
    main()
