"""One training step of a tiny DCGAN (no batch norm, with a moving average of the generator
and adaptive augmentation) on one device and under a MirroredStrategy over two logical CPUs,
with the same global batch and initial weights.

    python mirrored_step.py LOSS...

``LOSS+labels`` (e.g. ``wgan-gp+labels``) makes the GAN conditional, on two classes.

Prints one JSON line: {loss: largest absolute weight difference}.
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

from keras_mrigan.models import dcgan  # noqa: E402
from keras_mrigan.models.gan import GAN  # noqa: E402


def one_step(strategy, loss, images, steps=1):
    """The networks' weights, and the average's weights with its image count, after ``steps``
    global batches (``images`` is one batch)."""
    loss, _, conditional = loss.partition("+")
    classes = 2 if conditional else 0
    with strategy.scope():
        keras.utils.set_random_seed(1)
        gan = GAN(dcgan.build_generator(16, latent_dim=8, width=1 / 16, batch_norm=False,
                                        num_classes=classes),
                  dcgan.build_discriminator(16, width=1 / 16, minibatch_stddev=False,
                                            batch_norm=False, num_classes=classes),
                  seed=0, g_steps=2, ema_half_life_images=20, ema_rampup=0,
                  augment="translation,cutout,brightness,contrast", augment_p=0.5,
                  ada_images=1000, num_classes=classes, class_frequencies=[1, 3][:classes])
        gan.compile(loss=loss, g_optimizer=keras.optimizers.Adam(1e-3),
                    d_optimizer=keras.optimizers.Adam(1e-3))
    if steps:
        data = (images, np.arange(len(images), dtype=np.int32) % 2) if classes else images
        batches = tf.data.Dataset.from_tensor_slices(data).batch(len(images))
        gan.fit(batches, epochs=steps, verbose=0)
    networks = [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]
    average = [v.numpy() for v in gan.ema_generator.weights] + [
        gan.augment_p.numpy(), gan.images_seen.numpy()]
    return networks, average


def largest_difference(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def main(losses):
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    one_device = tf.distribute.get_strategy()
    result = {}
    for loss in losses:
        initial = one_step(one_device, loss, images, steps=0)
        single = one_step(one_device, loss, images)
        split = one_step(mirrored, loss, images)
        result[loss] = {"difference": largest_difference(single[0], split[0]),
                        "update": largest_difference(single[0], initial[0]),
                        "ema_difference": largest_difference(single[1], split[1]),
                        "ema_update": largest_difference(single[1][:-2], initial[1][:-2])}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
