"""The discriminator's gradient penalties, computed on the points each one asks for.

``losses`` holds the penalties' formulas on gradients; this module makes the points, takes the
discriminator's gradient there and weights the result. The loss object names the penalty
(``AdversarialLoss.penalty``); ``GAN.train_step`` calls ``gradient_penalty`` with its own
random draws, so that the draws stay those of the training's seed state.
"""

import tensorflow as tf

from keras_mrigan import losses as losses_module
from keras_mrigan.replicas import all_reduce_sum


def global_std(x):
    """The standard deviation of each channel of ``x`` ``(..., C)`` over the global batch (all
    replicas): shape ``(C,)``. An image and mask pair's channels each keep their own scale."""
    x = tf.cast(x, tf.float32)
    axes = list(range(x.shape.rank - 1))
    count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
    sums = tf.reduce_sum(x, axis=axes)
    moments = all_reduce_sum(tf.stack([tf.fill(tf.shape(sums), count), sums,
                                       tf.reduce_sum(tf.square(x), axis=axes)]))
    count, total, squares = moments[0], moments[1], moments[2]
    mean = total / count
    return tf.sqrt(tf.maximum(squares / count - tf.square(mean), 0.0))


def _input_gradients(score, points):
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = score(points)
    return tape.gradient(scores, points)


def gradient_penalty(kind, score, real, fake, uniform, weight):
    """One gradient penalty, weighted (float32).

    Args:
        kind: ``"r1"``, ``"r1r2"`` (R1 on the real images plus R2 on the generated ones),
            ``"gradient"`` (WGAN-GP) or ``"dragan"``, see ``losses.GRADIENT_PENALTIES``.
        score: images -> the discriminator's float32 scores (with the real images' labels
            for a conditional GAN: the generated images of the step share them).
        real: the real images (augmented as the discriminator saw them).
        fake: the generated images (same).
        uniform: shape -> ``U(0, 1)`` draws of that shape (this replica's slice).
        weight: ``lambda`` of WGAN-GP and DRAGAN, ``gamma`` of R1 and of R1 + R2.

    Returns:
        float32 scalar tensor.
    """
    if kind == "r1":
        # Mescheder et al. 2018: (gamma / 2) E[||grad D(x)||^2] on the real images.
        return 0.5 * weight * losses_module.r1_penalty(_input_gradients(score, real))
    if kind == "r1r2":
        # R3GAN (Huang et al. 2024): (gamma / 2) (E[||grad D(x)||^2] + E[||grad D(G(z))||^2]).
        # The two batches are scored apart, as in the loss: a minibatch-stddev layer would
        # otherwise mix real and generated images in its groups.
        return 0.5 * weight * (losses_module.r1_penalty(_input_gradients(score, real))
                               + losses_module.r2_penalty(_input_gradients(score, fake)))
    if kind not in losses_module.GRADIENT_PENALTIES:
        raise ValueError(f"`kind` must be one of {losses_module.GRADIENT_PENALTIES}. "
                         f"Received: kind={kind!r}")
    alpha = uniform(tf.stack([tf.shape(real)[0], 1, 1, 1]))
    if kind == "gradient":
        # Paper equation 4: x_m = alpha x + (1 - alpha) G(z).
        points = alpha * real + (1.0 - alpha) * fake
    else:
        # Paper equation 5, as in DRAGAN's reference code: the perturbed point
        # x_p = x + 0.5 std(x) u with u ~ U(0, 1) per pixel, and x' = alpha x + (1 - alpha) x_p
        # (std per channel: an image and its mask's class channels each at their own scale).
        noise = uniform(tf.shape(real))
        perturbed = real + 0.5 * global_std(real) * noise
        points = alpha * real + (1.0 - alpha) * perturbed
    return weight * losses_module.gradient_penalty(_input_gradients(score, points))


def lazy(penalty, interval, step):
    """Lazy regularization (Karras et al. 2020): ``interval * penalty()`` on the steps whose
    count is a multiple of ``interval``, 0 on the others (``penalty()`` on every step for an
    interval of 1).

    Args:
        penalty: a function computing the penalty.
        interval: k >= 1.
        step: the discriminator optimizer's step count.
    """
    if interval == 1:
        return penalty()
    due = tf.equal(step % interval, 0)
    return tf.cond(due, lambda: float(interval) * penalty(), lambda: tf.constant(0.0))
