"""Fading a new resolution in (progressive networks): the ``WeightedSum`` layers that blend
it in, and the real images faded alike (Karras et al. 2018, "Progressive Growing of GANs")."""

import tensorflow as tf

from keras_mrigan.layers import WeightedSum


def fade_layers(network):
    """The ``WeightedSum`` fade-in layers of ``network`` (empty unless progressive)."""
    return [layer for layer in network.layers if isinstance(layer, WeightedSum)]


def fade_real(real, alpha):
    """Real images faded like a generator's output while it grows: ``low + alpha (real -
    low)``, with ``low`` the batch average-pooled 2x and upsampled back (nearest neighbour).

    Args:
        real: ``(batch, H, W, C)`` images, H and W even.
        alpha: the fade-in's weight of the new resolution, in [0, 1].
    """
    low = tf.nn.avg_pool2d(real, 2, 2, "VALID")
    low = tf.repeat(tf.repeat(low, 2, axis=1), 2, axis=2)
    return low + tf.cast(alpha, real.dtype) * (real - low)
