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

import csv
import dataclasses
import io
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras_tuner

from keras_mrigan import training
from keras_mrigan.callbacks import GANMetrics
from keras_mrigan.config import RunConfig, get_preset
from keras_mrigan.losses import LOSSES
from keras_mrigan.models import ARCHITECTURES, is_progressive
from keras_mrigan.models.gan import LATENT_DISTRIBUTIONS
from keras_mrigan.utils import atomic_path

# The quality measures a search can optimize, and which way is better.
OBJECTIVES = {"swd": "min", "rho": "max", "delta": "max", "sigma_per_image": "max",
              "ms_ssim": "min"}
TUNERS = ("random", "bayesian", "hyperband")
PROJECT = "search"
REFERENCE_STATS = "reference_stats.npz"
TRIAL_RUN = "run"
TRIAL_INFO = "tuning.json"
BEST_RUN = "best_run"

_TARGET_LOSSES = sorted(name for name, cls in LOSSES.items() if cls.uses_targets)
_PENALTY_LOSSES = sorted(name for name, cls in LOSSES.items()
                         if cls.penalty in ("gradient", "dragan"))


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric interval to search: ``[low, high]``, sampled linearly or on a log scale,
    optionally on a grid of ``step``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


# What each tunable setting may be: (type, check, description of valid values).
_TUNABLE = {
    "arch": (str, lambda v: v in ARCHITECTURES, f"one of {sorted(ARCHITECTURES)}"),
    "loss": (str, lambda v: v in LOSSES, f"one of {sorted(LOSSES)}"),
    "g_learning_rate": (float, lambda v: v > 0, "> 0"),
    "d_learning_rate": (float, lambda v: v > 0, "> 0"),
    "beta_1": (float, lambda v: 0 <= v < 1, "in [0, 1)"),
    "g_steps": (int, lambda v: v >= 1, ">= 1"),
    "d_steps": (int, lambda v: v >= 1, ">= 1"),
    "real_label": (float, lambda v: 0 < v <= 1, "in (0, 1]"),
    "penalty_weight": (float, lambda v: v >= 0, ">= 0"),
    "latent_distribution": (str, lambda v: v in LATENT_DISTRIBUTIONS,
                            f"one of {list(LATENT_DISTRIBUTIONS)}"),
    "minibatch_stddev": (bool, lambda v: True, "True or False"),
    "width": (float, lambda v: v > 0, "> 0"),
    "batch_size": (int, lambda v: v >= 1, ">= 1"),
}
TUNABLE = tuple(_TUNABLE)

# Searched unless the space says otherwise; architecture, width and batch size stay at the
# base config's values (they change the model's cost more than its training dynamics).
DEFAULT_SPACE = {
    "loss": sorted(LOSSES),
    "g_learning_rate": Range(1e-5, 1e-3, log=True),
    "d_learning_rate": Range(1e-5, 1e-3, log=True),
    "beta_1": Range(0.0, 0.9),
    "g_steps": Range(1, 3),
    "d_steps": Range(1, 2),
    "real_label": [1.0, 0.9],
    "penalty_weight": Range(1.0, 100.0, log=True),
    "latent_distribution": list(LATENT_DISTRIBUTIONS),
    "minibatch_stddev": [True, False],
}


def check_space(space):
    """Validates a search space and returns it normalized (JSON ranges become ``Range``s).

    Raises:
        ValueError: naming the setting and what was expected, for an unknown setting, an
            empty or repeated choice list, a value of the wrong type or out of bounds, or a
            range whose low end is above its high end.
    """
    checked = {}
    for name, spec in space.items():
        if name not in _TUNABLE:
            raise ValueError(f"Cannot tune {name!r}: tunable settings are {list(TUNABLE)}")
        kind, valid, expected = _TUNABLE[name]

        def check_value(value, name=name, kind=kind, valid=valid, expected=expected):
            ok_type = (isinstance(value, bool) if kind is bool else
                       isinstance(value, kind) and not isinstance(value, bool) if kind is not float
                       else isinstance(value, (int, float)) and not isinstance(value, bool))
            if not ok_type or not valid(value):
                raise ValueError(f"Search space {name!r}: invalid value {value!r}; expected "
                                 f"{kind.__name__} {expected}")
            return float(value) if kind is float else value

        if isinstance(spec, dict):  # The JSON form of a Range.
            unknown = set(spec) - {"min", "max", "log", "step"}
            if unknown or not {"min", "max"} <= set(spec):
                raise ValueError(f"Search space {name!r}: a range is {{\"min\": ..., \"max\": "
                                 f"..., \"log\": false, \"step\": null}}. Received: {spec}")
            spec = Range(spec["min"], spec["max"], spec.get("log", False), spec.get("step"))
        if isinstance(spec, (list, tuple)):
            if not spec:
                raise ValueError(f"Search space {name!r}: the choice list is empty")
            values = [check_value(v) for v in spec]
            if len(set(values)) != len(values):
                raise ValueError(f"Search space {name!r}: repeated values in {list(spec)}")
            checked[name] = values
        elif isinstance(spec, Range):
            if kind not in (int, float):
                raise ValueError(f"Search space {name!r}: a Range needs a numeric setting; "
                                 f"give a list of values instead")
            low, high = check_value(spec.low), check_value(spec.high)
            if low > high:
                raise ValueError(f"Search space {name!r}: min > max ({spec.low} > {spec.high})")
            if spec.log and low <= 0:
                raise ValueError(f"Search space {name!r}: a log range needs min > 0 "
                                 f"(received {spec.low})")
            if spec.step is not None and spec.step <= 0:
                raise ValueError(f"Search space {name!r}: step must be > 0 "
                                 f"(received {spec.step})")
            checked[name] = Range(low, high, bool(spec.log), spec.step)
        else:
            checked[name] = check_value(spec)
    return checked


def load_space(path):
    """A search space from a JSON file (lists, ``{"min", "max", "log", "step"}`` ranges and
    single values), validated."""
    try:
        space = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON search space ({exc})") from exc
    if not isinstance(space, dict):
        raise ValueError(f"{path}: a search space is a JSON object of settings")
    return check_space(space)


def _declare(hp, name, spec, default):
    """Declares one hyperparameter of the space on ``hp`` and returns its value."""
    if isinstance(spec, Range):
        if _TUNABLE[name][0] is int:
            default = default if spec.low <= default <= spec.high else spec.low
            return hp.Int(name, spec.low, spec.high, step=spec.step or 1, default=default,
                          sampling="log" if spec.log else "linear")
        default = default if spec.low <= default <= spec.high else spec.low
        return hp.Float(name, spec.low, spec.high, step=spec.step, default=default,
                        sampling="log" if spec.log else "linear")
    if isinstance(spec, list):
        if sorted(spec) == [False, True]:
            return hp.Boolean(name, default=bool(default))
        return hp.Choice(name, spec, default=default if default in spec else spec[0])
    return hp.Fixed(name, spec)


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
        values = {name: _declare(hp, name, spec, defaults[name])
                  for name, spec in self.space.items()
                  if name not in ("real_label", "penalty_weight")}
        loss = values.get("loss", base.loss.loss)
        for name, losses in (("real_label", _TARGET_LOSSES), ("penalty_weight", _PENALTY_LOSSES)):
            value = None
            if name in self.space and "loss" in self.space:
                with hp.conditional_scope("loss", losses):  # None for the other losses.
                    value = _declare(hp, name, self.space[name], defaults[name])
            elif name in self.space and loss in losses:
                value = _declare(hp, name, self.space[name], defaults[name])
            if value is not None:
                values[name] = value
        if loss not in _TARGET_LOSSES:
            values["real_label"] = 1.0  # No targets to smooth.
        return base.replace(**values)

    def build(self, hp):
        config = self.config_for(hp)
        return training.compile_gan(training.build_gan(config), config)

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
        if (run_dir / training.CONFIG).exists() and \
                RunConfig.load(run_dir / training.CONFIG) == config:
            model, initial_epoch, history = training.load_checkpoint(run_dir, config)
        else:
            training.new_run_folder(run_dir, config)
        scorer = GANMetrics(self._reference(config), n=self.metrics_n, every=config.schedule.epochs,
                            metrics=tuple(OBJECTIVES), seed=config.schedule.seed)
        start = time.perf_counter()
        training._fit(model, config, run_dir, initial_epoch, history, verbose,
                      [scorer, *callbacks], dataset=self._dataset(config))
        seconds = time.perf_counter() - start
        info = {"trial_id": trial_id, "tuner_id": tuner_id, "seconds": seconds,
                "hyperparameters": _trial_values(hp), "measures": scorer.latest}
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
            from keras_mrigan.data.pipeline import load_slices

            self._slices = {key: load_slices(config.data.source, config.data.resolution,
                                             options)}
        return training.make_dataset(config, slices=self._slices[key])

    def _reference(self, config):
        from keras_mrigan.metrics import ReferenceStats, load_reference

        if isinstance(self.reference, ReferenceStats):
            return self.reference
        self.reference = load_reference(
            self.reference or config.data.source, config.data.resolution, n=self.metrics_n,
            stats_path=self.stats_path, seed=config.schedule.seed)
        return self.reference


def _trial_values(hp):
    """A trial's hyperparameter values, without Keras Tuner's bookkeeping (``tuner/...``)."""
    return {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}


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
        result = Hyperband(max_epochs=hypermodel.config.schedule.epochs, factor=factor,
                           **common)
        result.oracle.max_trials = max_trials
        return result
    cls = RandomSearch if tuner == "random" else BayesianOptimization
    return cls(max_trials=max_trials, **common)


@dataclasses.dataclass
class TrialResult:
    """One row of the results table."""

    trial_id: str
    status: str
    score: float | None
    seconds: float | None
    hyperparameters: dict
    run_dir: Path


def trial_results(tuner):
    """Every trial of a tuner's project, in trial order."""
    rows = []
    for trial_id in sorted(tuner.oracle.trials):
        trial = tuner.oracle.trials[trial_id]
        run_dir = tuner.trial_run_dir(trial_id)
        info_path = run_dir / TRIAL_INFO
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        rows.append(TrialResult(trial_id, str(trial.status), trial.score, info.get("seconds"),
                                _trial_values(trial.hyperparameters), run_dir))
    return rows


def best_results(rows, objective, n=None):
    """The completed trials with a finite score, best first."""
    done = [r for r in rows if r.status == "COMPLETED" and r.score is not None
            and math.isfinite(r.score)]
    done.sort(key=lambda r: r.score, reverse=objective.direction == "max")
    return done[:n]


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_results(tuner, out, top=4):
    """Writes the search's report into ``out``: ``results.csv`` and ``results.md`` (trial,
    status, objective, seconds, hyperparameters), ``best_trials.png`` (the last sample grid of
    the ``top`` best trials) and ``best_run/`` (a copy of the best trial's run folder).

    Returns:
        The rows, in trial order.
    """
    out = Path(out)
    objective = tuner.oracle.objective
    rows = trial_results(tuner)
    names = sorted({name for row in rows for name in row.hyperparameters})
    header = ["trial", "status", objective.name, "seconds", *names]
    table = [[row.trial_id, row.status, row.score, row.seconds,
              *(row.hyperparameters.get(name, "") for name in names)] for row in rows]
    text = io.StringIO()
    csv.writer(text).writerows([header, *table])
    with atomic_path(out / "results.csv") as tmp:
        tmp.write_text(text.getvalue())
    best = best_results(rows, objective)
    lines = [f"Objective: {objective.name} ({objective.direction}imize). "
             f"{len(best)} of {len(rows)} trials completed.", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row, cells in zip(rows, table, strict=True):
        cells = ["" if c is None else _format(c) for c in cells]
        if best and row is best[0]:
            cells[0] += " (best)"
        lines.append("| " + " | ".join(cells) + " |")
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    if best:
        from keras_mrigan.plotting import plot_trial_grids

        plot_trial_grids(
            [(r.run_dir / "samples" / "latest.png",
              f"trial {r.trial_id}: {objective.name} {r.score:.4g}") for r in best[:top]],
            out / "best_trials.png")
        with atomic_path(out / BEST_RUN, directory=True) as tmp:
            shutil.copytree(best[0].run_dir, tmp, dirs_exist_ok=True)
    return rows


def is_worker():
    """Whether this process is a worker of a distributed search (``KERASTUNER_TUNER_ID`` set
    to anything but ``chief``)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    return bool(os.environ.get("KERASTUNER_ORACLE_IP")) and tuner_id not in (None, "chief")


def tune(config, out, tuner="random", max_trials=10, space=None, objective="swd",
         metrics_n=256, overwrite=False, seed=0, verbose=1, top=4, default_space=True):
    """Runs (or resumes) a search and writes its report.

    Args:
        config: the base ``RunConfig`` (its ``epochs`` is each trial's length).
        out: the search folder.
        tuner, max_trials, seed: see ``make_tuner``.
        space, objective, metrics_n, default_space: see ``GANHyperModel``.
        overwrite: start afresh instead of resuming ``out``.
        verbose: 1: Keras Tuner's trial summaries and Keras' progress bars; 2: a line per
            epoch; 0: silent.
        top: trials shown in ``best_trials.png``.

    In a distributed search (Keras Tuner's ``KERASTUNER_*`` variables) the chief serves the
    oracle (``search`` returns when the workers are done) and writes the report; workers only
    run trials.

    Returns:
        The tuner.
    """
    out = Path(out)
    hypermodel = GANHyperModel(config, space=space, objective=objective, metrics_n=metrics_n,
                               stats_path=out / REFERENCE_STATS, default_space=default_space)
    search = make_tuner(hypermodel, tuner, max_trials=max_trials, directory=out,
                        overwrite=overwrite, seed=seed)
    search.search(verbose=verbose)
    if not is_worker():
        rows = write_results(search, out, top=top)
        if rows and not best_results(rows, hypermodel.objective):
            failures = [search.oracle.trials[r.trial_id].message for r in rows]
            last = next((m for m in reversed(failures) if m), "")
            raise ValueError(f"No trial of the search in {out} completed (see results.md). "
                             f"The last failure: {last.strip().splitlines()[-1] if last else '?'}")
    return search
