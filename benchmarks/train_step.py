"""GAN.train_step throughput under model.fit against a minimal hand-written tf.function step.

For each architecture and resolution, the paper's networks (width 1) train with the paper's
settings for that architecture (DCGAN: DRAGAN, r = 3, uniform latents of 256; SRResNet:
DRAGAN, r = 2, normalized Gaussian latents of 256; ProGAN: WGAN-GP with drift, r = 1,
normalized Gaussian latents of 512, the final stage's network with alpha = 1) on random images
held in memory. Both ways of
stepping run in the same process, alternating, on the same networks, so their ratio (the
overhead of the GAN class and of fit) is what to read. FLOPs of one step are counted from the
hand-written step's graph by TensorFlow's profiler (convolutions forward and backward,
matrix products, the penalty's double backward) and compared with this machine's float32
matrix-product rate, measured in the same run.

    python benchmarks/train_step.py [--arch dcgan srresnet progan] [--resolutions 64 256]
                                    [--steps 3] [--xla]
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_mrigan import losses  # noqa: E402
from keras_mrigan.config import get_preset  # noqa: E402
from keras_mrigan.models import get_architecture  # noqa: E402
from keras_mrigan.models.gan import GAN  # noqa: E402
from keras_mrigan.models.latents import sample_latents  # noqa: E402

BATCH = {16: 32, 32: 32, 64: 8, 128: 4, 256: 4}  # Small batches: a 2-core CPU is slow.


def matmul_rate(n=2048, repeats=10):
    """float32 FLOP/s of an n x n matrix product, best of ``repeats``."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    product().numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def build(arch, resolution, jit_compile):
    """The paper's networks and settings for ``arch`` (its ``paper-*`` preset)."""
    config = get_preset(f"paper-{arch}")
    keras.utils.set_random_seed(0)
    module = get_architecture(arch)
    gan = GAN(module.build_generator(resolution, latent_dim=config.model.latent_dim),
              module.build_discriminator(resolution,
                                         minibatch_stddev=config.model.minibatch_stddev),
              latent_distribution=config.model.latent_distribution,
              g_steps=config.schedule.g_steps, seed=0)
    for layer in gan.fade_layers:  # A finished progressive stage.
        layer.alpha.assign(1.0)
    opt = config.optimizer
    gan.compile(g_optimizer=keras.optimizers.Adam(opt.g_learning_rate, beta_1=opt.beta_1),
                d_optimizer=keras.optimizers.Adam(opt.d_learning_rate, beta_1=opt.beta_1),
                loss=config.loss.loss, real_label=config.loss.real_label,
                drift=config.loss.drift, jit_compile=jit_compile)
    return gan


def hand_written_step(gan, jit_compile):
    """The same update as GAN.train_step, written out plainly: no trackers, no fit, no fade of
    the real images (alpha is 1)."""
    g, d = gan.generator, gan.discriminator
    g_opt, d_opt = gan.g_optimizer, gan.d_optimizer
    loss, label, drift = gan.loss_fn, gan.real_label, gan.drift
    dim, distribution = gan.latent_dim, gan.latent_distribution

    def latents(n):
        return sample_latents(n, dim, distribution)

    @tf.function(jit_compile=jit_compile)
    def step(real):
        n = tf.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = g(latents(n), training=True)
            real_scores = d(real, training=True)
            d_loss = loss.discriminator_loss(real_scores, d(fake, training=True), label)
            alpha = tf.random.uniform((n, 1, 1, 1))
            if loss.penalty == "dragan":
                noise = tf.random.uniform(tf.shape(real))
                points = real + (1.0 - alpha) * 0.5 * tf.math.reduce_std(real) * noise
            else:
                points = alpha * real + (1.0 - alpha) * fake
            with tf.GradientTape() as inner:
                inner.watch(points)
                scores = d(points, training=True)
            d_loss += 10.0 * losses.gradient_penalty(inner.gradient(scores, points))
            d_loss += drift * tf.reduce_mean(tf.square(real_scores))
        d_opt.apply(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables)
        for _ in range(gan.g_steps):
            with tf.GradientTape() as tape:
                fake = g(latents(n), training=True)
                g_loss = loss.generator_loss(d(fake, training=True), label)
            g_opt.apply(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables)
        return d_loss, g_loss

    return step


def count_flops(step, batch, resolution):
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = step.get_concrete_function(
        tf.TensorSpec((batch, resolution, resolution, 1), tf.float32)
    ).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops


class StepTimer(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]


def time_fit(gan, data, steps):
    timer = StepTimer()
    gan.fit(data, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[timer],
            shuffle=False)
    return np.diff(timer.times)[1:]  # The first step includes tracing.


def time_hand(step, data, steps):
    iterator = iter(data)
    step(next(iterator))[0].numpy()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step(next(iterator))[0].numpy()
        times.append(time.perf_counter() - start)
    return np.array(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["dcgan", "srresnet", "progan"],
                        choices=["dcgan", "srresnet", "progan"])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternations fit / hand")
    parser.add_argument("--xla", action="store_true", help="also measure jit_compile=True")
    args = parser.parse_args()

    rate = matmul_rate()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}")
    print(f"float32 matmul (2048^3): {rate / 1e9:.1f} GFLOP/s")
    print("arch | res | batch | XLA | fit img/s | hand img/s | overhead | GFLOP/step | "
          "achieved GFLOP/s | of matmul")
    for arch, resolution in [(a, r) for a in args.arch for r in args.resolutions]:
        batch = BATCH.get(resolution, 4)
        images = np.random.default_rng(0).uniform(-1, 1, (batch, resolution, resolution, 1))
        data = tf.data.Dataset.from_tensors(images.astype(np.float32)).repeat()
        for xla in [False, True] if args.xla else [False]:
            gan = build(arch, resolution, xla)
            step = hand_written_step(gan, xla)
            flops = count_flops(step, batch, resolution)
            fit_times, hand_times = [], []
            for _ in range(args.rounds):
                fit_times.extend(time_fit(gan, data, args.steps))
                hand_times.extend(time_hand(step, data, args.steps))
            fit_step, hand_step = np.median(fit_times), np.median(hand_times)
            achieved = flops / fit_step
            print(f"{arch} | {resolution} | {batch} | {'on' if xla else 'off'} | "
                  f"{batch / fit_step:.2f} | {batch / hand_step:.2f} | "
                  f"{fit_step / hand_step:.3f} | {flops / 1e9:.0f} | {achieved / 1e9:.1f} | "
                  f"{achieved / rate:.0%}", flush=True)


if __name__ == "__main__":
    main()
