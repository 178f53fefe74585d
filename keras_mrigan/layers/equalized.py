"""Convolution and dense layers with an equalized learning rate (Karras et al. 2018, §4.1).

Weights are drawn from N(0, 1) and multiplied at every call by He's constant
``gain / sqrt(fan_in)``. The scaled network computes what a He-initialized one would, but
Adam's per-parameter step is now the same relative size for every layer, whatever its fan-in.
"""

import math

import keras
from keras import ops

HE_GAIN = math.sqrt(2.0)


class _Equalized(keras.layers.Layer):
    """Shared parts: the N(0, 1) kernel, the run-time scale and the bias."""

    def __init__(self, units, gain=HE_GAIN, use_bias=True, lr_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"The filter/unit count must be a positive integer. Got {units!r}")
        if not lr_multiplier > 0:
            raise ValueError("`lr_multiplier` must be > 0. "
                             f"Received: lr_multiplier={lr_multiplier!r}")
        self.units = units
        self.gain = float(gain)
        self.use_bias = use_bias
        self.lr_multiplier = float(lr_multiplier)

    def _make_weights(self, kernel_shape, fan_in):
        # With a learning-rate multiplier m the stored kernel is N(0, 1/m^2) and is scaled by
        # m at run time: the same initial function, with steps m times smaller.
        self.scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier
        self.kernel = self.add_weight(
            shape=kernel_shape,
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
            if self.use_bias else None
        )

    def _finish(self, outputs):
        if not self.use_bias:
            return outputs
        return outputs + (self.bias * self.lr_multiplier if self.lr_multiplier != 1 else self.bias)

    def get_config(self):
        config = {**super().get_config(), "gain": self.gain, "use_bias": self.use_bias}
        if self.lr_multiplier != 1:  # Configs of layers without one stay as they were.
            config["lr_multiplier"] = self.lr_multiplier
        return config


@keras.saving.register_keras_serializable(package="keras_mrigan")
class EqualizedDense(_Equalized):
    """A dense layer whose kernel is scaled by ``gain / sqrt(input features)`` at run time.

    Args:
        units: output features.
        gain: the scale's numerator (``sqrt(2)``: He's, for a ReLU-like activation next).
        use_bias: add a bias (initialized to 0).
        lr_multiplier: scales the layer's effective learning rate (StyleGAN's mapping
            network: 0.01), by storing weights ``1 / lr_multiplier`` times larger and scaling
            them back at run time.
    """

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self._make_weights((fan_in, self.units), fan_in)

    def call(self, inputs):
        return self._finish(ops.matmul(inputs, self.kernel * self.scale))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="keras_mrigan")
class EqualizedConv2D(_Equalized):
    """A stride-1, "same"-padded 2-D convolution with a run-time scaled kernel.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel.
        gain: the scale's numerator; the fan-in is ``kernel_size^2 * input channels``.
        use_bias: add a bias (initialized to 0).
    """

    def __init__(self, filters, kernel_size, gain=HE_GAIN, use_bias=True, **kwargs):
        super().__init__(filters, gain=gain, use_bias=use_bias, **kwargs)
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"`kernel_size` must be a positive integer. Got {kernel_size!r}")
        self.kernel_size = kernel_size

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self._make_weights((k, k, channels, self.units), k * k * channels)

    def call(self, inputs):
        return self._finish(ops.conv(inputs, self.kernel * self.scale, padding="same"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "filters": self.units, "kernel_size": self.kernel_size}
