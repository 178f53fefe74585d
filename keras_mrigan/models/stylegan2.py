"""StyleGAN2 networks (Karras et al. 2020), sized for CPUs: the style-based generator with
modulated convolutions, noise inputs and a skip output; the residual discriminator.

Generator: the latent (with a conditional GAN's label embedding) is pixel-normalized and
mapped by ``mapping_layers`` dense layers to the intermediate latent ``w``. Synthesis starts
from a learned 4 x 4 constant; at every resolution two 3 x 3 modulated, demodulated
convolutions (the first doubling the side), each followed by per-pixel noise and LeakyReLU,
and a 1 x 1 modulated convolution to a gray image (``to_image_R``). The output is the sum of
the per-resolution images, each upsampled (bilinearly) to the output side: the "skip"
generator of the paper's Figure 7.

Discriminator: ``from_image_R`` (1 x 1), then per resolution a residual block (3 x 3
convolution, 2 x 2 average pooling, 3 x 3 convolution; the shortcut pools and applies a 1 x 1
convolution; the sum is scaled by 1/sqrt(2)), down to 4 x 4, where the minibatch standard
deviation, a 3 x 3 convolution and two dense layers give the score. No normalization layers:
it suits per-sample gradient penalties (R1). Every weight has an equalized learning rate.

Layers are named by resolution (``g16_conv1``, ``to_image_16``, ``d16_conv1``).

Reference: Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN",
§2 and Figure 7 (b: skip generator, c: residual discriminator).
"""

import math

import keras

from keras_mrigan.data.preprocess import check_resolution
from keras_mrigan.layers import (
    ConstantInput,
    EqualizedConv2D,
    EqualizedDense,
    ModulatedConv2D,
    NoiseInjection,
    PixelNorm,
    conditioning,
)
from keras_mrigan.layers.pair_output import check_mask_output, pair_channels, pair_output
from keras_mrigan.models.dcgan import check_width, scaled
from keras_mrigan.models.progan import (
    START_RESOLUTION,
    critic_head,
    leaky_relu,
    stage_resolutions,
)
from keras_mrigan.utils import check_positive_int

# Feature maps per resolution as in StyleGAN2's configurations: CHANNEL_BASE / resolution,
# at most MAX_CHANNELS (512 at 4 ... 32, 256 at 64, 128 at 128, 64 at 256), times the width.
CHANNEL_BASE = 16384
MAX_CHANNELS = 512
MAPPING_LAYERS = 2  # StyleGAN2 uses 8; 2 suffice for small data (StyleGAN2-ADA's cifar: 2).
MAPPING_LR_MULTIPLIER = 0.01


def channels_at(resolution, width=1.0):
    """Feature maps of the blocks at ``resolution``."""
    return scaled(min(CHANNEL_BASE // resolution, MAX_CHANNELS), width)


def _resolutions(resolution):
    """4, 8, ..., ``resolution`` (a power of two from 16 to 1024)."""
    return stage_resolutions(check_resolution(resolution))


def build_generator(resolution=256, latent_dim=512, width=1.0, num_classes=0,
                    mapping_layers=MAPPING_LAYERS, mask_classes=0, mask_output="soft",
                    name="stylegan2_generator"):
    """The skip generator.

    Args:
        resolution: output side, a power of two from 16 to 1024.
        latent_dim: length of the latent and of the intermediate latent ``w``.
        width: multiplier of every filter count.
        num_classes: with K >= 2 classes, the generator also takes a label; the mapping
            network starts from the latent concatenated with the label's embedding.
        mapping_layers: dense layers of the mapping network.
        mask_classes: with K >= 2 mask classes, the generator makes image and mask pairs:
            its last layer emits 1 + K channels and ``PairOutput`` gives channel 0 the identity
            and channels 1..K a softmax over the classes.
        mask_output: the generated masks as ``"soft"`` probabilities or
            ``"straight_through"`` one-hot (see ``layers.PairOutput``).
            Every ``to_image_R`` emits the 1 + K channels; their upsampled sum goes through
            ``PairOutput``.

    Returns:
        A functional ``keras.Model`` from ``(batch, latent_dim)`` (and ``(batch,)`` int32
        labels) to ``(batch, resolution, resolution, 1 + mask_classes)`` (channel 0 linear;
        about ``[-1, 1]``).
    """
    check_width(width)
    channels = pair_channels(mask_classes)
    check_mask_output(mask_output)
    check_positive_int(mapping_layers, "mapping_layers")
    inputs, w = conditioning.generator_inputs(latent_dim, num_classes)
    w = PixelNorm(name="latent_norm")(w)
    for i in range(mapping_layers):
        w = EqualizedDense(latent_dim, lr_multiplier=MAPPING_LR_MULTIPLIER,
                           name=f"mapping{i + 1}")(w)
        w = leaky_relu(f"mapping{i + 1}_lrelu")(w)
    x = ConstantInput(channels_at(START_RESOLUTION, width), START_RESOLUTION, name="const")(w)
    x = _style_layer(x, w, channels_at(START_RESOLUTION, width), "g4_conv")
    image = _to_image(x, w, START_RESOLUTION, channels)
    for r in _resolutions(resolution)[1:]:
        x = _style_layer(x, w, channels_at(r, width), f"g{r}_conv1", upsample=True)
        x = _style_layer(x, w, channels_at(r, width), f"g{r}_conv2")
        image = keras.layers.UpSampling2D(interpolation="bilinear", name=f"g{r}_image_up")(image)
        image = keras.layers.Add(name=f"g{r}_image")([image, _to_image(x, w, r, channels)])
    image = pair_output(image, mask_classes, "linear", mask_output)
    return keras.Model(inputs, image, name=name)


def _style_layer(x, w, filters, name, upsample=False):
    x = ModulatedConv2D(filters, 3, upsample=upsample, name=name)([x, w])
    x = NoiseInjection(name=f"{name}_noise")(x)
    return leaky_relu(f"{name}_lrelu")(x)


def _to_image(x, w, resolution, channels=1):
    return ModulatedConv2D(channels, 1, demodulate=False, name=f"to_image_{resolution}")([x, w])


def build_discriminator(resolution=256, width=1.0, minibatch_stddev=True, group_size=4,
                        num_classes=0, mask_classes=0, name="stylegan2_discriminator"):
    """The residual discriminator.

    Args:
        resolution: input side, a power of two from 16 to 1024.
        width: multiplier of every filter count.
        minibatch_stddev: add the minibatch standard-deviation layer at 4 x 4.
        group_size: its group size.
        num_classes: with K >= 2 classes, a projection discriminator.
        mask_classes: with K >= 2 mask classes, the discriminator scores image and mask
            pairs: its input has 1 + K channels.

    Returns:
        A functional ``keras.Model`` from ``(batch, resolution, resolution, 1 +
        mask_classes)`` (and ``(batch,)`` int32 labels) to ``(batch, 1)``.
    """
    check_width(width)
    images = keras.Input((resolution, resolution, pair_channels(mask_classes)), name="image")
    inputs, labels = conditioning.discriminator_inputs(images, num_classes)
    x = EqualizedConv2D(channels_at(resolution, width), 1, name=f"from_image_{resolution}")(
        images)
    x = leaky_relu(f"from_image_{resolution}_lrelu")(x)
    for r in reversed(_resolutions(resolution)[1:]):
        low = channels_at(r // 2, width)
        skip = keras.layers.AveragePooling2D(2, name=f"d{r}_skip_down")(x)
        skip = EqualizedConv2D(low, 1, gain=1.0, use_bias=False, name=f"d{r}_skip")(skip)
        x = leaky_relu(f"d{r}_conv1_lrelu")(EqualizedConv2D(channels_at(r, width), 3,
                                                        name=f"d{r}_conv1")(x))
        x = keras.layers.AveragePooling2D(2, name=f"d{r}_down")(x)
        x = leaky_relu(f"d{r}_conv2_lrelu")(EqualizedConv2D(low, 3, name=f"d{r}_conv2")(x))
        x = keras.layers.Add(name=f"d{r}_add")([x, skip])
        x = keras.layers.Rescaling(1 / math.sqrt(2), name=f"d{r}_out")(x)
    scores = critic_head(x, labels, num_classes, channels_at(START_RESOLUTION, width), 3,
                         minibatch_stddev, group_size)
    return keras.Model(inputs, scores, name=name)
