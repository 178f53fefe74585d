"""The paper's measures at the paper's size: our implementation against the released script.

The reference is a virtual cohort of 354 subjects x 32 axial slices (11,328 slices at 256 x 256,
the size of the paper's OASIS set) built like the demo cohort; the "generated" sets are slices
of a second cohort with another seed. For N = 1,000 and 2,000 the released script's direct
computation (``numpy.cov`` of the N x N image covariance, then ``numpy.linalg.eig``) runs in
the same process on the same data, and its sigma and delta are compared with ours.

The exact route of ``diversity`` (a float64 Gram matrix, taken for small sets, for nearly
mode-collapsed ones, and when the iteration stalls) is timed at the same sizes against the
iterative route, on the real slices and on a collapsed set (one slice plus 4e-4 noise).

    python benchmarks/metrics.py [--sizes 1000 2000 11328] [--direct 1000 2000]
        [--exact 1000 2000 11328]
    python benchmarks/metrics.py --exact-only [--exact 1000 2000]   # demo slices at 256 x 256
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_mrigan.data.demo import DemoSettings, demo_cohort  # noqa: E402
from keras_mrigan.data.pipeline import load_slices  # noqa: E402
from keras_mrigan.evaluation import evaluate  # noqa: E402
from keras_mrigan.metrics import ReferenceStats  # noqa: E402
from keras_mrigan.metrics.paper import PaperReference, diversity  # noqa: E402

PAPER_SUBJECTS = 354  # 354 x 32 = 11,328 slices.


def cohort(seed):
    folder = demo_cohort(DemoSettings(n_subjects=PAPER_SUBJECTS, seed=seed))
    return load_slices(folder, 256)[..., 0]


def released_script(images):
    """sigma and delta as the released script computes them (sorted eigenvalues)."""
    x = images.reshape(len(images), -1).astype(np.float64)
    y = x - x.mean(axis=0)
    cov = np.cov(y)
    sigma = np.trace(cov)
    values = np.sort(np.linalg.eigvals(cov).real)[::-1]
    return sigma, int(np.sum(values > 0.01 * sigma)), values


def realism_float64(images, fitted):
    """rho with every step in float64, to check the float32 products of ``realism``."""
    d = images.reshape(len(images), -1).astype(np.float64) - fitted.mean
    projection = np.linalg.norm(d @ fitted.components.T, axis=1)
    return float(np.mean(projection / np.linalg.norm(d, axis=1)))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def time_routes(images, sizes):
    """Times both routes of ``diversity`` on the first N images, and the automatic (exact)
    route on a collapsed set: one image plus noise of standard deviation 4e-4."""
    if not sizes:
        return
    print("N | iterative route (s) | exact route (s) | collapsed set, automatic = exact "
          "route (s) | same sigma, delta")
    rng = np.random.default_rng(0)
    for n in sizes:
        subset = images[:n]
        iterative, iterative_time = timed(diversity, subset, exact=False)
        exact, exact_time = timed(diversity, subset, exact=True)
        collapsed = subset[:1] + 4e-4 * rng.standard_normal(subset.shape, np.float32)
        _, collapsed_time = timed(diversity, collapsed)
        same = (abs(exact.sigma / iterative.sigma - 1) <= 1e-6
                and exact.delta == iterative.delta)
        print(f"{n} | {iterative_time:.2f} | {exact_time:.1f} | {collapsed_time:.1f} | "
              f"{'yes' if same else 'NO'}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 11328])
    parser.add_argument("--direct", type=int, nargs="*", default=[1000, 2000])
    parser.add_argument("--exact", type=int, nargs="*", default=[1000, 2000, 11328],
                        help="sizes at which to time the exact route of diversity()")
    parser.add_argument("--exact-only", action="store_true",
                        help="only time the two routes of diversity(), on the demo cohort's "
                        "2,048 slices at 256 x 256")
    args = parser.parse_args()
    if args.exact_only:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
        time_routes(load_slices("demo", 256)[..., 0], args.exact)
        return

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    (reference, generated), build = timed(lambda: (cohort(0), cohort(1)))
    print(f"data: reference {reference.shape}, generated pool {generated.shape} "
          f"({build:.0f} s to build/read)")
    fitted, fit_time = timed(PaperReference.fit, reference)
    print(f"fit mean + 16 principal directions of {len(reference)} images: {fit_time:.1f} s "
          f"(explained variance {fitted.explained_variance:.1%})")
    print("N | rho | sigma | sigma/N | delta | ours: rho + sigma + delta (s) | released script "
          "(s) | speed-up | same rho, sigma, delta")
    for n in args.sizes:
        images = generated[:n]
        start = time.perf_counter()
        rho = fitted.realism(images)
        found = diversity(images)
        ours = time.perf_counter() - start
        direct_text = "-"
        if n in args.direct:
            (sigma, delta, values), direct = timed(released_script, images)
            rho_error = abs(rho / realism_float64(images, fitted) - 1)
            same = (abs(sigma - found.sigma) <= 1e-6 * sigma and delta == found.delta
                    and rho_error <= 1e-6)
            error = np.max(np.abs(found.eigenvalues[:delta] / values[:delta] - 1))
            direct_text = (f"{direct:.1f} | {direct / ours:.1f}x | {'yes' if same else 'NO'} "
                           f"(rho to {rho_error:.0e}, eigenvalues to {error:.0e})")
        else:
            direct_text = "- | - | -"
        print(f"{n} | {rho:.3f} | {found.sigma:.1f} | {found.sigma_per_image:.4f} | "
              f"{found.delta} | {ours:.2f} | {direct_text}", flush=True)
    time_routes(generated, args.exact)
    stats, stats_time = timed(ReferenceStats.fit, reference, n=len(generated))
    print(f"all reference statistics (PCA, SWD descriptors of 1,024 images, thumbnails, the "
          f"reference's own row): {stats_time:.0f} s")
    _, full = timed(evaluate, generated, stats)
    print(f"full evaluation of {len(generated)} images (rho, sigma, delta, SWD, MS-SSIM, "
          f"memorization): {full:.0f} s")


if __name__ == "__main__":
    main()
