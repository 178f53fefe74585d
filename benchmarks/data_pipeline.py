"""Data pipeline throughput: slices per second, first (decoding) pass against cached passes.

Writes 20 synthetic NIfTI volumes of 176 x 208 x 176 (the OASIS-1 T88 grid, int16, gzipped)
and times full passes of ``build_dataset`` at 256 x 256, batch 64. Both kinds of pass run in
the same process, so their ratio is what to read.

    python benchmarks/data_pipeline.py [--volumes 20] [--cached-passes 3]
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from keras_mrigan.data.pipeline import build_dataset  # noqa: E402

SHAPE = (176, 208, 176)


def synthetic_head(rng):
    """An ellipsoidal 'brain' with smooth texture and empty slices above and below."""
    axes = [np.linspace(-1, 1, n, dtype=np.float32) for n in SHAPE]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    radii = rng.uniform(0.7, 0.85, size=3)
    r2 = (x / radii[0]) ** 2 + (y / radii[1]) ** 2 + (z / radii[2]) ** 2
    texture = np.sin(9 * x + rng.uniform(0, 6)) * np.cos(7 * y) * np.sin(5 * z)
    volume = np.where(r2 < 1, 600 + 250 * texture + rng.normal(0, 20, SHAPE), 0)
    return volume.astype(np.int16)


def time_pass(dataset):
    start = time.perf_counter()
    count = sum(int(batch.shape[0]) for batch in dataset)
    return count, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--cached-passes", type=int, default=3)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(0)
        for i in range(args.volumes):
            nib.save(nib.Nifti1Image(synthetic_head(rng), np.eye(4)), Path(folder, f"{i}.nii.gz"))
        dataset = build_dataset(folder, args.resolution, args.batch_size)
        count, first = time_pass(dataset)
        cached = [time_pass(dataset)[1] for _ in range(args.cached_passes)]

    best = min(cached)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"{args.volumes} volumes {SHAPE} -> {count} slices at {args.resolution}x{args.resolution}"
          f", batch {args.batch_size}")
    print(f"first pass (decode): {first:7.2f} s  {count / first:9.0f} slices/s")
    print(f"cached pass (best of {len(cached)}): {best:7.2f} s  {count / best:9.0f} slices/s")
    print(f"cached / first speed-up: {first / best:.1f}x")


if __name__ == "__main__":
    main()
