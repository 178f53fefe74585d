"""Hyperparameter search with Keras Tuner.

``GANHyperModel`` turns a base ``RunConfig`` and a search space into Keras Tuner
hyperparameters: ``build(hp)`` returns a compiled ``GAN`` and ``fit(hp, model)`` trains it with
``model.fit`` into a run folder. The score of a trial is a quality measure of its samples,
computed by the ``GANMetrics`` callback after the last epoch (default: multi-scale SWD against
the training set, lower is better). Adversarial losses are not objectives: the two networks'
losses measure how they do against each other, not how good the images are, and a generator
loss can fall while the samples get worse.

A search space maps run settings (``RunConfig`` field names) to what to try:

- a list: choose among these values (``hp.Choice``, or ``hp.Boolean`` for ``[True, False]``);
- a ``Range(low, high, log=False, step=None)``: a number in ``[low, high]`` (``hp.Int`` for the
  integer settings, else ``hp.Float``);
- a single value: fixed (``hp.Fixed``).

Every hyperparameter's default is the base config's value (the paper's, with the default
``paper-dcgan`` preset). ``real_label`` only applies to the objectives with targets and
``penalty_weight`` to the gradient-penalty ones, so both are conditional on ``loss``.

The search folder holds Keras Tuner's project (``search/``, one ``trial_<id>/run`` run folder per
trial), the statistics of the training data (``reference_stats.npz``), the results
(``results.md``, ``results.csv``), ``best_trials.png`` and ``best_run/``, a copy of the best
trial's run folder for ``keras-mrigan export``.
"""

from keras_mrigan.tuning.hypermodel import OBJECTIVES, TRIAL_INFO, GANHyperModel
from keras_mrigan.tuning.report import (
    BEST_RUN,
    TrialResult,
    best_results,
    trial_results,
    write_results,
)
from keras_mrigan.tuning.search import REFERENCE_STATS, is_worker, tune
from keras_mrigan.tuning.space import DEFAULT_SPACE, TUNABLE, Range, check_space, load_space
from keras_mrigan.tuning.tuners import (
    PROJECT,
    TRIAL_RUN,
    TUNERS,
    BayesianOptimization,
    Hyperband,
    RandomSearch,
    make_tuner,
)

__all__ = [
    "BEST_RUN",
    "DEFAULT_SPACE",
    "OBJECTIVES",
    "PROJECT",
    "REFERENCE_STATS",
    "TRIAL_INFO",
    "TRIAL_RUN",
    "TUNABLE",
    "TUNERS",
    "BayesianOptimization",
    "GANHyperModel",
    "Hyperband",
    "RandomSearch",
    "Range",
    "TrialResult",
    "best_results",
    "check_space",
    "is_worker",
    "load_space",
    "make_tuner",
    "trial_results",
    "tune",
    "write_results",
]
