"""The learned constant a style-based generator starts from (Karras et al. 2019, §2)."""

import keras
from keras import ops

from keras_mrigan.utils import check_positive_int


@keras.saving.register_keras_serializable(package="keras_mrigan")
class ConstantInput(keras.layers.Layer):
    """A learned ``(size, size, channels)`` tensor (initially N(0, 1)), repeated for every
    image of the batch of its input (any tensor whose first axis is the batch).

    Args:
        channels: feature maps of the constant.
        size: its side (4 in StyleGAN).
    """

    def __init__(self, channels, size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = check_positive_int(channels, "channels")
        self.size = check_positive_int(size, "size")

    def build(self, input_shape):
        self.constant = self.add_weight(
            shape=(1, self.size, self.size, self.channels), name="constant",
            initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        return ops.tile(ops.cast(self.constant, self.compute_dtype), (batch, 1, 1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}
