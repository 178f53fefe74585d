"""Pure measures of image arrays: the paper's realism and diversity (exact), SWD, MS-SSIM,
memorization, class fidelity, latent interpolation, and the reference statistics they are
measured against.

Evaluating a run, a SavedModel or a folder, and writing reports, is
``keras_mrigan.evaluation``.
"""

from keras_mrigan.deprecation import moved
from keras_mrigan.metrics.paper import PaperReference, diversity
from keras_mrigan.metrics.reference import ReferenceStats, cheap_measures

__all__ = ["PaperReference", "ReferenceStats", "cheap_measures", "diversity"]

# Names that lived here before evaluation moved to ``keras_mrigan.evaluation``.
__getattr__ = moved(__name__, {"evaluate": "keras_mrigan.evaluation",
                               "load_generated": "keras_mrigan.evaluation",
                               "load_reference": "keras_mrigan.runs",
                               "table": "keras_mrigan.evaluation"})
