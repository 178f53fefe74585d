"""DCGAN networks (Radford et al. 2016), laid out as the paper's Tables 1 and 2."""

import math

import keras

from keras_mrigan.data.preprocess import check_resolution
from keras_mrigan.layers import MinibatchStdDev, conditioning
from keras_mrigan.layers.pair_output import check_mask_output, pair_channels, pair_output

# Paper values (Tables 1-2, §2.1); presets and defaults refer to these names.
BASE_RESOLUTION = 8  # Both networks work at 8 x 8 at their narrow end.
KERNEL_SIZE = 5
GENERATOR_FILTERS = 256  # Dense output and the three double stages of Table 1.
DOUBLE_STAGES = 3  # Table 1: stride-2 then stride-1 transposed convolution, three times.
DISCRIMINATOR_FILTERS = 64  # First convolution of Table 2, doubled at every stage.
MAX_DISCRIMINATOR_FILTERS = 1024
DENSE_UNITS = 1024
LEAKY_SLOPE = 0.2
INIT_STDDEV = 0.02
# Moving-average momentum of batch normalization, as in the reference DCGAN code (decay 0.9).
# Keras' default (0.99) lags behind a generator whose weights change quickly, and samples drawn
# in inference mode then come out washed out.
BN_MOMENTUM = 0.9
# Upsampling of the generator: Table 1's transposed convolutions, or nearest-neighbour
# resizing followed by a convolution (Odena et al. 2016), free of the checkerboard pattern, or
# bilinear resizing followed by a convolution (smoother still: a 3 x 3 kernel after a
# nearest-neighbour doubling sees 2 x 2 blocks and can keep their edges).
UPSAMPLING = ("transpose", "resize", "bilinear")


def scaled(count, width):
    """A filter or unit count times the width multiplier (at least 1)."""
    return max(1, int(round(count * width)))


def _stages(resolution):
    return int(math.log2(check_resolution(resolution) // BASE_RESOLUTION))


def _init():
    return keras.initializers.RandomNormal(0.0, INIT_STDDEV)


def build_generator(resolution=256, latent_dim=256, width=1.0, batch_norm=True,
                    upsample="transpose", kernel_size=KERNEL_SIZE, num_classes=0,
                    mask_classes=0, mask_output="soft", name="dcgan_generator"):
    """The DCGAN generator of Table 1, for any power-of-two resolution.

    From the latent, a dense layer to 8 x 8 x 256, then per doubling of the resolution a 5 x 5
    transposed convolution of stride 2; the first three doublings are followed by a stride-1
    one at the same size (256 filters), the later ones halve the filters (128, 64, ...). A last
    stride-1 transposed convolution with tanh gives one channel. BatchNorm + ReLU everywhere
    else; weights from N(0, 0.02).

    Args:
        resolution: output side, a power of two from 16 to 1024.
        latent_dim: latent length (paper: 256).
        width: multiplier of every filter count (1.0 is the paper's; 0.125 makes a CPU toy).
        batch_norm: ``False`` drops the batch normalizations (the layers get biases instead).
        upsample: ``"transpose"`` (Table 1: 5 x 5 transposed convolutions of stride 2) or
            ``"resize"``: nearest-neighbour x2, then a 5 x 5 convolution, and convolutions
            for the stride-1 layers (Odena, Dumoulin and Olah 2016, "Deconvolution and
            checkerboard artifacts"); the same shapes and filter counts. ``"bilinear"``: the
            same with bilinear x2.
        kernel_size: side of every convolution's square kernel (paper: 5). 3 x 3 costs
            about 0.36 of the 5 x 5 arithmetic, for a smaller receptive field per layer.
        num_classes: with K >= 2 classes, the generator also takes a label and starts from
            the latent concatenated with the label's embedding (``layers.conditioning``).
        mask_classes: with K >= 2 mask classes, the generator makes image and mask pairs:
            its last convolution emits 1 + K channels and ``PairOutput`` gives channel 0 the
            tanh and channels 1..K a softmax over the classes.
        mask_output: the generated masks as ``"soft"`` probabilities or
            ``"straight_through"`` one-hot (see ``layers.PairOutput``).

    Returns:
        A functional ``keras.Model`` from ``(batch, latent_dim)`` (and ``(batch,)`` int32
        labels) to ``(batch, resolution, resolution, 1 + mask_classes)``, channel 0 in
        ``[-1, 1]``.
    """
    stages = _stages(resolution)
    check_width(width)
    channels = pair_channels(mask_classes)
    check_mask_output(mask_output)
    check_kernel_size(kernel_size)
    if upsample not in UPSAMPLING:
        raise ValueError(f"`upsample` must be one of {list(UPSAMPLING)}. "
                         f"Received: upsample={upsample!r}")
    resize = upsample != "transpose"
    convolution = keras.layers.Conv2D if resize else keras.layers.Conv2DTranspose
    inputs, x = conditioning.generator_inputs(latent_dim, num_classes)
    units = scaled(GENERATOR_FILTERS, width)
    x = keras.layers.Dense(BASE_RESOLUTION * BASE_RESOLUTION * units, use_bias=not batch_norm,
                           kernel_initializer=_init(), name="dense")(x)
    x = keras.layers.Reshape((BASE_RESOLUTION, BASE_RESOLUTION, units), name="reshape")(x)
    x = _bn_relu(x, "dense", batch_norm)
    filters = GENERATOR_FILTERS
    for stage in range(stages):
        strides = [2, 1] if stage < DOUBLE_STAGES else [2]
        if stage >= DOUBLE_STAGES:
            filters //= 2
        for i, stride in enumerate(strides):
            block = f"up{stage + 1}_{i + 1}"
            if resize and stride == 2:
                x = keras.layers.UpSampling2D(
                    2, interpolation="nearest" if upsample == "resize" else "bilinear",
                    name=f"{block}_up")(x)
                stride = 1
            x = convolution(
                scaled(filters, width), kernel_size, strides=stride, padding="same",
                use_bias=not batch_norm, kernel_initializer=_init(), name=f"{block}_conv",
            )(x)
            x = _bn_relu(x, block, batch_norm)
    images = convolution(
        channels, kernel_size, padding="same", activation=None if mask_classes else "tanh",
        kernel_initializer=_init(), name="to_image",
    )(x)
    images = pair_output(images, mask_classes, "tanh", mask_output)
    return keras.Model(inputs, images, name=name)


def build_discriminator(
    resolution=256, width=1.0, minibatch_stddev=True, group_size=4, batch_norm=True,
    kernel_size=KERNEL_SIZE, num_classes=0, mask_classes=0, name="dcgan_discriminator",
):
    """The DCGAN discriminator of Table 2, for any power-of-two resolution.

    5 x 5 convolutions of stride 2 from the image down to 8 x 8, with 64, 128, 256, ...
    filters (at most 1024), LeakyReLU(0.2), BatchNorm after all but the first; the
    minibatch standard-deviation layer; a dense layer of 1024 units with LeakyReLU; and a dense
    layer to one raw score. (Table 2's final sigmoid lives in the GAN and DRAGAN losses.)

    Args:
        resolution: input side, a power of two from 16 to 1024.
        width: multiplier of every filter and unit count.
        minibatch_stddev: add the minibatch standard-deviation layer (paper: essential).
        group_size: its group size; the training batch size must be a multiple of it.
        batch_norm: ``False`` drops the batch normalizations (the convolutions get biases),
            as a critic with a per-sample gradient penalty (WGAN-GP) should.
        kernel_size: side of every convolution's square kernel (paper: 5).
        num_classes: with K >= 2 classes, a projection discriminator: it also takes a label,
            and adds the inner product of the label's embedding with the dense features to
            the score.
        mask_classes: with K >= 2 mask classes, the discriminator scores image and mask
            pairs: its input has 1 + K channels.

    Returns:
        A functional ``keras.Model`` from ``(batch, resolution, resolution, 1 +
        mask_classes)`` (and ``(batch,)`` int32 labels) to ``(batch, 1)``.
    """
    stages = _stages(resolution)
    check_width(width)
    check_kernel_size(kernel_size)
    images = keras.Input((resolution, resolution, pair_channels(mask_classes)), name="image")
    inputs, labels = conditioning.discriminator_inputs(images, num_classes)
    x = images
    for stage in range(stages):
        filters = min(DISCRIMINATOR_FILTERS * 2**stage, MAX_DISCRIMINATOR_FILTERS)
        block = f"down{stage + 1}"
        x = keras.layers.Conv2D(scaled(filters, width), kernel_size, strides=2,
                                padding="same", use_bias=stage == 0 or not batch_norm,
                                kernel_initializer=_init(), name=f"{block}_conv")(x)
        if stage > 0 and batch_norm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{block}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{block}_lrelu")(x)
    if minibatch_stddev:
        x = MinibatchStdDev(group_size, name="minibatch_stddev")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(scaled(DENSE_UNITS, width), kernel_initializer=_init(),
                           name="dense")(x)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE, name="dense_lrelu")(x)
    scores = keras.layers.Dense(1, kernel_initializer=_init(), name="score")(x)
    scores = conditioning.projection_scores(x, scores, labels, num_classes)
    return keras.Model(inputs, scores, name=name)


def _bn_relu(x, block, batch_norm=True):
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{block}_bn")(x)
    return keras.layers.ReLU(name=f"{block}_relu")(x)


def check_width(width):
    """Rejects a width multiplier outside (0, 4]."""
    if not isinstance(width, (int, float)) or not 0 < width <= 4:
        raise ValueError(f"`width` must be a number in (0, 4]. Received: width={width!r}")


def check_kernel_size(kernel_size):
    """Rejects a kernel side that is not a positive odd integer (an even one would shift
    every "same" convolution by half a pixel)."""
    if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1
            or kernel_size % 2 == 0):
        raise ValueError("`kernel_size` must be a positive odd integer. "
                         f"Received: kernel_size={kernel_size!r}")
