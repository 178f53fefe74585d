"""Small building blocks shared by the architectures."""

from keras_mrigan.layers.minibatch_stddev import MinibatchStdDev

__all__ = ["MinibatchStdDev"]
