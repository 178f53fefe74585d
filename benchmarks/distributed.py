"""Training throughput on one device against a MirroredStrategy over two logical devices, and
the speed options (mixed precision, XLA) on one device.

The CPU is split into two logical devices before TensorFlow starts. Every variant trains the
same DCGAN (paper settings: DRAGAN, r = 3, batch norm, minibatch stddev) with ``model.fit`` on
the same global batches held in memory; the variants run in the same process and alternate,
round after round, so their ratios are what to read. On a GPU machine the same script
compares float32, mixed_float16 and XLA on the GPU (the ``--gpu`` flag).

    python benchmarks/distributed.py [--resolution 64] [--width 0.25] [--batch 32]
                                     [--steps 6] [--rounds 3] [--gpu]
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--resolution", type=int, default=64)
ARGS.add_argument("--width", type=float, default=0.25)
ARGS.add_argument("--batch", type=int, default=32, help="global batch")
ARGS.add_argument("--steps", type=int, default=6, help="batches per measurement")
ARGS.add_argument("--rounds", type=int, default=3)
ARGS.add_argument("--gpu", action="store_true", help="float32 / mixed_float16 / XLA on GPU")
ARGS = ARGS.parse_args()

if not ARGS.gpu:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from keras_mrigan import builders  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402


def variant(strategy="default", precision="float32", jit_compile=False):
    """The paper's DCGAN settings at the benchmark's size, compiled for one variant."""
    config = get_preset("paper-dcgan").replace(
        resolution=ARGS.resolution, width=ARGS.width, batch_size=ARGS.batch,
        strategy=strategy, precision=precision, jit_compile=jit_compile)
    return builders.compile_gan(builders.build_gan(config), config)


def measure(gan, data):
    """Images per second of ``fit`` over ``data`` (one epoch of ARGS.steps batches)."""
    start = time.perf_counter()
    gan.fit(data, epochs=1, verbose=0)
    return ARGS.steps * ARGS.batch / (time.perf_counter() - start)


def main():
    images = np.random.default_rng(0).uniform(
        -1, 1, (ARGS.steps * ARGS.batch, ARGS.resolution, ARGS.resolution, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(ARGS.batch).cache()
    if ARGS.gpu:
        variants = {"float32": variant(), "mixed_float16": variant(precision="mixed_float16"),
                    "float32 + XLA": variant(jit_compile=True),
                    "mixed_float16 + XLA": variant(precision="mixed_float16", jit_compile=True)}
    else:
        builders._strategies["mirrored"] = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        variants = {"1 device": variant(),
                    "2 logical devices (mirrored)": variant(strategy="mirrored"),
                    "1 device, mixed_bfloat16": variant(precision="mixed_bfloat16"),
                    "1 device, XLA": variant(jit_compile=True)}
    rates = {name: [] for name in variants}
    for gan in variants.values():  # Warm-up: tracing and compilation.
        measure(gan, data)
    for _ in range(ARGS.rounds):
        for name, gan in variants.items():
            rates[name].append(measure(gan, data))
    base = float(np.median(rates[next(iter(rates))]))
    print(f"DCGAN {ARGS.resolution}x{ARGS.resolution}, width {ARGS.width}, global batch "
          f"{ARGS.batch}, DRAGAN r = 3; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; median of {ARGS.rounds} rounds of {ARGS.steps} batches")
    print("| variant | img/s | ratio |")
    print("| --- | ---: | ---: |")
    for name, values in rates.items():
        median = float(np.median(values))
        print(f"| {name} | {median:.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
