"""Deprecated: evaluation moved to ``keras_mrigan.evaluation``; this module re-exports it."""

import warnings

from keras_mrigan.evaluation import (  # noqa: F401
    BASELINE,
    MS_SSIM_PAIRS,
    SWD_IMAGES,
    GeneratedSet,
    ReferenceStats,
    cheap_measures,
    evaluate,
    load_generated,
    table,
)
from keras_mrigan.runs import load_reference  # noqa: F401

warnings.warn("`keras_mrigan.metrics.evaluate` moved to `keras_mrigan.evaluation`; import it "
              "from there.", DeprecationWarning, stacklevel=2)
