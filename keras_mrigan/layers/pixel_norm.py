import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mrigan")
class PixelNorm(keras.layers.Layer):
    """Scales every pixel's feature vector to unit mean square (Karras et al. 2018, §4.2).

    ``y = x / sqrt(mean_c(x^2) + epsilon)``, over the channel axis, separately for each pixel.
    A progressive generator uses it after every convolution (and on the latent) so that no
    feature magnitude can run away while the discriminator and the generator compete.

    Args:
        epsilon: added to the mean square before the square root.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        # The mean square in float32: under mixed float16, epsilon (1e-8) would round to 0.
        x = ops.cast(inputs, "float32")
        scale = ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        return inputs * ops.cast(scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
