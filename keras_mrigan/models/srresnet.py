"""SRResNet GAN networks (paper §2.1, after Ledig et al. 2017 and Jin et al. 2017).

The generator works at 16 x 16 with 64 filters through 16 residual blocks, then turns filters
into pixels (convolution to 4x the filters, then depth-to-space x2) until the target size.
The discriminator has no batch normalization: stride-2 3 x 3 convolutions halve the image
down to 2 x 2, with two residual blocks after each of them until 4 x 4, and one dense layer
from the last feature map to the score. At 256 x 256 that is the paper's 12 residual blocks
and 2048 x 2 x 2 features.
"""

import math

import keras

from keras_mrigan.data.preprocess import check_resolution
from keras_mrigan.layers import ICNR, MinibatchStdDev, PixelShuffle, conditioning
from keras_mrigan.layers.pair_output import check_mask_output, pair_channels, pair_output
from keras_mrigan.models.dcgan import BN_MOMENTUM, LEAKY_SLOPE, check_width, scaled

# Paper values (§2.1); presets and defaults refer to these names.
BASE_RESOLUTION = 16  # The generator's dense layer outputs 64 x 16 x 16.
GENERATOR_FILTERS = 64
GENERATOR_BLOCKS = 16
UPSCALE = 2  # Each upsampling block doubles the side.
KERNEL_SIZE = 3
OUTPUT_KERNEL_SIZE = 9  # Ledig et al.'s last convolution.
FINAL_RESOLUTION = 2  # The discriminator's last feature map is 2 x 2 ...
FINAL_FILTERS = 2048  # ... with 2048 channels; each halving of the side before it halves them.
BLOCKS_PER_LEVEL = 2  # Residual blocks after each downsampling, down to 4 x 4.
INITIALIZER = "he_normal"


def _conv(filters, name, kernel_size=KERNEL_SIZE, strides=1, initializer=INITIALIZER,
          **kwargs):
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                               kernel_initializer=initializer, name=name, **kwargs)


def _bn(name):
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)


def build_generator(resolution=256, latent_dim=256, width=1.0, num_classes=0, mask_classes=0,
                    mask_output="soft", name="srresnet_generator"):
    """The SRResNet generator for any power-of-two resolution from 16 to 1024.

    Dense to 16 x 16 x 64 with BN + ReLU; 16 residual blocks (conv-BN-ReLU-conv-BN plus the
    identity); a 3 x 3 convolution and BN, added to the dense output (the long skip); then per
    doubling a convolution to 4x the filters (ICNR-initialized, so that it starts as a
    nearest-neighbour upsampling without checkerboard), depth-to-space x2, BN and ReLU; a 9 x 9
    convolution with tanh to one channel. He-normal initialization.

    Args:
        resolution: output side.
        latent_dim: latent length (paper: 256, normalized Gaussian).
        width: multiplier of every filter count.
        num_classes: with K >= 2 classes, the generator also takes a label and starts from
            the latent concatenated with the label's embedding (``layers.conditioning``).
        mask_classes: with K >= 2 mask classes, the generator makes image and mask pairs:
            its last layer emits 1 + K channels and ``PairOutput`` gives channel 0 the tanh
            and channels 1..K a softmax over the classes.
        mask_output: the generated masks as ``"soft"`` probabilities or
            ``"straight_through"`` one-hot (see ``layers.PairOutput``).

    Returns:
        A functional ``keras.Model`` from ``(batch, latent_dim)`` (and ``(batch,)`` int32
        labels) to ``(batch, resolution, resolution, 1 + mask_classes)``, channel 0 in
        ``[-1, 1]``.
    """
    doublings = int(math.log2(check_resolution(resolution) // BASE_RESOLUTION))
    check_width(width)
    channels = pair_channels(mask_classes)
    check_mask_output(mask_output)
    filters = scaled(GENERATOR_FILTERS, width)
    inputs, x = conditioning.generator_inputs(latent_dim, num_classes)
    x = keras.layers.Dense(BASE_RESOLUTION * BASE_RESOLUTION * filters,
                           kernel_initializer=INITIALIZER, name="dense")(x)
    x = keras.layers.Reshape((BASE_RESOLUTION, BASE_RESOLUTION, filters), name="reshape")(x)
    x = _bn("dense_bn")(x)
    skip = x = keras.layers.ReLU(name="dense_relu")(x)
    for i in range(1, GENERATOR_BLOCKS + 1):
        block = f"res{i}"
        y = _conv(filters, f"{block}_conv1", use_bias=False)(x)
        y = _bn(f"{block}_bn1")(y)
        y = keras.layers.ReLU(name=f"{block}_relu")(y)
        y = _conv(filters, f"{block}_conv2", use_bias=False)(y)
        y = _bn(f"{block}_bn2")(y)
        x = keras.layers.Add(name=f"{block}_add")([x, y])
    x = _conv(filters, "trunk_conv", use_bias=False)(x)
    x = _bn("trunk_bn")(x)
    x = keras.layers.Add(name="long_skip")([skip, x])
    for i in range(1, doublings + 1):
        block = f"up{i}"
        x = _conv(filters * UPSCALE**2, f"{block}_conv", use_bias=False,
                  initializer=ICNR(UPSCALE, INITIALIZER))(x)
        x = PixelShuffle(UPSCALE, name=f"{block}_shuffle")(x)
        x = _bn(f"{block}_bn")(x)
        x = keras.layers.ReLU(name=f"{block}_relu")(x)
    images = _conv(channels, "to_image", kernel_size=OUTPUT_KERNEL_SIZE,
                   activation=None if mask_classes else "tanh")(x)
    images = pair_output(images, mask_classes, "tanh", mask_output)
    return keras.Model(inputs, images, name=name)


def build_discriminator(
    resolution=256, width=1.0, minibatch_stddev=False, group_size=4, num_classes=0,
    mask_classes=0, name="srresnet_discriminator",
):
    """The residual SRResNet discriminator, without batch normalization.

    A stride-2 3 x 3 convolution with LeakyReLU(0.2) halves the side each time, down to 2 x 2;
    the filters double each time, reaching 2048 at 2 x 2 (so 32 after the first halving of a
    256 x 256 image). After every halving down to 4 x 4 come two residual blocks
    (conv-LReLU-conv plus the identity, then LReLU). One dense layer maps the last feature map
    to the raw score.

    Args:
        resolution: input side, a power of two from 16 to 1024.
        width: multiplier of every filter count.
        minibatch_stddev: add the minibatch standard-deviation layer before the dense layer
            (the paper's SRResNet has none).
        group_size: its group size.
        num_classes: with K >= 2 classes, a projection discriminator: it also takes a label,
            and adds the inner product of the label's embedding with its last features to the
            score.
        mask_classes: with K >= 2 mask classes, the discriminator scores image and mask
            pairs: its input has 1 + K channels.

    Returns:
        A functional ``keras.Model`` from ``(batch, resolution, resolution, 1 +
        mask_classes)`` (and ``(batch,)`` int32 labels) to ``(batch, 1)``.
    """
    check_resolution(resolution)
    check_width(width)
    images = keras.Input((resolution, resolution, pair_channels(mask_classes)), name="image")
    inputs, labels = conditioning.discriminator_inputs(images, num_classes)
    x = images
    side = resolution
    while side > FINAL_RESOLUTION:
        side //= 2
        filters = scaled(FINAL_FILTERS * FINAL_RESOLUTION // side, width)
        x = _conv(filters, f"down{side}_conv", strides=2)(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"down{side}_lrelu")(x)
        if side < 2 * FINAL_RESOLUTION:
            continue
        for i in range(1, BLOCKS_PER_LEVEL + 1):
            block = f"res{side}_{i}"
            y = _conv(filters, f"{block}_conv1")(x)
            y = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{block}_lrelu1")(y)
            y = _conv(filters, f"{block}_conv2")(y)
            x = keras.layers.Add(name=f"{block}_add")([x, y])
            x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{block}_lrelu2")(x)
    if minibatch_stddev:
        x = MinibatchStdDev(group_size, name="minibatch_stddev")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    scores = keras.layers.Dense(1, kernel_initializer=INITIALIZER, name="score")(x)
    scores = conditioning.projection_scores(x, scores, labels, num_classes)
    return keras.Model(inputs, scores, name=name)
