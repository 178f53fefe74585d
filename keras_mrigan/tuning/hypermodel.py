"""``GANHyperModel``: a Keras Tuner hypermodel whose trials are GAN training runs scored by a
quality measure of their samples."""

import dataclasses
import json
import math
import tempfile
import time
from pathlib import Path

import keras_tuner

from keras_mrigan import builders, runs, training
from keras_mrigan.callbacks import GANMetrics
from keras_mrigan.config import RunConfig, get_preset
from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.metrics import ReferenceStats
from keras_mrigan.runs import load_reference
from keras_mrigan.tuning.space import (
    DEFAULT_SPACE,
    PENALTY_LOSSES,
    TARGET_LOSSES,
    check_space,
    declare,
)
from keras_mrigan.utils import atomic_path

# The quality measures a search can optimize, and which way is better.
OBJECTIVES = {"swd": "min", "rho": "max", "delta": "max", "sigma_per_image": "max",
              "ms_ssim": "min"}
TRIAL_INFO = "tuning.json"


class GANHyperModel(keras_tuner.HyperModel):
    """A Keras Tuner hypermodel of GAN training runs.

    Args:
        config: the base ``RunConfig``: data, schedule and every setting that is not searched
            (default: the ``paper-dcgan`` preset). Its values are the hyperparameters' defaults.
        space: ``{setting: list | Range | value}``, merged over ``DEFAULT_SPACE`` (a value
            fixes a setting; see the module docstring); ``default_space=False`` searches only
            ``space``.
        objective: the quality measure to optimize, one of ``OBJECTIVES``.
        metrics_n: images generated to score a trial.
        reference: a fitted ``metrics.ReferenceStats`` or a statistics ``.npz`` path; by
            default the training data's statistics are fitted at the first trial (and saved
            to ``stats_path`` if given).
        stats_path: where to keep the fitted statistics.
        default_space: merge ``space`` over ``DEFAULT_SPACE`` (``True``) or use it alone.

    Example:

    ```python
    hypermodel = GANHyperModel(config, space={"loss": ["wgan-gp", "dragan"]})
    tuner = make_tuner(hypermodel, "random", max_trials=8, directory="search")
    tuner.search()
    best = tuner.get_best_models(1)[0]
    ```
    """

    def __init__(self, config=None, space=None, objective="swd", metrics_n=256,
                 reference=None, stats_path=None, default_space=True, **kwargs):
        super().__init__(**kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"Unknown objective {objective!r}: one of {sorted(OBJECTIVES)}. "
                             "(Adversarial losses are not objectives: they do not measure "
                             "image quality.)")
        if metrics_n < 2:
            raise ValueError(f"`metrics_n` must be >= 2. Received: {metrics_n}")
        self.config = config if config is not None else get_preset("paper-dcgan")
        self.space = check_space({**(DEFAULT_SPACE if default_space else {}), **(space or {})})
        self.objective = keras_tuner.Objective(objective, direction=OBJECTIVES[objective])
        self.metrics_n = metrics_n
        self.reference = reference
        self.stats_path = stats_path
        self._slices = {}  # Decoded training slices, by resolution and slice options.

    def config_for(self, hp):
        """The ``RunConfig`` of a trial: the base config with the trial's values.

        Declares the space's hyperparameters on ``hp`` (with the base config's values as
        defaults), so ``config_for(keras_tuner.HyperParameters())`` is the default trial.
        """
        base = self.config
        defaults = {name: value for section in base.to_dict().values()
                    for name, value in section.items()}
        values = {name: declare(hp, name, spec, defaults[name])
                  for name, spec in self.space.items()
                  if name not in ("real_label", "penalty_weight")}
        loss = values.get("loss", base.loss.loss)
        for name, losses in (("real_label", TARGET_LOSSES), ("penalty_weight", PENALTY_LOSSES)):
            value = None
            if name in self.space and "loss" in self.space:
                with hp.conditional_scope("loss", losses):  # None for the other losses.
                    value = declare(hp, name, self.space[name], defaults[name])
            elif name in self.space and loss in losses:
                value = declare(hp, name, self.space[name], defaults[name])
            if value is not None:
                values[name] = value
        if loss not in TARGET_LOSSES:
            values["real_label"] = 1.0  # No targets to smooth.
        return base.replace(**values)

    def build(self, hp):
        config = self.config_for(hp)
        return builders.compile_gan(builders.build_gan(config), config)

    def fit(self, hp, model, *args, run_dir=None, trial_id=None, tuner_id=None, callbacks=(),
            epochs=None, initial_epoch=0, verbose="auto", **kwargs):
        """Trains ``model`` (built by ``build(hp)``) with ``model.fit`` into ``run_dir`` and
        returns its quality measures after the last epoch.

        A run folder that already holds epochs of this same trial (a search interrupted and
        resumed) is continued from its last finished epoch.

        Args:
            run_dir: the trial's run folder (the tuners of ``make_tuner`` give one per trial;
                without one the run goes to a temporary folder that is deleted).
            callbacks: Keras Tuner's callbacks, run after ``GANMetrics`` so that they see the
                measures.
            epochs, initial_epoch: set by Hyperband; default: the config's epochs from 0.

        Returns:
            ``{measure: value}``, the objective among them.

        Raises:
            keras_tuner.errors.FailedTrialError: when the objective is not a finite number
                (a diverged run), so that the tuner records the trial as failed.
        """
        config = self.config_for(hp)
        if epochs is not None:
            config = config.replace(epochs=int(epochs))
        if run_dir is None:
            with tempfile.TemporaryDirectory() as tmp:
                return self.fit(hp, model, *args, run_dir=tmp, trial_id=trial_id,
                                tuner_id=tuner_id, callbacks=callbacks, epochs=epochs,
                                initial_epoch=initial_epoch, verbose=verbose, **kwargs)
        run_dir = Path(run_dir)
        history = {}
        if (run_dir / runs.CONFIG).exists() and \
                RunConfig.load(run_dir / runs.CONFIG) == config:
            model, initial_epoch, history = training.load_checkpoint(run_dir, config)
            # With the batches of an epoch a time budget stopped.
            position = training.checkpoint_position(run_dir)
        else:
            training.new_run_folder(run_dir, config)
            position = (int(initial_epoch or 0), 0)
        dataset = self._dataset(config)
        images = training.steps_per_epoch(dataset, config.data.batch_size) * \
            config.data.batch_size
        last = training.run_epochs(config, images)
        scorer = GANMetrics(self._reference(config), n=self.metrics_n, every=last,
                            metrics=tuple(OBJECTIVES), seed=config.schedule.seed)
        start = time.perf_counter()
        # A trial's time budget (``minutes``) starts with its training.
        training.fit_run(model, config, run_dir, position, history, verbose,
                         [scorer, *callbacks], dataset=dataset,
                         budget=training.time_budget(config, time.monotonic))
        seconds = time.perf_counter() - start
        info = {"trial_id": trial_id, "tuner_id": tuner_id, "seconds": seconds,
                "hyperparameters": trial_values(hp), "measures": scorer.latest}
        with atomic_path(run_dir / TRIAL_INFO) as tmp:
            tmp.write_text(json.dumps(info, indent=2) + "\n")
        score = scorer.latest.get(self.objective.name)
        if score is None or not math.isfinite(score):
            raise keras_tuner.errors.FailedTrialError(
                f"Trial {trial_id}: the objective {self.objective.name} is {score} "
                f"(the run diverged); see {run_dir}")
        return {k: v for k, v in scorer.latest.items() if k != "epoch"}

    def _dataset(self, config):
        """The trial's dataset, from slices decoded once for all trials: each trial gets a
        fresh dataset, so its batches are those of ``training.train`` with the same config."""
        options = training.slice_options(config)
        key = (config.data.resolution, *dataclasses.astuple(options))
        if key not in self._slices:  # Keep one decoded copy: the latest the trials need.
            self._slices = {key: load_slices(config.data.source, config.data.resolution,
                                             options)}
        return training.make_dataset(config, slices=self._slices[key])

    def _reference(self, config):
        if isinstance(self.reference, ReferenceStats):
            return self.reference
        self.reference = load_reference(
            self.reference or config.data.source, config.data.resolution, n=self.metrics_n,
            stats_path=self.stats_path, seed=config.schedule.seed,
            options=training.slice_options(config))
        return self.reference


def trial_values(hp):
    """A trial's hyperparameter values, without Keras Tuner's bookkeeping (``tuner/...``)."""
    return {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}

