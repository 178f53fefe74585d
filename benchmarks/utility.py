"""The utility studies on the demo cohort: does a conditional GAN's synthetic data help a
classifier tell "atrophy" from "control" slices, in a scarce and in the full regime? And
(``--task segmentation``) do a pair GAN's synthetic image + tissue-mask pairs help a U-Net
segment background, CSF, gray and white matter when few subjects are at hand?

Runs ``keras_mrigan.utility.study`` (a generator per regime with the preset, then the fixed
classifier or U-Net on every mix over the seeds), alone on the machine, and records its wall
time and the machine beside the report.

    python benchmarks/utility.py --out utility/ [--preset demo-dcgan] [--fractions 0.25 1]
        [--seeds 5] [--classifier-epochs 15] [--set setting=value ...]
    python benchmarks/utility.py --task segmentation --out utility_seg/
        [--preset demo-dcgan-budget] [--subjects 2 4 8 all] [--seeds 5]
        [--segmenter-steps 600] [--generator-minutes 5] [--set setting=value ...]
"""

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import parse_setting  # noqa: E402

from keras_mrigan import utility  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--task", choices=utility.TASKS, default="classification")
    parser.add_argument("--preset", default=None,
                        help="default: demo-dcgan (classification), demo-dcgan-budget "
                        "(segmentation)")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 1.0],
                        help="classification regimes: fractions of the training subjects")
    parser.add_argument("--subjects", nargs="+", default=list(utility.SEGMENTATION_SUBJECTS),
                        help="segmentation regimes: numbers of training subjects, or all")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--classifier-epochs", type=int, default=utility.CLASSIFIER_EPOCHS)
    parser.add_argument("--segmenter-steps", type=int, default=utility.SEGMENTER_STEPS)
    parser.add_argument("--generator-minutes", type=float, default=None,
                        help="time budget of each regime's generator (default: the preset's)")
    parser.add_argument("--rows", nargs="+", default=None, help="only these rows")
    parser.add_argument("--set", type=parse_setting, nargs="*", default=[],
                        metavar="SETTING=VALUE",
                        help="override preset settings (values read as JSON, else strings)")
    args = parser.parse_args()
    overrides = dict(args.set)
    if args.generator_minutes is not None:
        overrides["minutes"] = args.generator_minutes
    started = time.perf_counter()
    if args.task == "segmentation":
        preset = args.preset or "demo-dcgan-budget"
        config = get_preset(preset).replace(source="demo", masks="demo", **overrides)
        subjects = [s if s == "all" else int(s) for s in args.subjects]
        report = utility.study(config, args.out, task="segmentation", subjects=subjects,
                               seeds=args.seeds, segmenter_steps=args.segmenter_steps,
                               rows=args.rows)
    else:
        preset = args.preset or "demo-dcgan"
        config = get_preset(preset).replace(source="demo", labels="demo", **overrides)
        report = utility.study(config, args.out, fractions=args.fractions, seeds=args.seeds,
                               classifier_epochs=args.classifier_epochs, rows=args.rows)
    minutes = (time.perf_counter() - started) / 60
    report["benchmark"] = {"minutes": minutes, "machine": platform.machine(),
                           "cores": os.cpu_count(), "preset": preset,
                           "overrides": overrides}
    utility.write_report(report, args.out)
    print((Path(args.out) / "utility.md").read_text())
    print(f"{minutes:.1f} min on {platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
