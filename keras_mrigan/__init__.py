"""keras_mrigan: generative adversarial networks that synthesize brain MRI slices.

Importing the package imports the modules that define its Keras objects (layers, models), so
every one of them is registered with Keras (``package="keras_mrigan"``), as keras-hub does:
``keras.saving.load_model`` reads the package's ``.keras`` files after ``import keras_mrigan``.
Importing it also loads TensorFlow. The ``keras-mrigan`` command starts from
``keras_mrigan_cli``, beside the package, which imports TensorFlow with its start-up lines
hidden before the package; the version alone is in ``keras_mrigan.version``, which imports
nothing.
"""

from keras_mrigan import layers, models
from keras_mrigan.callbacks import FadeIn, GANMetrics, RunCheckpoint, SampleGrid
from keras_mrigan.config import RunConfig, get_preset
from keras_mrigan.data.demo import demo_cohort
from keras_mrigan.data.errors import DataError
from keras_mrigan.data.pipeline import (
    SliceOptions,
    build_dataset,
    iter_slice_stacks,
    load_slices,
    preview,
    resolution_view,
)
from keras_mrigan.data.readers import find_files, read_image, read_volume, slice_volume
from keras_mrigan.evaluation import evaluate
from keras_mrigan.export import export_generator
from keras_mrigan.generate import write_images
from keras_mrigan.layers import (
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    PixelNorm,
    PixelShuffle,
    WeightedSum,
)
from keras_mrigan.metrics import PaperReference, ReferenceStats, diversity
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import sample_latents, seed_latents
from keras_mrigan.plotting import save_image_grid
from keras_mrigan.runs import Sampler
from keras_mrigan.training import resume, train
from keras_mrigan.version import __version__

__all__ = [
    "__version__",
    "DataError",
    "find_files",
    "read_image",
    "read_volume",
    "slice_volume",
    "iter_slice_stacks",
    "SliceOptions",
    "load_slices",
    "build_dataset",
    "resolution_view",
    "preview",
    "demo_cohort",
    "save_image_grid",
    "GAN",
    "Sampler",
    "sample_latents",
    "seed_latents",
    "MinibatchStdDev",
    "PixelNorm",
    "EqualizedConv2D",
    "EqualizedDense",
    "WeightedSum",
    "PixelShuffle",
    "RunConfig",
    "get_preset",
    "train",
    "resume",
    "SampleGrid",
    "FadeIn",
    "GANMetrics",
    "RunCheckpoint",
    "PaperReference",
    "ReferenceStats",
    "diversity",
    "evaluate",
    "export_generator",
    "write_images",
    "layers",
    "models",
]
