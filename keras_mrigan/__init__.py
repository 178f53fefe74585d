"""keras_mrigan: generative adversarial networks that synthesize brain MRI slices.

Importing the package is cheap: TensorFlow and Keras load only when a name that needs them
is first used. Its Keras classes are registered as soon as Keras is loaded, so that
``keras.saving.load_model`` reads the package's ``.keras`` files after ``import keras_mrigan``.
"""

import importlib

from keras_mrigan import _registration

__version__ = "0.1.0"

# Public name -> module that defines it. Resolved lazily by ``__getattr__``.
_EXPORTS = {
    "DataError": "keras_mrigan.data.readers",
    "find_files": "keras_mrigan.data.readers",
    "read_image": "keras_mrigan.data.readers",
    "read_volume": "keras_mrigan.data.readers",
    "slice_volume": "keras_mrigan.data.readers",
    "iter_slice_stacks": "keras_mrigan.data.pipeline",
    "SliceOptions": "keras_mrigan.data.pipeline",
    "load_slices": "keras_mrigan.data.pipeline",
    "build_dataset": "keras_mrigan.data.pipeline",
    "resolution_view": "keras_mrigan.data.pipeline",
    "preview": "keras_mrigan.data.pipeline",
    "demo_cohort": "keras_mrigan.data.demo",
    "save_image_grid": "keras_mrigan.plotting",
    "GAN": "keras_mrigan.models.gan",
    "sample_latents": "keras_mrigan.models.gan",
    "seed_latents": "keras_mrigan.models.gan",
    "MinibatchStdDev": "keras_mrigan.layers",
    "PixelNorm": "keras_mrigan.layers",
    "EqualizedConv2D": "keras_mrigan.layers",
    "EqualizedDense": "keras_mrigan.layers",
    "WeightedSum": "keras_mrigan.layers",
    "PixelShuffle": "keras_mrigan.layers",
    "RunConfig": "keras_mrigan.config",
    "get_preset": "keras_mrigan.config",
    "train": "keras_mrigan.training",
    "resume": "keras_mrigan.training",
    "SampleGrid": "keras_mrigan.callbacks",
    "FadeIn": "keras_mrigan.callbacks",
    "GANMetrics": "keras_mrigan.callbacks",
    "RunCheckpoint": "keras_mrigan.callbacks",
    "PaperReference": "keras_mrigan.metrics",
    "ReferenceStats": "keras_mrigan.metrics",
    "diversity": "keras_mrigan.metrics",
    "evaluate": "keras_mrigan.metrics",
    "export_generator": "keras_mrigan.export",
    "write_images": "keras_mrigan.generate",
}

__all__ = ["__version__", *_EXPORTS]

_registration.register_when_keras_loads()


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keras_mrigan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
