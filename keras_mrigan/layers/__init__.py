"""Small building blocks shared by the architectures."""

from keras_mrigan.layers.conditioning import Projection
from keras_mrigan.layers.constant_input import ConstantInput
from keras_mrigan.layers.equalized import EqualizedConv2D, EqualizedDense
from keras_mrigan.layers.icnr import ICNR
from keras_mrigan.layers.minibatch_stddev import MinibatchStdDev
from keras_mrigan.layers.modulated_conv import ModulatedConv2D
from keras_mrigan.layers.noise import NoiseInjection
from keras_mrigan.layers.pair_output import PairOutput
from keras_mrigan.layers.pixel_norm import PixelNorm
from keras_mrigan.layers.pixel_shuffle import PixelShuffle
from keras_mrigan.layers.weighted_sum import WeightedSum

__all__ = [
    "ConstantInput",
    "EqualizedConv2D",
    "EqualizedDense",
    "ICNR",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseInjection",
    "PairOutput",
    "PixelNorm",
    "PixelShuffle",
    "Projection",
    "WeightedSum",
]
