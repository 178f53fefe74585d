"""The modulated convolution of StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN", §2.2, eq. 1-3).

A style vector ``s`` (one number per input channel, an affine function of the intermediate
latent ``w``) scales the kernel's input channels, and demodulation rescales every output
channel so that, for unit-variance inputs, the outputs have unit variance again:

    w'_ijk = s_i * w_ijk,        w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps).

Each image of a batch has its own kernel. The layer computes the same thing without forming
per-image kernels (StyleGAN2's "non-fused" form): the input is scaled by ``s``, convolved with
the shared kernel, and the output scaled by the demodulation coefficients, which is an
ordinary convolution and runs at full speed on a CPU.
"""

import math

import keras
from keras import ops

from keras_mrigan.utils import check_positive_int


@keras.saving.register_keras_serializable(package="keras_mrigan")
class ModulatedConv2D(keras.layers.Layer):
    """A stride-1, "same"-padded convolution modulated by a style, called on ``[x, w]``.

    The kernel and the style's affine map have an equalized learning rate (weights from
    N(0, 1), scaled by ``1 / sqrt(fan_in)`` at run time); the affine map's bias starts at 1,
    so the initial style leaves the kernel as it is.

    Reference: Karras et al. 2020, StyleGAN2, §2.2.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel (3, or 1 for the to-image layers).
        demodulate: rescale every output channel to unit expected variance (the to-image
            layers do not).
        upsample: double the input's side first (bilinear, the [1, 3, 3, 1] filter of
            StyleGAN2's upsampling).
        use_bias: add a bias (initialized to 0) after the demodulation.
        epsilon: added under the square root of the demodulation.
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, upsample=False, use_bias=True,
                 epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)
        self.use_bias = bool(use_bias)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        image_shape, style_shape = input_shape
        channels, style_dim = int(image_shape[-1]), int(style_shape[-1])
        k = self.kernel_size
        normal = keras.initializers.RandomNormal(0.0, 1.0)
        self.kernel = self.add_weight(shape=(k, k, channels, self.filters), initializer=normal,
                                      name="kernel")
        self.kernel_scale = 1.0 / math.sqrt(k * k * channels)
        self.style_kernel = self.add_weight(shape=(style_dim, channels), initializer=normal,
                                            name="style_kernel")
        self.style_scale = 1.0 / math.sqrt(style_dim)
        self.style_bias = self.add_weight(shape=(channels,), initializer="ones",
                                          name="style_bias")
        self.bias = (self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
                     if self.use_bias else None)

    def styles(self, w):
        """The per-image input-channel scales ``s = A(w)``, ``(batch, channels)``."""
        return ops.matmul(w, self.style_kernel * self.style_scale) + self.style_bias

    def call(self, inputs):
        x, w = inputs
        styles = ops.cast(self.styles(ops.cast(w, self.compute_dtype)), x.dtype)
        kernel = ops.cast(self.kernel * self.kernel_scale, x.dtype)
        x = x * styles[:, None, None, :]
        if self.upsample:
            height, width = x.shape[1], x.shape[2]
            x = ops.image.resize(x, (2 * height, 2 * width), interpolation="bilinear")
        x = ops.conv(x, kernel, padding="same")
        if self.demodulate:
            # sum over the kernel window and input channels of (s_i w_ijk)^2, per output j.
            energy = ops.matmul(ops.square(ops.cast(styles, "float32")),
                                ops.sum(ops.square(ops.cast(kernel, "float32")), axis=(0, 1)))
            x = x * ops.cast(ops.rsqrt(energy + self.epsilon), x.dtype)[:, None, None, :]
        if self.use_bias:
            x = x + ops.cast(self.bias, x.dtype)
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        if self.upsample:
            height = None if height is None else 2 * height
            width = None if width is None else 2 * width
        return (batch, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "demodulate": self.demodulate,
                "upsample": self.upsample, "use_bias": self.use_bias, "epsilon": self.epsilon}
