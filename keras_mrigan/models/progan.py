"""Progressive GAN networks (paper §2.1, after Karras et al. 2018) and their growth schedule.

Both networks start at 4 x 4 and double their resolution one stage at a time. The network of a
stage at resolution ``R > 4`` carries a fade-in: the generator mixes the upsampled image of the
previous stage's to-image layer with that of the new block, the discriminator mixes the new
block's features with those of the previous stage's from-image layer on the downsampled image,
both through a ``WeightedSum`` whose ``alpha`` the ``FadeIn`` callback raises from 0 to 1. With
``alpha = 1`` the stage network computes exactly the plain network at ``R``.

Layers are named by resolution (``g8_conv1``, ``to_image_8``, ``from_image_8``, ``d8_conv1``),
so growing copies every weight of the previous stage into the next by name.
"""

import dataclasses
import math

import keras

from keras_mrigan.layers import (
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    PixelNorm,
    WeightedSum,
    conditioning,
)
from keras_mrigan.layers.pair_output import check_mask_output, pair_channels, pair_output
from keras_mrigan.models.dcgan import LEAKY_SLOPE, check_kernel_size, check_width, scaled

PROGRESSIVE = True
START_RESOLUTION = 4
MAX_RESOLUTION = 1024
KERNEL_SIZE = 5  # Paper: 5 x 5 convolutions.
# Filters per resolution, as in the paper's code: 512 at 4 and 8, then halving down to 16 at 256.
BASE_FILTERS = 512
FULL_FILTERS_UNTIL = 8
MIN_FILTERS = 1


def filters_at(resolution, width=1.0):
    """Feature maps of the blocks at ``resolution`` (512, 512, 256, ..., 16 for 4 ... 256)."""
    full = BASE_FILTERS * FULL_FILTERS_UNTIL // max(resolution, FULL_FILTERS_UNTIL)
    return scaled(max(full, MIN_FILTERS), width)


def check_stage_resolution(resolution):
    """A progressive stage's side: a power of two from 4 to 1024."""
    valid = (
        isinstance(resolution, int)
        and START_RESOLUTION <= resolution <= MAX_RESOLUTION
        and resolution & (resolution - 1) == 0
    )
    if not valid:
        raise ValueError(
            f"A progressive GAN's resolution must be a power of two from {START_RESOLUTION} "
            f"to {MAX_RESOLUTION}. Received: resolution={resolution!r}"
        )
    return resolution


def stage_resolutions(resolution):
    """The resolutions of a network from 4 x 4 up to ``resolution``: 4, 8, ..., resolution."""
    steps = int(math.log2(check_stage_resolution(resolution) // START_RESOLUTION))
    return [START_RESOLUTION * 2**i for i in range(steps + 1)]


def leaky_relu(name):
    """LeakyReLU(0.2), the activation of the progressive and style-based networks."""
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=name)


def build_generator(resolution=256, latent_dim=512, width=1.0, kernel_size=KERNEL_SIZE,
                    num_classes=0, mask_classes=0, mask_output="soft",
                    name="progan_generator"):
    """The progressive generator of the stage at ``resolution``.

    The latent is pixel-normalized, mapped by a dense layer to 4 x 4 feature maps, then one
    convolution at 4 x 4; each later block upsamples (nearest neighbour) and applies two
    convolutions. Every convolution is equalized, followed by LeakyReLU(0.2) and pixel
    normalization. A 1 x 1 convolution (``to_image_R``) gives the linear output image. Above
    4 x 4 the previous resolution's image is faded in through ``fade_in`` (a ``WeightedSum``
    starting at ``alpha = 0``).

    Args:
        resolution: the stage's output side, a power of two from 4 to 1024.
        latent_dim: latent length (paper: 512, normalized Gaussian).
        width: multiplier of every filter count.
        kernel_size: side of the square kernels of the convolutions (paper: 5).
        num_classes: with K >= 2 classes, the generator also takes a label and starts from
            the latent concatenated with the label's embedding (``layers.conditioning``).
        mask_classes: with K >= 2 mask classes, the generator makes image and mask pairs:
            its last layer emits 1 + K channels and ``PairOutput`` gives channel 0 the identity
            and channels 1..K a softmax over the classes.
        mask_output: the generated masks as ``"soft"`` probabilities or
            ``"straight_through"`` one-hot (see ``layers.PairOutput``).
            Every ``to_image_R`` emits the 1 + K channels; the fade-in mixes them before
            ``PairOutput``, which comes last.

    Returns:
        A functional ``keras.Model`` from ``(batch, latent_dim)`` (and ``(batch,)`` int32
        labels) to ``(batch, resolution, resolution, 1 + mask_classes)``.
    """
    check_width(width)
    check_kernel_size(kernel_size)
    channels = pair_channels(mask_classes)
    check_mask_output(mask_output)
    inputs, x = conditioning.generator_inputs(latent_dim, num_classes)
    x = PixelNorm(name="latent_norm")(x)
    f = filters_at(START_RESOLUTION, width)
    # Karras et al.'s gain for the first dense layer: sqrt(2) / 4.
    x = EqualizedDense(START_RESOLUTION**2 * f, gain=math.sqrt(2) / 4, name="g4_dense")(x)
    x = keras.layers.Reshape((START_RESOLUTION, START_RESOLUTION, f), name="g4_reshape")(x)
    x = PixelNorm(name="g4_dense_norm")(leaky_relu("g4_dense_lrelu")(x))
    x = EqualizedConv2D(f, kernel_size, name="g4_conv")(x)
    x = PixelNorm(name="g4_conv_norm")(leaky_relu("g4_conv_lrelu")(x))
    previous = None
    for r in stage_resolutions(resolution)[1:]:
        previous = x
        x = keras.layers.UpSampling2D(name=f"g{r}_up")(x)
        for i in (1, 2):
            x = EqualizedConv2D(filters_at(r, width), kernel_size, name=f"g{r}_conv{i}")(x)
            x = PixelNorm(name=f"g{r}_conv{i}_norm")(leaky_relu(f"g{r}_conv{i}_lrelu")(x))
    images = _to_image(resolution, channels)(x)
    if previous is not None:
        old = _to_image(resolution // 2, channels)(previous)
        old = keras.layers.UpSampling2D(name="fade_up")(old)
        images = WeightedSum(name="fade_in")([old, images])
    images = pair_output(images, mask_classes, "linear", mask_output)
    return keras.Model(inputs, images, name=name)


def _to_image(resolution, channels=1):
    return EqualizedConv2D(channels, 1, gain=1.0, name=f"to_image_{resolution}")


def build_discriminator(
    resolution=256, width=1.0, minibatch_stddev=True, group_size=4, kernel_size=KERNEL_SIZE,
    num_classes=0, mask_classes=0, name="progan_discriminator",
):
    """The progressive discriminator of the stage at ``resolution``.

    ``from_image_R`` (1 x 1 convolution, LeakyReLU) turns the image into feature maps; each
    block above 4 x 4 applies two convolutions (the second to the next block's filter count)
    and halves the side by average pooling. Above 4 x 4 the downsampled image's features from
    the previous stage's ``from_image`` are faded in through ``fade_in``. The 4 x 4 block has
    the minibatch standard-deviation layer, a convolution, a dense layer and the linear score.
    Every convolution and dense layer is equalized.

    Args:
        resolution: the stage's input side, a power of two from 4 to 1024.
        width: multiplier of every filter count.
        minibatch_stddev: add the minibatch standard-deviation layer.
        group_size: its group size.
        kernel_size: side of the square kernels of the convolutions (paper: 5).
        num_classes: with K >= 2 classes, a projection discriminator: it also takes a label,
            and adds the inner product of the label's embedding with its last features to the
            score.
        mask_classes: with K >= 2 mask classes, the discriminator scores image and mask
            pairs: its input has 1 + K channels.

    Returns:
        A functional ``keras.Model`` from ``(batch, resolution, resolution, 1 +
        mask_classes)`` (and ``(batch,)`` int32 labels) to ``(batch, 1)``.
    """
    check_width(width)
    check_kernel_size(kernel_size)
    images = keras.Input((resolution, resolution, pair_channels(mask_classes)), name="image")
    inputs, labels = conditioning.discriminator_inputs(images, num_classes)
    resolutions = stage_resolutions(resolution)
    x = _FromImage(resolution, width)(images)
    for r in reversed(resolutions[1:]):
        x = EqualizedConv2D(filters_at(r, width), kernel_size, name=f"d{r}_conv1")(x)
        x = leaky_relu(f"d{r}_conv1_lrelu")(x)
        x = EqualizedConv2D(filters_at(r // 2, width), kernel_size, name=f"d{r}_conv2")(x)
        x = leaky_relu(f"d{r}_conv2_lrelu")(x)
        x = keras.layers.AveragePooling2D(2, name=f"d{r}_down")(x)
        if r == resolution:
            old = keras.layers.AveragePooling2D(2, name="fade_down")(images)
            old = _FromImage(r // 2, width)(old)
            x = WeightedSum(name="fade_in")([old, x])
    scores = critic_head(x, labels, num_classes, filters_at(START_RESOLUTION, width),
                         kernel_size, minibatch_stddev, group_size)
    return keras.Model(inputs, scores, name=name)


def critic_head(x, labels, num_classes, filters, kernel_size, minibatch_stddev=True,
                group_size=4):
    """The 4 x 4 end of a progressive or style-based discriminator: the minibatch standard
    deviation, an equalized convolution, a dense layer and the linear score (with the
    projection of ``labels`` when conditional)."""
    if minibatch_stddev:
        x = MinibatchStdDev(group_size, name="minibatch_stddev")(x)
    x = leaky_relu("d4_conv_lrelu")(EqualizedConv2D(filters, kernel_size, name="d4_conv")(x))
    x = keras.layers.Flatten(name="flatten")(x)
    x = leaky_relu("d4_dense_lrelu")(EqualizedDense(filters, name="d4_dense")(x))
    scores = EqualizedDense(1, gain=1.0, name="score")(x)
    return conditioning.projection_scores(x, scores, labels, num_classes)


class _FromImage:
    """``from_image_R``: a 1 x 1 equalized convolution and LeakyReLU, as one callable."""

    def __init__(self, resolution, width):
        self.conv = EqualizedConv2D(filters_at(resolution, width), 1,
                                    name=f"from_image_{resolution}")
        self.act = leaky_relu(f"from_image_{resolution}_lrelu")

    def __call__(self, x):
        return self.act(self.conv(x))



def transfer_weights(source, target):
    """Copies the weights of every layer of ``source`` into the same-named layer of ``target``.

    Used when a progressive GAN grows: the new stage's networks receive all trained weights of
    the previous stage (its blocks and its to-image/from-image layers, which the fade-in path
    keeps using); only the new block and the new to-image/from-image layers start fresh.

    Returns:
        The names of the layers copied.
    """
    names = {layer.name: layer for layer in source.layers if layer.weights}
    copied = []
    for layer in target.layers:
        if layer.name in names and layer.weights:
            old = names[layer.name]
            shapes = [tuple(w.shape) for w in old.weights], [tuple(w.shape) for w in layer.weights]
            if shapes[0] != shapes[1]:
                raise ValueError(
                    f"Cannot grow: layer {layer.name!r} has weights {shapes[0]} in "
                    f"{source.name!r} but {shapes[1]} in {target.name!r}."
                )
            layer.set_weights(old.get_weights())
            copied.append(layer.name)
    return copied


@dataclasses.dataclass(frozen=True)
class Stage:
    """One resolution of a progressive run, in epochs of the whole run.

    Epochs ``[start, fade_stop)`` fade the new block in, ``[fade_stop, stop)`` stabilize it.
    """

    resolution: int
    start: int
    fade_stop: int
    stop: int

    @property
    def fade_epochs(self):
        return self.fade_stop - self.start


def growth_schedule(resolution, phase_epochs, epochs=None):
    """The stages of a progressive run from 4 x 4 to ``resolution``.

    Every phase lasts ``phase_epochs``: the 4 x 4 stage has one (stabilize), every later stage
    two (fade in, then stabilize); 4 -> 256 has 13 phases, as in the paper. If ``epochs`` is
    larger than the phases' total, the last stage trains on until then.

    Returns:
        A list of ``Stage``.
    """
    if not isinstance(phase_epochs, int) or phase_epochs < 1:
        raise ValueError(f"`phase_epochs` must be a positive integer. Received: {phase_epochs!r}")
    stages, epoch = [], 0
    for r in stage_resolutions(resolution):
        fade = 0 if r == START_RESOLUTION else phase_epochs
        stages.append(Stage(r, epoch, epoch + fade, epoch + fade + phase_epochs))
        epoch = stages[-1].stop
    if epochs is not None:
        if epochs < epoch:
            raise ValueError(
                f"A progressive run to {resolution}x{resolution} with {phase_epochs} epochs "
                f"per phase needs at least {epoch} epochs ({2 * len(stages) - 1} phases). "
                f"Received: epochs={epochs}"
            )
        stages[-1] = dataclasses.replace(stages[-1], stop=epochs)
    return stages
