"""The utility study on the demo cohort: does a conditional GAN's synthetic data help a
classifier tell "atrophy" from "control" slices, in a scarce and in the full regime?

Runs ``keras_mrigan.utility.study`` (a conditional generator per regime with the preset, then
the fixed classifier on every mix over the seeds), alone on the machine, and records its wall
time and the machine beside the report.

    python benchmarks/utility.py --out utility/ [--preset demo-dcgan] [--fractions 0.25 1]
        [--seeds 5] [--classifier-epochs 15] [--set setting=value ...]
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_mrigan import utility  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--preset", default="demo-dcgan")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--classifier-epochs", type=int, default=utility.CLASSIFIER_EPOCHS)
    parser.add_argument("--set", nargs="*", default=[], metavar="SETTING=VALUE",
                        help="override preset settings (numbers are parsed)")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    config = get_preset(args.preset).replace(source="demo", labels="demo", **overrides)
    started = time.perf_counter()
    report = utility.study(config, args.out, fractions=args.fractions, seeds=args.seeds,
                           classifier_epochs=args.classifier_epochs)
    minutes = (time.perf_counter() - started) / 60
    report["benchmark"] = {"minutes": minutes, "machine": platform.machine(),
                           "cores": os.cpu_count(), "preset": args.preset,
                           "overrides": overrides}
    utility.write_report(report, args.out)
    print((Path(args.out) / "utility.md").read_text())
    print(f"{minutes:.1f} min on {platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
