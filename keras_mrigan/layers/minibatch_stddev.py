import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mrigan")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as one extra feature map.

    Images are split into groups of ``group_size``; within each group the standard deviation
    of every feature over the group is averaged into one number, which is broadcast to a
    constant feature map for the group's images. A generator that collapses to few modes
    produces small values here, which the discriminator learns to penalize. The paper calls
    this the "mini-batch similarity layer" and finds it essential.

    Reference: Karras et al. 2018, "Progressive Growing of GANs", §3.

    Args:
        group_size: images per group; the batch size must be a multiple of it (a smaller
            batch forms a single group).
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(group_size, int) or group_size < 2:
            raise ValueError(
                f"`group_size` must be an integer >= 2. Received: group_size={group_size!r}"
            )
        self.group_size = group_size

    def call(self, inputs):
        batch = inputs.shape[0]
        if batch is None:
            batch = ops.shape(inputs)[0]
            group = ops.minimum(self.group_size, batch)
        else:
            group = min(self.group_size, batch)
            if batch % group:
                raise ValueError(
                    f"MinibatchStdDev: the batch size ({batch}) must be a multiple of "
                    f"group_size={self.group_size}. Choose a batch size that is a multiple "
                    "of the group size, or change `group_size`."
                )
        height, width, channels = inputs.shape[1:]
        # In float32 under mixed precision: 1e-8 is 0 in float16, and sqrt(0) has an infinite
        # slope (a batch of identical images would give NaN gradients).
        x = ops.reshape(ops.cast(inputs, "float32"), (group, -1, height, width, channels))
        x = x - ops.mean(x, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(x), axis=0) + 1e-8)  # (batch / group, H, W, C)
        std = ops.mean(std, axis=(1, 2, 3), keepdims=True)  # (batch / group, 1, 1, 1)
        std = ops.tile(std, (group, height, width, 1))  # Image i belongs to group i % (B/G).
        return ops.concatenate([inputs, ops.cast(std, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
