"""Evaluation: the paper's realism and diversity (exact), SWD, MS-SSIM, memorization and
latent interpolation."""

from keras_mrigan.metrics.evaluate import (
    ReferenceStats,
    cheap_measures,
    evaluate,
    load_generated,
    load_reference,
    table,
)
from keras_mrigan.metrics.paper import PaperReference, diversity

__all__ = [
    "PaperReference",
    "ReferenceStats",
    "cheap_measures",
    "diversity",
    "evaluate",
    "load_generated",
    "load_reference",
    "table",
]
