"""Differentiable augmentation of the images the discriminator sees.

With few training images a discriminator learns them by heart and its feedback to the
generator degrades. Augmenting every image it sees, real and generated alike (and the points
of gradient penalties, which are made from them), with transforms that gradients pass through,
keeps it from memorizing without leaking the transforms into the generated images
(DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"). Each transform of a policy is applied to each image with probability ``p``, which
``GAN`` can adapt from how confidently the discriminator scores real images (ADA, Karras et
al. 2020, "Training Generative Adversarial Networks with Limited Data").

Every function takes images ``(batch, H, W, C)`` in ``[-1, 1]`` and returns images of the same
shape, still in ``[-1, 1]`` (-1 is the background of brain MRI slices: what translation and
cutout fill with). Randomness comes from a ``uniform(shape)`` callable returning ``U(0, 1)``
draws, so that the caller decides where the random numbers come from.
"""

import tensorflow as tf

TRANSLATION = 0.125  # Largest shift, as a fraction of the side (DiffAugment's 1/8).
CUTOUT = 0.5  # Side of the cut-out square, as a fraction of the image's side.
BACKGROUND = -1.0


def translate(images, dy, dx):
    """Shifts each image by whole pixels, ``dy`` down and ``dx`` right (``(batch,)`` integer
    tensors), filling with the background value: ``out[i, j] = image[i - dy, j - dx]``."""
    size = tf.shape(images)
    h, w = size[1], size[2]
    pad = tf.maximum(tf.reduce_max(tf.abs(dy)), tf.reduce_max(tf.abs(dx)))
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]],
                    constant_values=BACKGROUND)
    rows = tf.range(h)[None, :] - dy[:, None] + pad
    cols = tf.range(w)[None, :] - dx[:, None] + pad
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def translation(images, uniform):
    """A random shift of up to ``TRANSLATION`` of the side in each direction."""
    limit = tf.cast(tf.round(tf.cast(tf.shape(images)[1], tf.float32) * TRANSLATION), tf.int32)
    draws = uniform([tf.shape(images)[0], 2])
    shifts = tf.cast(tf.floor(draws * tf.cast(2 * limit + 1, tf.float32)), tf.int32) - limit
    return translate(images, shifts[:, 0], shifts[:, 1])


def cutout(images, uniform):
    """Sets a square of ``CUTOUT`` of the side, at a random place, to the background."""
    size = tf.shape(images)
    h, w = size[1], size[2]
    half = tf.cast(tf.round(tf.cast(h, tf.float32) * CUTOUT / 2), tf.int32)
    draws = uniform([size[0], 2])
    cy = tf.cast(tf.floor(draws[:, 0] * tf.cast(h, tf.float32)), tf.int32)
    cx = tf.cast(tf.floor(draws[:, 1] * tf.cast(w, tf.float32)), tf.int32)
    inside_y = tf.abs(tf.range(h)[None, :] - cy[:, None]) < half
    inside_x = tf.abs(tf.range(w)[None, :] - cx[:, None]) < half
    mask = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])[..., None]
    return tf.where(mask, tf.cast(BACKGROUND, images.dtype), images)


def brightness(images, uniform):
    """Adds ``U(-0.5, 0.5)`` to each image (clipped to ``[-1, 1]``)."""
    offset = uniform([tf.shape(images)[0], 1, 1, 1]) - 0.5
    return tf.clip_by_value(images + offset, -1.0, 1.0)


def contrast(images, uniform):
    """Scales each image's deviation from its mean by ``U(0.5, 1.5)`` (clipped)."""
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    factor = uniform([tf.shape(images)[0], 1, 1, 1]) + 0.5
    return tf.clip_by_value((images - mean) * factor + mean, -1.0, 1.0)


def flip(images, uniform):
    """Mirrors left and right (a brain is nearly, not exactly, symmetric: off by default)."""
    del uniform
    return tf.reverse(images, axis=[2])


TRANSFORMS = {"translation": translation, "cutout": cutout, "brightness": brightness,
              "contrast": contrast, "flip": flip}


def parse_policy(policy):
    """A policy (``"translation,cutout"``, a list of names, or empty/``None``) as a tuple of
    transform names.

    Raises:
        ValueError: an unknown name, with the valid ones.
    """
    if policy is None:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(name.strip() for name in names if name.strip())
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ValueError(f"Unknown augmentation {unknown[0]!r} (--augment). Valid: "
                         f"{', '.join(TRANSFORMS)}. Received: augment={policy!r}")
    return names


def augment(images, policy, p, uniform):
    """Applies each transform of ``policy``, in order, to each image with probability ``p``.

    Args:
        images: ``(batch, H, W, C)`` in ``[-1, 1]``.
        policy: transform names (see ``parse_policy``).
        p: probability, a scalar.
        uniform: ``uniform(shape)`` -> ``U(0, 1)`` float32 draws.
    """
    if not policy:
        return images
    images = tf.cast(images, tf.float32)
    p = tf.cast(p, tf.float32)
    for name in policy:
        applied = uniform([tf.shape(images)[0], 1, 1, 1]) < p
        images = tf.where(applied, TRANSFORMS[name](images, uniform), images)
    return images
