"""Deprecated: per-class evaluation moved to ``keras_mrigan.evaluation`` and the class
fidelity measure to ``keras_mrigan.metrics.fidelity``; this module re-exports them."""

import warnings

from keras_mrigan.evaluation import class_fidelity, evaluate_classes  # noqa: F401
from keras_mrigan.metrics.fidelity import fidelity_table  # noqa: F401

warnings.warn("`keras_mrigan.metrics.classes` moved to `keras_mrigan.evaluation` "
              "(evaluate_classes, class_fidelity) and `keras_mrigan.metrics.fidelity`; import "
              "them from there.", DeprecationWarning, stacklevel=2)
