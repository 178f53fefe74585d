import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mrigan")
class PixelShuffle(keras.layers.Layer):
    """Turns channels into pixels: ``(H, W, C * s^2)`` to ``(H * s, W * s, C)``.

    The sub-pixel upsampling of Shi et al. 2016 that SRResNet (Ledig et al. 2017) uses after a
    convolution with ``s^2`` times the filters; identical to ``tf.nn.depth_to_space`` in NHWC
    layout (channel ``(i * s + j) * C + c`` becomes pixel offset ``(i, j)`` of channel ``c``).

    Args:
        scale: upsampling factor ``s``.
    """

    def __init__(self, scale=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(scale, int) or scale < 2:
            raise ValueError(f"`scale` must be an integer >= 2. Received: scale={scale!r}")
        self.scale = scale

    def call(self, inputs):
        s = self.scale
        height, width, channels = inputs.shape[1:]
        if channels % (s * s):
            raise ValueError(
                f"PixelShuffle(scale={s}) needs a channel count divisible by {s * s}; "
                f"received {channels}."
            )
        out = channels // (s * s)
        x = ops.reshape(inputs, (-1, height, width, s, s, out))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height * s, width * s, out))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        s = self.scale
        return (batch, height * s, width * s, channels // (s * s))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
