"""The exponential moving average of a generator's weights (Karras et al. 2018; StyleGAN2's
``ema_kimg`` with its ramp-up).

The GAN keeps the average as a second, non-trainable copy of its generator and the count of
images the generator has been trained on (for the ramp-up); these functions hold the
arithmetic.
"""

import keras
import tensorflow as tf


def average_copy(generator):
    """A non-trainable copy of ``generator`` holding its current weights, the start of the
    average."""
    average = keras.models.clone_model(generator)
    average.set_weights(generator.get_weights())
    average.trainable = False
    return average


def images_seen_variable():
    """The count of images the generator has been trained on (float64: exact up to 2^53
    images), checkpointed with the average."""
    return keras.Variable(0.0, dtype="float64", trainable=False, name="images_seen",
                          aggregation="only_first_replica")


def ema_beta(batch, half_life_images, rampup=0.0, images_seen=None):
    """The average's decay for one generator update on a global batch of ``batch`` images:
    ``0.5 ** (batch / half_life)``.

    Args:
        batch: images of the update.
        half_life_images: the average's half-life in images.
        rampup: for short runs the half-life is at most ``rampup`` times ``images_seen`` (0:
            no ramp-up).
        images_seen: images the generator has been trained on (with this update's).

    Returns:
        float64 scalar tensor.
    """
    half_life = tf.constant(half_life_images, tf.float64)
    if rampup:
        half_life = tf.minimum(half_life, images_seen * rampup)
    return tf.pow(tf.constant(0.5, tf.float64),
                  tf.cast(batch, tf.float64) / tf.maximum(half_life, 1e-8))


def update_average(average, model, beta):
    """Moves ``average``'s weights towards ``model``'s: ``w + (a - w) * beta``.

    Non-trainable weights (batch normalization's moving statistics) are copied: they describe
    the activations, which the averaged weights produce nearly alike, and an average of past
    statistics would lag behind them.
    """
    for averaged, weight in zip(average.weights, model.weights, strict=True):
        if weight.trainable:
            b = tf.cast(beta, averaged.dtype)
            averaged.assign(weight + (averaged - weight) * b)
        else:
            averaged.assign(weight)
