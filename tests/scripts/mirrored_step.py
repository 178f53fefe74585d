"""One training step of a tiny GAN (no batch norm, with a moving average of the generator)
on one device and under a MirroredStrategy over two logical CPUs, with the same global batch
and initial weights.

    python mirrored_step.py CASE...

A case is ``LOSS[+labels][@ARCH]``: ``+labels`` makes the GAN conditional, on two classes;
``@stylegan2`` builds StyleGAN2 networks (modulated convolutions, per-pixel noise drawn for
the global batch and sliced per replica) instead of DCGAN ones (e.g. ``gan-r1@stylegan2``).

Prints one JSON line: {case: largest absolute weight differences}.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from keras_mrigan.layers import NoiseInjection  # noqa: E402
from keras_mrigan.models import dcgan, stylegan2  # noqa: E402
from keras_mrigan.models.gan import GAN  # noqa: E402


def build_gan(arch, classes):
    """A tiny GAN of ``arch`` at 16 x 16, without batch statistics (the minibatch standard
    deviation groups the images of a replica's batch, not of the global one, so it is left
    out), with a moving average of the generator.

    DCGAN: two generator steps a batch and adaptive augmentation. StyleGAN2 (8 feature maps
    at every resolution): one generator step and no augmentation (half the tracing time), its
    noise strengths started at 0.5 rather than 0, so that the per-pixel noise enters every
    forward pass of the step, not only the gradient of its strengths."""
    frequencies = dict(num_classes=classes, class_frequencies=[1, 3][:classes])
    if arch == "stylegan2":
        generator = stylegan2.build_generator(16, latent_dim=8, width=1 / 64,
                                              num_classes=classes)
        for layer in generator.layers:
            if isinstance(layer, NoiseInjection):
                layer.strength.assign(0.5)
        return GAN(generator, stylegan2.build_discriminator(
            16, width=1 / 64, minibatch_stddev=False, num_classes=classes),
            seed=0, ema_half_life_images=20, ema_rampup=0, **frequencies)
    return GAN(dcgan.build_generator(16, latent_dim=8, width=1 / 16, batch_norm=False,
                                     num_classes=classes),
               dcgan.build_discriminator(16, width=1 / 16, minibatch_stddev=False,
                                         batch_norm=False, num_classes=classes),
               seed=0, g_steps=2, ema_half_life_images=20, ema_rampup=0,
               augment="translation,cutout,brightness,contrast", augment_p=0.5,
               ada_images=1000, **frequencies)


def one_step(strategy, case, images, steps=1):
    """The networks' weights, the average's weights, and its count of images with the
    augmentation probability, after ``steps`` global batches (``images`` is one batch)."""
    case, _, arch = case.partition("@")
    loss, _, conditional = case.partition("+")
    classes = 2 if conditional else 0
    with strategy.scope():
        keras.utils.set_random_seed(1)
        gan = build_gan(arch or "dcgan", classes)
        gan.compile(loss=loss, g_optimizer=keras.optimizers.Adam(1e-3),
                    d_optimizer=keras.optimizers.Adam(1e-3))
    if steps:
        data = (images, np.arange(len(images), dtype=np.int32) % 2) if classes else images
        batches = tf.data.Dataset.from_tensor_slices(data).batch(len(images))
        gan.fit(batches, epochs=steps, verbose=0)
    networks = [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]
    average = [v.numpy() for v in gan.ema_generator.weights]
    # The average's count of images, and the augmentation probability when augmenting.
    counters = [v.numpy() for v in [gan.images_seen] + ([gan.augment_p]
                                                         if gan.augment_policy else [])]
    return networks, average, counters


def largest_difference(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def main(cases):
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    one_device = tf.distribute.get_strategy()
    result = {}
    for case in cases:
        initial = one_step(one_device, case, images, steps=0)
        single = one_step(one_device, case, images)
        split = one_step(mirrored, case, images)
        result[case] = {"difference": largest_difference(single[0], split[0]),
                        "update": largest_difference(single[0], initial[0]),
                        "ema_difference": largest_difference(single[1] + single[2],
                                                            split[1] + split[2]),
                        "ema_update": largest_difference(single[1], initial[1])}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
