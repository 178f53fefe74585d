"""Keras Tuner's tuners with a run folder per trial, and ``make_tuner``."""

from pathlib import Path

import keras_tuner

from keras_mrigan import training
from keras_mrigan.models import is_progressive

TUNERS = ("random", "bayesian", "hyperband")
PROJECT = "search"
TRIAL_RUN = "run"


class _RunFolders:
    """Gives every trial a run folder (``trial_<id>/run``) and loads trials' models from it."""

    def run_trial(self, trial, *args, **kwargs):
        kwargs.update(run_dir=self.trial_run_dir(trial.trial_id), trial_id=trial.trial_id,
                      tuner_id=self.tuner_id)
        return super().run_trial(trial, *args, **kwargs)

    def trial_run_dir(self, trial_id):
        return Path(self.get_trial_dir(trial_id)) / TRIAL_RUN

    def load_model(self, trial):
        """The trial's finished GAN (its run folder's ``model.keras``: the objective is measured
        after the last epoch, so that is the best epoch)."""
        import keras

        return keras.models.load_model(self.trial_run_dir(trial.trial_id) / training.FINAL_MODEL)

    def _build_hypermodel(self, hp):
        # Hyperband continues a trial's training: start from that trial's finished model
        # (a whole GAN, also for progressive ones whose resolution has grown).
        if "tuner/trial_id" in hp.values:
            return self.load_model(self.oracle.get_trial(hp.values["tuner/trial_id"]))
        return super()._build_hypermodel(hp)


class RandomSearch(_RunFolders, keras_tuner.RandomSearch):
    """``keras_tuner.RandomSearch`` with a run folder per trial."""


class BayesianOptimization(_RunFolders, keras_tuner.BayesianOptimization):
    """``keras_tuner.BayesianOptimization`` with a run folder per trial."""


class Hyperband(_RunFolders, keras_tuner.Hyperband):
    """``keras_tuner.Hyperband`` with a run folder per trial."""


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
        result = Hyperband(max_epochs=training.run_epochs(hypermodel.config), factor=factor,
                           **common)
        result.oracle.max_trials = max_trials
        return result
    cls = RandomSearch if tuner == "random" else BayesianOptimization
    return cls(max_trials=max_trials, **common)

