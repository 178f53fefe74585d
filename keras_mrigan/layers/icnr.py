import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mrigan")
class ICNR(keras.initializers.Initializer):
    """ICNR initialization of the convolution before a ``PixelShuffle`` (Aitken et al. 2017,
    "Checkerboard artifact free sub-pixel convolution").

    The kernel's ``C * s^2`` output channels are ``s^2`` copies of ``C`` channels drawn from
    ``initializer``, ordered so that ``PixelShuffle(s)`` puts the same value on the ``s x s``
    pixels that one input pixel becomes: at the start, convolution plus pixel shuffle is a
    convolution followed by nearest-neighbour upsampling, free of the checkerboard that
    independent sub-pixel kernels give.

    Args:
        scale: the pixel shuffle's factor ``s``.
        initializer: the initializer of the ``C`` distinct channels.

    Reference:
        Aitken, Ledig, Theis, Caballero, Wang, Shi. "Checkerboard artifact free sub-pixel
        convolution: A note on sub-pixel convolution, resize convolution and convolution
        resize", arXiv:1707.02937, 2017.
    """

    def __init__(self, scale=2, initializer="he_normal"):
        if not isinstance(scale, int) or scale < 2:
            raise ValueError(f"`scale` must be an integer >= 2. Received: scale={scale!r}")
        self.scale = scale
        self.initializer = keras.initializers.get(initializer)

    def __call__(self, shape, dtype=None):
        *window, channels = shape
        copies = self.scale**2
        if channels % copies:
            raise ValueError(f"ICNR(scale={self.scale}) needs output channels divisible by "
                             f"{copies}. Received: shape={tuple(shape)}")
        # PixelShuffle sends channel (i * s + j) * C + c to offset (i, j) of channel c.
        base = self.initializer((*window, channels // copies), dtype=dtype)
        return ops.tile(base, [1] * len(window) + [copies])

    def get_config(self):
        return {"scale": self.scale,
                "initializer": keras.initializers.serialize(self.initializer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["initializer"] = keras.initializers.deserialize(config["initializer"])
        return cls(**config)
