"""The output of a generator of image and mask pairs.

A pair travels as one tensor of ``1 + K`` channels: channel 0 the image, channels 1..K the
mask as class probabilities. The generator's last convolution emits ``1 + K`` channels
without an activation; ``PairOutput`` gives channel 0 the architecture's image activation and
turns channels 1..K into class probabilities, either a softmax or a straight-through one-hot
(the one-hot of the argmax forward, the softmax's gradient backward: Bengio, Léonard and
Courville 2013, "Estimating or Propagating Gradients Through Stochastic Neurons for
Conditional Computation").
"""

import keras
import tensorflow as tf
from keras import ops

IMAGE_ACTIVATIONS = ("tanh", "linear")
MASK_OUTPUTS = ("soft", "straight_through")


def check_mask_classes(mask_classes):
    """Rejects a mask class count other than 0 (no masks) or an integer >= 2 (background
    counts as a class)."""
    if isinstance(mask_classes, bool) or not isinstance(mask_classes, int) \
            or mask_classes < 0 or mask_classes == 1:
        raise ValueError("`mask_classes` must be 0 (no masks) or an integer >= 2. "
                         f"Received: mask_classes={mask_classes!r}")
    return mask_classes


def check_mask_output(mask_output):
    """Rejects an unknown way of emitting generated masks."""
    if mask_output not in MASK_OUTPUTS:
        raise ValueError(f"`mask_output` must be one of {list(MASK_OUTPUTS)}. "
                         f"Received: mask_output={mask_output!r}")
    return mask_output


def pair_channels(mask_classes):
    """Channels of a pair: the image and one per mask class (1 without masks)."""
    return 1 + check_mask_classes(mask_classes)


@keras.saving.register_keras_serializable(package="keras_mrigan")
class PairOutput(keras.layers.Layer):
    """Channel 0 through the image activation, channels 1..K through a softmax (or its
    straight-through one-hot).

    Computed in float32 (the layer's default dtype policy, also under mixed precision): a
    float16 softmax over few classes loses the small probabilities the discriminator sees.

    Args:
        image_activation: ``"tanh"`` (images in ``[-1, 1]``) or ``"linear"`` (progressive and
            style-based generators, whose output is linear).
        mask_output: ``"soft"``: the class probabilities; ``"straight_through"``: the
            one-hot of the most probable class, with the softmax's gradient.

    Input: ``(batch, H, W, 1 + K)`` pre-activation outputs, K >= 2.
    Output: float32 of the same shape.
    """

    def __init__(self, image_activation="tanh", mask_output="soft", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if image_activation not in IMAGE_ACTIVATIONS:
            raise ValueError(f"`image_activation` must be one of {list(IMAGE_ACTIVATIONS)}. "
                             f"Received: image_activation={image_activation!r}")
        self.image_activation = image_activation
        self.mask_output = check_mask_output(mask_output)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels < 3:
            raise ValueError("PairOutput needs 1 + K channels with K >= 2 mask classes. "
                             f"Received: input_shape={tuple(input_shape)}")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        image = x[..., :1]
        if self.image_activation == "tanh":
            image = ops.tanh(image)
        logits = x[..., 1:]
        masks = ops.softmax(logits, axis=-1)
        if self.mask_output == "straight_through":
            hard = ops.one_hot(ops.argmax(logits, axis=-1), ops.shape(logits)[-1],
                               dtype="float32")
            # Forward exactly the one-hot (soft - soft is exactly 0), backward the softmax.
            masks = hard + (masks - ops.stop_gradient(masks))
        return ops.concatenate([image, masks], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "image_activation": self.image_activation,
                "mask_output": self.mask_output}


def pair_output(x, mask_classes, image_activation, mask_output="soft", name="pair_output"):
    """``x`` through ``PairOutput`` when the generator makes pairs (``mask_classes`` >= 2),
    unchanged otherwise."""
    if not check_mask_classes(mask_classes):
        return x
    return PairOutput(image_activation, mask_output, name=name)(x)


def split_generated(generated):
    """A generator's output as ``(images, masks)``: channel 0 clipped to ``[-1, 1]`` (float32
    ``(n, H, W, 1)``), and for a generator of image + mask pairs (``1 + K`` channels, the mask
    as class probabilities or one-hot) the class of each pixel, the argmax of channels
    ``1 .. K`` (int32 ``(n, H, W)``), else ``None``.

    TensorFlow ops, so that an exported graph, a Sampler and ``GAN.generate`` compute the
    same thing.
    """
    generated = tf.cast(generated, tf.float32)  # Also under a mixed-precision policy.
    images = tf.clip_by_value(generated[..., :1], -1.0, 1.0)
    if generated.shape[-1] == 1:
        return images, None
    return images, tf.argmax(generated[..., 1:], axis=-1, output_type=tf.int32)


# Every sampling path runs its generator on blocks of exactly this many rows.
SAMPLING_BLOCK = 64


def run_generator(generator, latents, labels=None):
    """``split_generated`` of the generator in inference mode on ``latents`` (and a
    conditional generator's int32 ``labels``), computed in blocks of exactly
    ``SAMPLING_BLOCK`` rows, the last one padded with copies of its last row.

    CPU kernels may round differently for different batch sizes (oneDNN without AVX-512 does:
    up to 1e-6 apart between a batch of 1 and one of 64), but a row's result does not depend
    on where it sits in a batch of a given size nor on the other rows. So with one block size
    a latent gives the same image, bit for bit, whichever call holds it: ``GAN.generate``,
    ``Sampler``, the command line and an export's signatures all sample through here. TensorFlow
    ops, so it runs eagerly and inside an exported graph alike.
    """
    latents = tf.convert_to_tensor(latents, tf.float32)
    count = tf.shape(latents)[0]
    blocks = (count + SAMPLING_BLOCK - 1) // SAMPLING_BLOCK

    def in_blocks(tensor):
        padded = tf.concat(
            [tensor, tf.repeat(tensor[-1:], blocks * SAMPLING_BLOCK - count, axis=0)], axis=0)
        return tf.reshape(padded, tf.concat([[blocks, SAMPLING_BLOCK], tf.shape(tensor)[1:]],
                                            axis=0))

    def call(block):
        inputs = block if labels is None else list(block)
        return tf.cast(generator(inputs, training=False), tf.float32)

    elements = in_blocks(latents) if labels is None else (
        in_blocks(latents), in_blocks(tf.cast(labels, tf.int32)))
    # The block's full shape, so that an empty request keeps the image and mask channels.
    block_shape = (SAMPLING_BLOCK, *generator.output_shape[1:])
    generated = tf.map_fn(call, elements,
                          fn_output_signature=tf.TensorSpec(block_shape, tf.float32))
    generated = tf.reshape(generated, (-1, *block_shape[1:]))
    return split_generated(generated[:count])
