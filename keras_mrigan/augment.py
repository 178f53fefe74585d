"""Differentiable augmentation of the images the discriminator sees.

With few training images a discriminator learns them by heart and its feedback to the
generator degrades. Augmenting every image it sees, real and generated alike (and the points
of gradient penalties, which are made from them), with transforms that gradients pass through,
keeps it from memorizing without leaking the transforms into the generated images
(DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"). Each transform of a policy is applied to each image with probability ``p``, which
``GAN`` can adapt from how confidently the discriminator scores real images (ADA, Karras et
al. 2020, "Training Generative Adversarial Networks with Limited Data").

Every function takes images ``(batch, H, W, C)`` and returns images of the same shape. Channel
0 is the image, in ``[-1, 1]`` (-1 is the background of brain MRI slices: what translation and
cutout fill it with); the channels after it, if any, are the image's mask as class
probabilities in ``[0, 1]`` (an image and mask pair, see ``layers.PairOutput``). Geometric
transforms (translation, cutout, flip) move every channel alike, so the mask stays on its
image, and fill the mask channels with 0 (no class: the same for real and generated pairs);
intensity transforms (brightness, contrast) change channel 0 only. Randomness comes from a
``uniform(shape)`` callable returning ``U(0, 1)`` draws, so that the caller decides where the
random numbers come from.
"""

import tensorflow as tf

TRANSLATION = 0.125  # Largest shift, as a fraction of the side (DiffAugment's 1/8).
CUTOUT = 0.5  # Side of the cut-out square, as a fraction of the image's side.
BACKGROUND = -1.0
MASK_BACKGROUND = 0.0  # Fill of the mask channels: no class.


def _fill(images):
    """The value each channel is filled with, ``(C,)``: the background for the image, 0 for
    the mask channels."""
    rest = tf.fill([tf.shape(images)[-1] - 1], tf.constant(MASK_BACKGROUND, images.dtype))
    return tf.concat([tf.constant([BACKGROUND], images.dtype), rest], axis=0)


def _image_only(transform, images, *args):
    """``transform`` applied to channel 0, the mask channels unchanged."""
    return tf.concat([transform(images[..., :1], *args), images[..., 1:]], axis=-1)


def translate(images, dy, dx):
    """Shifts each image by whole pixels, ``dy`` down and ``dx`` right (``(batch,)`` integer
    tensors), filling with the background value (0 in mask channels): ``out[i, j] =
    image[i - dy, j - dx]``."""
    size = tf.shape(images)
    h, w = size[1], size[2]
    pad = tf.maximum(tf.reduce_max(tf.abs(dy)), tf.reduce_max(tf.abs(dx)))
    paddings = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    padded = tf.concat([tf.pad(images[..., :1], paddings, constant_values=BACKGROUND),
                        tf.pad(images[..., 1:], paddings, constant_values=MASK_BACKGROUND)],
                       axis=-1)
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
    """Sets a square of ``CUTOUT`` of the side, at a random place, to the background (0 in
    mask channels)."""
    size = tf.shape(images)
    h, w = size[1], size[2]
    half = tf.cast(tf.round(tf.cast(h, tf.float32) * CUTOUT / 2), tf.int32)
    draws = uniform([size[0], 2])
    cy = tf.cast(tf.floor(draws[:, 0] * tf.cast(h, tf.float32)), tf.int32)
    cx = tf.cast(tf.floor(draws[:, 1] * tf.cast(w, tf.float32)), tf.int32)
    inside_y = tf.abs(tf.range(h)[None, :] - cy[:, None]) < half
    inside_x = tf.abs(tf.range(w)[None, :] - cx[:, None]) < half
    mask = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])[..., None]
    return tf.where(mask, _fill(images), images)


def brightness(images, uniform):
    """Adds ``U(-0.5, 0.5)`` to each image (clipped to ``[-1, 1]``; channel 0 only)."""
    offset = uniform([tf.shape(images)[0], 1, 1, 1]) - 0.5
    return _image_only(lambda x: tf.clip_by_value(x + offset, -1.0, 1.0), images)


def contrast(images, uniform):
    """Scales each image's deviation from its mean by ``U(0.5, 1.5)`` (clipped; channel 0
    only)."""
    factor = uniform([tf.shape(images)[0], 1, 1, 1]) + 0.5

    def scale(x):
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        return tf.clip_by_value((x - mean) * factor + mean, -1.0, 1.0)

    return _image_only(scale, images)


def flip(images, uniform):
    """Mirrors left and right, every channel (a brain is nearly, not exactly, symmetric: off
    by default)."""
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
        images: ``(batch, H, W, C)``: the image in ``[-1, 1]`` (channel 0) and, for pairs,
            its mask's class probabilities.
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
