"""Time to quality: mean SWD against wall-clock minutes on the demo cohort at 64 x 64.

Trains the old ``demo-dcgan`` settings (width 0.25, DRAGAN with label smoothing, transposed
convolutions: "old"), then with each addition switched on alone (generator EMA,
differentiable augmentation with ADA, R1, resize upsampling), then with all of them, and the
``demo-dcgan`` preset as it stands ("preset"), one after the other in one process, alone on
the machine. After every
epoch the sampling generator (the moving average when there is one) makes ``--n`` images from
fixed seeds, whose multi-scale SWD against the demo cohort's statistics is recorded with the
training time so far (the measurement itself is not counted). The real-vs-real floor is the
SWD between two samples of the cohort.

Writes ``OUT/quality.json``, ``OUT/quality.md`` (the ablation table) and ``OUT/quality.png``
(SWD / floor against minutes), plus each variant's run folder.

    python benchmarks/quality.py --out quality/ [--epochs 12] [--seeds 0 1 2]
        [--variants old ema augment r1 resize all] [--n 1000]
        [--variant NAME:setting=value,setting=value ...] [--preset demo-dcgan] [--every 1]

``--variant`` adds a variant of one's own (any ``RunConfig`` settings over the preset), as
when looking for a preset: ``--variant small:width=0.125,batch_size=16``; a list setting
goes on after commas: ``--variant aug:augment=translation,cutout,augment_p=0.3``.
"""

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_mrigan import training  # noqa: E402
from keras_mrigan.config import SECTIONS, get_preset  # noqa: E402
from keras_mrigan.metrics import cheap_measures  # noqa: E402
from keras_mrigan.plotting import new_figure, save_figure  # noqa: E402
from keras_mrigan.runs import load_reference  # noqa: E402
from keras_mrigan.utils import atomic_path  # noqa: E402

AUGMENT = "translation,cutout,brightness,contrast"
ADDITIONS = {
    "ema": dict(ema_half_life_images=2000),
    "augment": dict(augment=AUGMENT, ada_images=20_000),
    "r1": dict(loss="gan-r1", real_label=1.0, penalty_weight=1.0),
    "resize": dict(upsample="resize"),
}
# The demo preset before these additions (``demo-dcgan`` up to this benchmark's first run).
OLD_DEMO = dict(width=0.25, upsample="transpose", loss="dragan", real_label=0.9,
                penalty_weight=10.0, penalty_interval=1, ema_half_life_images=0)
VARIANTS = {
    "old": OLD_DEMO,
    **{name: {**OLD_DEMO, **addition} for name, addition in ADDITIONS.items()},
    "all": {**OLD_DEMO, **{k: v for addition in ADDITIONS.values() for k, v in addition.items()}},
    "preset": {},  # The preset as it stands.
}


FIELD_TYPES = {field.name: field.type for section in SECTIONS.values()
               for field in dataclasses.fields(section)}


def parse_variant(text):
    """``"NAME:key=value,key=value"`` -> ``(NAME, {key: value})``, values typed as the
    ``RunConfig`` field (``true``/``false`` for booleans)."""
    name, _, settings = text.partition(":")
    pairs = []
    for item in filter(None, settings.split(",")):
        key, sep, value = item.partition("=")
        if not sep and pairs:  # "augment=translation,cutout": a list goes on.
            pairs[-1][1] += "," + item
            continue
        if not sep or key not in FIELD_TYPES:
            raise SystemExit(f"--variant {text!r}: {item!r} is not SETTING=VALUE with a "
                             f"RunConfig setting ({sorted(FIELD_TYPES)})")
        pairs.append([key, value])
    overrides = {}
    for key, value in pairs:
        kind = FIELD_TYPES[key]
        if kind in (bool, "bool"):
            overrides[key] = value.lower() in ("1", "true", "yes")
        elif kind in (int, "int"):
            overrides[key] = int(value)
        elif kind in (float, "float"):
            overrides[key] = float(value)
        else:
            overrides[key] = value
    return name, overrides


class QualityClock(keras.callbacks.Callback):
    """Records (training seconds so far, SWD) after every ``every``-th epoch and the last;
    the SWD's own time is not counted."""

    def __init__(self, stats, n, every=1):
        super().__init__()
        self.stats, self.n, self.every, self.rows = stats, n, every, []
        self.training, self.epoch, self.measured = 0.0, 0, 0

    def on_train_begin(self, logs=None):  # Once per fit: a progressive run has several.
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.training += time.perf_counter() - self.started
        self.epoch = epoch + 1
        if self.epoch % self.every == 0:
            self.measure()
        self.started = time.perf_counter()

    def on_train_end(self, logs=None):
        if self.measured != self.epoch:
            self.measure()

    def measure(self):
        images = self.model.generate(self.n, seed=0)[..., 0]
        swd = cheap_measures(images, self.stats, names=("swd",))["swd"]
        self.rows.append({"epoch": self.epoch, "seconds": self.training, "swd": swd})
        self.measured = self.epoch
        print(f"  epoch {self.epoch}: {self.training / 60:.1f} min, SWD {swd:.2f}", flush=True)


def plot(results, floor, path):
    figure = new_figure(figsize=(7, 4.5), layout="tight")
    axis = figure.add_subplot()
    for name, runs in results.items():
        for i, rows in enumerate(runs):
            axis.plot([r["seconds"] / 60 for r in rows], [r["swd"] / floor for r in rows],
                      color=f"C{list(results).index(name)}", alpha=0.9,
                      label=name if i == 0 else None)
    axis.axhline(1.0, color="gray", linestyle=":", label="real vs real")
    axis.set_xlabel("training minutes (2 CPU cores)")
    axis.set_ylabel("mean SWD / real-vs-real floor")
    axis.set_yscale("log")
    axis.legend()
    axis.grid(alpha=0.3)
    save_figure(figure, path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variants", nargs="*", default=None, choices=list(VARIANTS))
    parser.add_argument("--variant", action="append", default=[], type=parse_variant,
                        help="NAME:setting=value,...: a variant of one's own")
    parser.add_argument("--preset", default="demo-dcgan")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--every", type=int, default=1,
                        help="measure the SWD every this many epochs (and after the last)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    base = get_preset(args.preset).replace(epochs=args.epochs)
    variants = {name: VARIANTS[name] for name in
                (args.variants if args.variants is not None else
                 [] if args.variant else VARIANTS)}
    variants.update(args.variant)
    stats = load_reference("demo", base.data.resolution, n=args.n,
                           stats_path=out / "reference_stats.npz")
    floor = stats.row["swd"]["mean"]
    print(f"real-vs-real SWD floor: {floor:.2f}")
    results = {}
    for name, overrides in variants.items():
        for seed in args.seeds:
            print(f"{name}, seed {seed}", flush=True)
            clock = QualityClock(stats, args.n, args.every)
            config = base.replace(seed=seed, **overrides)
            training.train(config, out / f"{name}_seed{seed}", overwrite=True, verbose=0,
                           extra_callbacks=[clock])
            results.setdefault(name, []).append(clock.rows)
            with atomic_path(out / "quality.json") as tmp:
                record = {"floor": floor, "variants": variants, "results": results}
                tmp.write_text(json.dumps(record, indent=1))
    lines = ["| variant | seeds | minutes | final SWD / floor (mean ± std) | best SWD / floor |",
             "| --- | ---: | ---: | --- | ---: |"]
    for name, runs in results.items():
        final = np.array([rows[-1]["swd"] / floor for rows in runs])
        best = min(r["swd"] for rows in runs for r in rows) / floor
        minutes = np.mean([rows[-1]["seconds"] / 60 for rows in runs])
        lines.append(f"| {name} | {len(runs)} | {minutes:.1f} | {final.mean():.2f} ± "
                     f"{final.std():.2f} | {best:.2f} |")
    with atomic_path(out / "quality.md") as tmp:
        tmp.write_text("\n".join(lines) + f"\n\nFloor (real vs real): {floor:.2f}\n")
    plot(results, floor, out / "quality.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
