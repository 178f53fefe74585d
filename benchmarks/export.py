"""SavedModel export time and sampling throughput of exported generators on this machine.

The paper's generators (width 1) of each architecture are exported with
``export_generator``; the SavedModel is then loaded with ``tf.saved_model.load`` alone and its
``serving_default`` signature timed at batch 1, 16 and 128 (median of a few calls after a
warm-up), with ``generate_from_seed`` at batch 16 for comparison.

    python benchmarks/export.py [--arch dcgan] [--resolutions 64 256] [--batches 1 16 128]
"""

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_mrigan.config import get_preset  # noqa: E402
from keras_mrigan.export import export_generator  # noqa: E402
from keras_mrigan.models import get_architecture  # noqa: E402
from keras_mrigan.models.gan import GAN  # noqa: E402


def median_time(signature, repeats, **inputs):
    """Median seconds of one call of ``signature`` (and reading its images), after a warm-up."""
    signature(**inputs)["images"].numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        signature(**inputs)["images"].numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["dcgan"])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 128])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}")
    print("arch | res | export (s) | " + " | ".join(f"img/s @ {b}" for b in args.batches)
          + " | seeds img/s @ 16")
    for arch in args.arch:
        config = get_preset(f"paper-{arch}")
        module = get_architecture(arch)
        for resolution in args.resolutions:
            gan = GAN(module.build_generator(resolution, latent_dim=config.model.latent_dim),
                      module.build_discriminator(resolution),
                      latent_distribution=config.model.latent_distribution)
            with tempfile.TemporaryDirectory() as base:
                start = time.perf_counter()
                path = export_generator(gan, "bench", base=base)
                export_time = time.perf_counter() - start
                model = tf.saved_model.load(str(path))
                serve = model.signatures["serving_default"]
                by_seed = model.signatures["generate_from_seed"]
                rates = []
                for batch in args.batches:
                    latents = tf.random.normal((batch, gan.latent_dim))
                    repeats = max(3, min(20, 256 // batch))
                    rates.append(batch / median_time(serve, repeats, latent=latents))
                seed_rate = 16 / median_time(by_seed, 5, seed=tf.range(16, dtype=tf.int64))
            print(f"{arch} | {resolution} | {export_time:.1f} | "
                  + " | ".join(f"{r:.1f}" for r in rates) + f" | {seed_rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
