"""Keras Tuner's tuners with a run folder per trial, and ``make_tuner``."""

from pathlib import Path

import keras
import keras_tuner

from keras_mrigan import runs, training
from keras_mrigan.models import is_progressive

TUNERS = ("random", "bayesian", "hyperband")
PROJECT = "search"
TRIAL_RUN = "run"


class _RunFolders:
    """Gives every trial a run folder (``trial_<id>/run``), trains it there through the
    hypermodel, and loads trials' models from it.

    ``run_trial`` is Keras Tuner's documented hook for a custom trial: it builds the model (or,
    for a trial Hyperband continues, loads that trial's finished GAN: a whole GAN, also for
    progressive ones whose resolution has grown) and returns the hypermodel's ``fit`` result.
    """

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        if "tuner/epochs" in hp.values:  # A Hyperband bracket's share of the epochs.
            kwargs.update(epochs=hp.values["tuner/epochs"],
                          initial_epoch=hp.values["tuner/initial_epoch"])
        previous = hp.values.get("tuner/trial_id")
        model = (self.load_model(self.oracle.get_trial(previous)) if previous
                 else self.hypermodel.build(hp))
        return self.hypermodel.fit(hp, model, *args, run_dir=self.trial_run_dir(trial.trial_id),
                                   trial_id=trial.trial_id, tuner_id=self.tuner_id, **kwargs)

    def trial_run_dir(self, trial_id):
        return Path(self.get_trial_dir(trial_id)) / TRIAL_RUN

    def load_model(self, trial):
        """The trial's finished GAN (its run folder's ``model.keras``: the objective is measured
        after the last epoch, so that is the best epoch)."""
        return keras.models.load_model(self.trial_run_dir(trial.trial_id) / runs.FINAL_MODEL)


class RandomSearch(_RunFolders, keras_tuner.RandomSearch):
    """``keras_tuner.RandomSearch`` with a run folder per trial."""


class BayesianOptimization(_RunFolders, keras_tuner.BayesianOptimization):
    """``keras_tuner.BayesianOptimization`` with a run folder per trial."""


class _HyperbandOracle(keras_tuner.oracles.HyperbandOracle):
    """Keras Tuner's Hyperband oracle that stops after ``trial_limit`` trials (its own
    budget is set by ``max_epochs``, ``factor`` and ``hyperband_iterations`` alone)."""

    def __init__(self, trial_limit=None, **kwargs):
        super().__init__(**kwargs)
        self.trial_limit = trial_limit

    def populate_space(self, trial_id):
        if self.trial_limit is not None and len(self.trials) >= self.trial_limit:
            return {"status": "STOPPED"}
        return super().populate_space(trial_id)


class Hyperband(_RunFolders, keras_tuner.Tuner):
    """Hyperband (``keras_tuner.oracles.HyperbandOracle``) with a run folder per trial and at
    most ``max_trials`` trials; a continued trial starts from the finished GAN of the trial
    it continues.

    Args:
        max_epochs, factor, hyperband_iterations, seed: as for ``keras_tuner.Hyperband``.
        max_trials: stop after this many trials (``None``: when the brackets end).
        **kwargs: passed to ``keras_tuner.Tuner``.
    """

    def __init__(self, hypermodel=None, objective=None, max_epochs=100, factor=3,
                 hyperband_iterations=1, seed=None, max_trials=None, **kwargs):
        oracle = _HyperbandOracle(trial_limit=max_trials, objective=objective,
                                  max_epochs=max_epochs, factor=factor,
                                  hyperband_iterations=hyperband_iterations, seed=seed)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)


def make_tuner(hypermodel, tuner="random", max_trials=10, directory="tuning",
               project_name=PROJECT, overwrite=False, seed=0, factor=3, **kwargs):
    """A Keras Tuner tuner of ``hypermodel`` that keeps a run folder per trial.

    Args:
        hypermodel: a ``GANHyperModel``; its objective is the tuner's.
        tuner: ``"random"``, ``"bayesian"`` or ``"hyperband"`` (its ``max_epochs`` is the
            config's epochs; it stops after ``max_trials`` trials or when its brackets end).
        max_trials: number of trials.
        directory, project_name: the project is ``directory/project_name``.
        overwrite: start afresh; ``False`` resumes the project found there (finished trials
            are kept, an interrupted one runs again from its last finished epoch).
        seed: the tuner's random seed.
        **kwargs: passed to the Keras Tuner class (``executions_per_trial``, ...).
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner {tuner!r}: one of {list(TUNERS)}")
    if not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"`max_trials` must be a positive integer. Received: {max_trials!r}")
    common = dict(hypermodel=hypermodel, objective=hypermodel.objective, directory=directory,
                  project_name=project_name, overwrite=overwrite, seed=seed, **kwargs)
    if tuner == "hyperband":
        archs = hypermodel.space.get("arch", hypermodel.config.model.arch)
        if any(is_progressive(a) for a in (archs if isinstance(archs, list) else [archs])):
            raise ValueError("The hyperband tuner stops and continues trials at epochs of its "
                             "own choosing; it cannot follow a progressive growth schedule. "
                             "Use --tuner random or bayesian with --arch progan.")
        return Hyperband(max_epochs=training.run_epochs(hypermodel.config), factor=factor,
                         max_trials=max_trials, **common)
    cls = RandomSearch if tuner == "random" else BayesianOptimization
    return cls(max_trials=max_trials, **common)

