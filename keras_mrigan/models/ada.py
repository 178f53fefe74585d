"""Adaptive discriminator augmentation: the probability of each augmentation, moved by the
discriminator's confidence on real images.

Reference: Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"
(StyleGAN2-ADA): the overfitting heuristic ``r_t = E[sign(D(x))]``.
"""

import keras
import tensorflow as tf

from keras_mrigan.replicas import all_reduce_sum


def probability_variable(p):
    """The adaptive probability, starting at ``p``, checkpointed with the model and
    updated on the first replica only."""
    return keras.Variable(float(p), dtype="float32", trainable=False, name="augment_p",
                          aggregation="only_first_replica")


def adapted_probability(p, real_scores, target, images):
    """The probability after one step: ``p`` moved by ``batch / images`` up if the mean sign
    of the real scores over the global batch exceeds ``target``, else down, within [0, 1].

    Args:
        p: the current probability.
        real_scores: the discriminator's scores of this replica's (augmented) real images.
        target: the mean sign aimed at, in (0, 1).
        images: images over which the probability can move from 0 to 1.

    Returns:
        float32 scalar tensor.
    """
    signs = tf.sign(tf.cast(real_scores, tf.float32))
    moments = all_reduce_sum(tf.stack([tf.reduce_sum(signs), tf.cast(tf.size(signs),
                                                                      tf.float32)]))
    overfitting = moments[0] / moments[1]
    step = tf.sign(overfitting - target) * moments[1] / images
    return tf.clip_by_value(p + step, 0.0, 1.0)
