"""Pure measures of image arrays: the paper's realism and diversity (exact), SWD, MS-SSIM,
memorization, class fidelity, latent interpolation, and the reference statistics they are
measured against.

Evaluating a run, a SavedModel or a folder, and writing reports, is
``keras_mrigan.evaluation``.
"""

import warnings

from keras_mrigan.metrics.paper import PaperReference, diversity
from keras_mrigan.metrics.reference import ReferenceStats, cheap_measures

# Names that lived here before evaluation moved to ``keras_mrigan.evaluation``.
_MOVED = ("evaluate", "load_generated", "load_reference", "table")

__all__ = ["PaperReference", "ReferenceStats", "cheap_measures", "diversity"]


def __getattr__(name):
    if name in _MOVED:
        warnings.warn(f"`keras_mrigan.metrics.{name}` moved to `keras_mrigan.evaluation.{name}`;"
                      " import it from there.", DeprecationWarning, stacklevel=2)
        import keras_mrigan.evaluation as evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'keras_mrigan.metrics' has no attribute {name!r}")
