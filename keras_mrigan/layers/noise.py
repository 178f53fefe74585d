"""Per-pixel noise inputs of a style-based generator (Karras et al. 2019, §3.2)."""

import keras
from keras import ops

from keras_mrigan.replicas import local_slice, num_replicas
from keras_mrigan.utils import SavesSeedState


@keras.saving.register_keras_serializable(package="keras_mrigan")
class NoiseInjection(SavesSeedState, keras.layers.Layer):
    """Adds one map of Gaussian noise per image, scaled by a learned strength (initially 0).

    In training every call draws fresh noise from the layer's own seeded generator (drawn for
    the global batch and sliced per replica, so that several replicas draw what one device
    would; the generator's state is saved with the model, so a resumed run draws what an
    uninterrupted one would). In inference the layer adds one fixed map drawn when it was
    built, so that a latent always gives the same image (StyleGAN2's ``noise_mode="const"``),
    in Keras, in a ``.keras`` file and in an exported SavedModel alike.

    Reference: Karras et al. 2019, "A Style-Based Generator Architecture for GANs", §3.2.

    Args:
        seed: seed of the training noise (``None``: drawn from Keras' global seed).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        _, height, width, _ = input_shape
        self.strength = self.add_weight(shape=(), initializer="zeros", name="strength")
        self.fixed_noise = self.add_weight(
            shape=(1, height, width, 1), trainable=False, name="fixed_noise",
            initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, inputs, training=False):
        if training:
            shape = ops.shape(inputs)
            noise = keras.random.normal((shape[0] * num_replicas(), shape[1], shape[2], 1),
                                        seed=self.seed_generator)
            noise = local_slice(noise)
        else:
            noise = self.fixed_noise
        return inputs + ops.cast(self.strength * noise, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
