import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mrigan")
class WeightedSum(keras.layers.Layer):
    """The fade-in of a progressive GAN: ``(1 - alpha) * old + alpha * new``.

    ``alpha`` is a non-trainable variable, so a callback (``FadeIn``) can move it batch by batch
    while the compiled train step keeps reading the current value: no retracing. It is saved
    with the model's weights, so a resumed run continues with the same mix.

    Call it on ``[old, new]``, two tensors of the same shape: the output of the previous
    resolution's path (upsampled or downsampled to match) and that of the new block.

    Args:
        alpha: initial weight of the new path (0: the old path alone; 1: the new one alone).
    """

    def __init__(self, alpha=0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
        self.initial_alpha = float(alpha)
        self.alpha = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_alpha),
            trainable=False, name="alpha",
        )

    def call(self, inputs):
        old, new = inputs
        alpha = ops.cast(self.alpha, old.dtype)
        return old + alpha * (new - old)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "alpha": self.initial_alpha}
