"""Training runs: train a GAN built from a ``RunConfig`` (see ``keras_mrigan.builders``) with
``model.fit`` into a run folder, and resume an interrupted run.

A run folder (its format: ``keras_mrigan.runs``) holds::

    config.json        the RunConfig
    checkpoint.keras   the GAN after the last finished epoch (networks + optimizer state)
    state.json         {"epoch": N}: how many epochs are finished
    history.csv        one row of metrics per finished epoch
    loss_curves.png    the history drawn
    samples/           epoch_001.png, ...: grids from fixed latents; latest.png
    model.keras        the final GAN, written when training completes
    tensorboard/       with ``tensorboard``: event files of every epoch's scalars and grid
    reference_stats.npz  with ``metrics_every`` > 0: the training data's statistics for the
                       quality measures that ``GANMetrics`` adds to the history

A progressive architecture trains the same way, one ``model.fit`` per resolution: each stage's
networks are built with the previous stage's weights copied in (and fresh optimizers, as in
Karras et al.'s code), the ``FadeIn`` callback drives the fade-in, and the data are the same
cached batches average-pooled to the stage's resolution. ``state.json`` also records the
stage's resolution and ``alpha``.

Training changes no process-wide state: the run's seed and op determinism hold only while
it trains, and progress goes through Keras' progress bar and ``logging``.
"""

import dataclasses
import json
import logging
import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from keras_mrigan import builders, runs
from keras_mrigan import callbacks as run_callbacks
from keras_mrigan import config as run_config
from keras_mrigan.builders import onednn_advice, onednn_enabled
from keras_mrigan.config import DEMO_MINUTES, RunConfig, get_preset
from keras_mrigan.data import labels as labels_module
from keras_mrigan.data import readers
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.data.pipeline import (
    SliceOptions,
    batch_epochs,
    data_files,
    slice_dataset,
    with_classes,
)
from keras_mrigan.deprecation import moved
from keras_mrigan.models import get_architecture, is_progressive
from keras_mrigan.models.progan import Stage
from keras_mrigan.speed import choose_demo_preset
from keras_mrigan.utils import atomic_path, op_determinism, random_scope

__all__ = [
    "DemoResult", "checkpoint_position", "demo", "fit_run", "load_checkpoint", "make_dataset",
    "new_run_folder", "resume", "run_epochs", "run_labels", "schedule_stages", "slice_options",
    "steps_per_epoch", "time_budget", "train", "training_subjects",
]

# Names that lived here before the builders, the run-folder format and the settings had
# modules of their own.
__getattr__ = moved(__name__, {
    **dict.fromkeys(("CONFIG", "FINAL_MODEL", "REFERENCE_STATS", "SPLIT", "TENSORBOARD",
                     "read_split", "write_split"), "keras_mrigan.runs"),
    **dict.fromkeys(("build_gan", "check_run_options", "compile_gan", "get_strategy",
                     "grow_gan", "run_scope"), "keras_mrigan.builders"),
    **dict.fromkeys(("DEFAULT_EPOCHS", "NAN_POLICIES", "PRECISIONS", "STRATEGIES"),
                    "keras_mrigan.config")})

logger = logging.getLogger(__name__)


def make_dataset(config, slices=None, labels=None, masks=None):
    """The training slices of a ``RunConfig``, decoded (and cached) once, unbatched: ``_fit``
    batches them epoch by epoch with ``data.pipeline.batch_epochs``. With labels, the
    dataset holds ``(image, label)`` pairs and has ``class_names`` and ``class_counts``.
    With masks, its images are image and mask pairs ``(r, r, 1 + K)`` and it has
    ``mask_classes``.

    Args:
        slices: the run's slices already decoded (``(N, r, r, 1)`` in ``[-1, 1]``, as
            ``data.pipeline.load_slices`` returns them), to skip reading ``config.data.source``;
            the batches are the same.
        labels: with ``slices``, their class indices, or ``(class indices, class names)``.
        masks: with ``slices`` of image and mask pairs ``(N, r, r, 1 + K)``, their
            ``MaskClasses`` (or its dict).
    """
    data = config.data
    if slices is not None:
        options = (None if masks is None
                   else SliceOptions(mask_classes=MaskClasses.from_json(masks)))
        if labels is None:
            return slice_dataset(slices, data.resolution, options=options)
        classes, names = labels if isinstance(labels, tuple) else (labels, None)
        dataset = slice_dataset(slices, data.resolution, labels=classes, options=options)
        if names is not None:
            with_classes(dataset, names, np.bincount(classes, minlength=len(names)))
        return dataset
    return slice_dataset(data.source, data.resolution, cache=data.cache,
                         min_count=data.batch_size, options=slice_options(config),
                         labels=run_labels(config))


def run_labels(config):
    """The ``LabelOptions`` of a ``RunConfig`` (``None`` when unlabelled)."""
    data = config.data
    return labels_module.label_options(
        data.labels, label_column=data.label_column, id_column=data.id_column,
        label_map=data.label_map, drop_unlabelled=data.drop_unlabelled)


def training_subjects(config):
    """The subjects whose slices a run trains on (``readers.subject_of`` of its files)."""
    options = slice_options(config)
    files = data_files(config.data.source, options, run_labels(config))
    return sorted({readers.subject_of(f, options.subject_pattern) for f in files})


def steps_per_epoch(slices, batch_size):
    """Batches per epoch of a slice dataset (a streamed one, without a cache, is counted by
    one pass)."""
    count = int(slices.cardinality())
    if count < 0:
        count = int(slices.reduce(np.int64(0), lambda n, _: n + 1))
    return count // batch_size


def slice_options(config):
    """The ``SliceOptions`` of a ``RunConfig`` (its data section holds them by name)."""
    return SliceOptions(**{
        field.name: getattr(config.data, field.name)
        for field in dataclasses.fields(SliceOptions) if hasattr(config.data, field.name)
    })


def train(config, run_dir, overwrite=False, verbose="auto", extra_callbacks=(), data=None,
          clock=time.monotonic):
    """Trains a GAN into a new run folder.

    With ``config.data.labels`` the data are labelled and the GAN is conditional, with the
    data's classes and class frequencies. With ``config.data.masks`` the data are image and
    mask pairs (``(r, r, 1 + K)`` slices) and the GAN makes pairs of the data's
    ``mask_classes``. The run records the subjects it trains on in
    ``split.json``.

    Args:
        config: a ``RunConfig``.
        run_dir: the run folder to create.
        overwrite: replace an existing run folder instead of refusing.
        verbose: Keras' progress output (``"auto"``: a bar on a terminal, a line per epoch
            otherwise).
        extra_callbacks: more Keras callbacks.
        data: the training data already in memory instead of ``config.data.source``: a
            dict with ``images`` (``(N, r, r, 1)`` in ``[-1, 1]``), and optionally
            ``labels`` (class indices), ``class_names`` and ``subjects`` (one per image);
            for pairs, ``images`` holds the ``(N, r, r, 1 + K)`` pairs and ``mask_classes``
            their ``MaskClasses``.
        clock: the time budget's clock (``config.schedule.minutes``), in seconds.

    Returns:
        The trained ``GAN``. A run that its time budget stopped is written like a finished
        one (``model.keras``), and ``--resume`` continues it from its checkpoint.
    """
    budget = time_budget(config, clock)
    run_dir = Path(run_dir)
    # Bad settings fail before any file is made.
    if data is not None:
        labels = data.get("labels")
        masks = data.get("mask_classes")
        dataset = make_dataset(config, data["images"], None if labels is None else
                               (np.asarray(labels), data.get("class_names")), masks)
        subjects = sorted(set(map(str, data.get("subjects", []))))
    else:
        dataset = make_dataset(config) if _knows_data(config) else None
        subjects = None
        masks = getattr(dataset, "mask_classes", None)
    classes = ((dataset.class_names, dataset.class_counts)
               if hasattr(dataset, "class_names") else None)
    gan = builders.compile_gan(builders.build_gan(config, classes=classes, masks=masks), config)
    if is_progressive(config.model.arch) and config.schedule.phase_images <= 0:
        schedule_stages(config, images_per_epoch=None)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise ValueError(
                f"Run folder {run_dir} is not empty. Resume it with "
                f"`keras-mrigan train --resume {run_dir}`, or choose another --out."
            )
    if subjects is None and not isinstance(config.data.source, np.ndarray):
        subjects = training_subjects(config)
    new_run_folder(run_dir, config)
    if subjects:
        runs.write_split(run_dir, subjects, in_memory=data is not None)
    return fit_run(gan, config, run_dir, (0, 0), {}, verbose, extra_callbacks, dataset, budget,
                   clock)


def _knows_data(config):
    """Whether the GAN of a run is built from its data (their classes or mask classes)."""
    return bool(config.data.labels or getattr(config.data, "masks", None))


def time_budget(config, clock):
    """The ``TimeBudget`` callback of ``config``'s ``minutes`` on ``clock``, or ``None``."""
    minutes = config.schedule.minutes
    return run_callbacks.TimeBudget(minutes, clock) if minutes else None


# Time a demo keeps back from its budget for what follows the last step: the epoch-end
# grid and checkpoint, and the final model.
DEMO_RESERVE_MINUTES = 0.5


@dataclasses.dataclass
class DemoResult:
    """What ``demo`` reached: the trained GAN, its run folder, the images it trained on, its
    whole wall time in minutes, and whether its time budget ended it."""

    gan: object
    run_dir: Path
    images: int
    minutes: float
    stopped_by_budget: bool

    def text(self):
        how = ("its time budget ended it" if self.stopped_by_budget
               else "it finished its epochs")
        return (f"Demo: {self.images:,} images in {self.minutes:.1f} minutes ({how}). "
                f"Samples: {self.run_dir / 'samples' / 'latest.png'}; curves: "
                f"{self.run_dir / runs.LOSS_CURVES}; model: {self.run_dir / runs.FINAL_MODEL}")


def demo(out="runs/demo", minutes=DEMO_MINUTES, preset=None, started=None,
         clock=time.monotonic, verbose="auto", **settings):
    """Trains the demo preset on the embedded demo cohort for at most ``minutes`` in all.

    The time budget covers everything from ``started`` (default: now): building the cohort
    (the first time), loading it, tracing and training; ``DEMO_RESERVE_MINUTES`` of it are
    kept for the last checkpoint and the final model. The preset's epochs are an upper bound.
    Without a ``preset``, a few timed steps choose one for the machine
    (``speed.choose_demo_preset``): ``DEMO_PRESET``, or where the budget allows fewer than
    ``DEMO_SMALL_BUDGET_IMAGES`` images of it, ``DEMO_SMALL_BUDGET_PRESET``.

    Args:
        out: the run folder (replaced).
        minutes: the whole budget.
        preset: the settings to train (default: chosen for the machine).
        started: when the budget began, on ``clock`` (the command line passes its start).
        clock: seconds, for the budget.
        **settings: run settings that override the preset's.

    Returns:
        A ``DemoResult``.
    """
    started = clock() if started is None else started

    def minutes_left():
        spent = (clock() - started) / 60
        budget = minutes - spent - DEMO_RESERVE_MINUTES
        if budget <= 0:
            raise ValueError(f"The demo's budget of {minutes} minutes leaves no time to train "
                             f"after {spent:.1f} minutes of start-up. Received: "
                             f"minutes={minutes}")
        return budget

    if preset is None:
        preset = choose_demo_preset(min(minutes_left(), settings.get("minutes") or minutes),
                                    settings)
    config = get_preset(preset).replace(**settings)
    budget = minutes_left()
    config = config.replace(minutes=min(budget, config.schedule.minutes or budget))
    logger.info("Training %s for at most %.1f minutes in all (its cohort built the first "
                "time included), into %s.", preset, minutes, out)
    gan = train(config, out, overwrite=True, verbose=verbose, clock=clock)
    return DemoResult(gan, Path(out), _state(out)["images"], (clock() - started) / 60,
                      checkpoint_position(out) != (run_epochs(config), 0))


def new_run_folder(run_dir, config):
    """Empties (or creates) ``run_dir`` and writes the run's ``config.json`` into it."""
    run_dir = Path(run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    config.save(run_dir / runs.CONFIG)


def resume(run_dir, epochs=None, verbose="auto", extra_callbacks=(), minutes=None,
           clock=time.monotonic):
    """Continues an interrupted run from its last checkpoint (the last finished epoch, or the
    step where a time budget stopped it).

    Args:
        run_dir: a run folder written by ``train``.
        epochs: a new total number of epochs (default: the run's own).
        minutes: a new time budget for this continuation (default: the run's own).
        clock: the time budget's clock, in seconds.

    Returns:
        The trained ``GAN``.
    """
    run_dir = Path(run_dir)
    if not (run_dir / runs.CONFIG).exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder: it has no {runs.CONFIG}")
    config = RunConfig.load(run_dir / runs.CONFIG)
    if runs.trained_in_memory(run_dir):
        raise ValueError(f"{run_dir} trained on a selection of slices given in memory (a "
                         "utility regime's subjects), not on its configured source: resuming "
                         "it from the source would train on other subjects. Train it again.")
    if epochs is not None or minutes is not None:
        config = config.replace(epochs=epochs, minutes=minutes)
        config.save(run_dir / runs.CONFIG)
    budget = time_budget(config, clock)
    gan, done, history = load_checkpoint(run_dir, config)
    return fit_run(gan, config, run_dir, checkpoint_position(run_dir), history, verbose,
                   extra_callbacks, budget=budget, clock=clock)


def load_checkpoint(run_dir, config):
    """The state of a run folder at its last checkpoint, with the half-written temporaries of
    a killed run removed (the files they were to replace are intact).

    Returns:
        ``(gan, epochs_done, history)``: the compiled GAN with its optimizer state, and the
        history of the finished epochs (``checkpoint_position`` also tells the batches done
        of a budget-stopped epoch); a fresh GAN, 0 and ``{}`` without a checkpoint.
    """
    run_dir = Path(run_dir)
    for stale in [*run_dir.glob(".*.tmp*"), *run_dir.glob("samples/.*.tmp*")]:
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    done, step = checkpoint_position(run_dir)
    if not done and not step:  # Killed before its first checkpoint: start it again.
        classes = masks = None
        if _knows_data(config):
            dataset = make_dataset(config)
            if config.data.labels:
                classes = (dataset.class_names, dataset.class_counts)
            masks = getattr(dataset, "mask_classes", None)
        gan = builders.build_gan(config, classes=classes, masks=masks)
        return builders.compile_gan(gan, config), 0, {}
    with builders.run_scope(config):
        gan = keras.models.load_model(run_dir / runs.CHECKPOINT)
    return gan, done, run_callbacks.read_history(run_dir / runs.HISTORY, epochs=done)


def schedule_stages(config, images_per_epoch):
    """The run's stages: one per resolution for a progressive architecture (see
    ``progan.growth_schedule``), else one stage of the whole run at the data resolution."""
    schedule = config.schedule
    if not is_progressive(config.model.arch):
        epochs = run_config.DEFAULT_EPOCHS if schedule.epochs is None else schedule.epochs
        return [Stage(config.data.resolution, 0, 0, epochs)]
    phase_epochs = schedule.phase_epochs
    if schedule.phase_images > 0:
        phase_epochs = math.ceil(schedule.phase_images / images_per_epoch)
    architecture = get_architecture(config.model.arch)
    return architecture.growth_schedule(config.data.resolution, phase_epochs, schedule.epochs)


def run_epochs(config, images_per_epoch=None):
    """How many epochs the run of ``config`` lasts: its ``epochs``, or without them the growth
    schedule of a progressive architecture (``images_per_epoch`` is needed only with
    ``phase_images``) and ``DEFAULT_EPOCHS`` for the others."""
    return schedule_stages(config, images_per_epoch)[-1].stop


def _metrics_callback(config, run_dir):
    """``GANMetrics`` against the training data when ``metrics_every`` > 0; the reference
    statistics are fitted once and kept in the run folder. They are of the images (of pairs
    too: the measures see a pair GAN's images, as ``GAN.generate`` returns them)."""
    schedule = config.schedule
    if schedule.metrics_every <= 0:
        return []
    options = dataclasses.replace(slice_options(config), masks=None, mask_classes=None)
    stats = runs.load_reference(config.data.source, config.data.resolution,
                                n=schedule.metrics_n,
                                stats_path=run_dir / runs.REFERENCE_STATS, seed=schedule.seed,
                                options=options)
    return [run_callbacks.GANMetrics(stats, n=schedule.metrics_n, every=schedule.metrics_every,
                                     seed=schedule.seed)]


def fit_run(gan, config, run_dir, position, history, verbose, extra_callbacks, dataset=None,
         budget=None, clock=time.monotonic):
    """Trains ``gan`` from ``position`` (``(epoch, step)``: whole epochs done and batches of
    the next) to ``config.schedule.epochs`` into ``run_dir`` (with the run's dataset unless
    one is given), stage by stage, and writes the final model, unless the time ``budget`` (a
    ``TimeBudget``) stops it first.

    The run's randomness is seeded from its seed, and with ``deterministic`` TensorFlow's ops
    are deterministic, only while it trains: the caller's random generators and determinism
    setting are as they were afterwards.

    A NaN or Inf loss stops the run with ``NonFiniteLossError``; with ``on_nan="rollback"``
    the run instead goes back to its last checkpoint and continues with both learning rates
    lowered.

    With ``lr_decay``, ``LearningRateDecay`` scales both learning rates by the run's progress;
    its time counts on ``clock`` (the budget's, when there is one) from this call, after the
    seconds ``state.json`` records of earlier sessions."""
    schedule = config.schedule
    clock = budget.clock if budget is not None else clock
    advice = onednn_advice(onednn_enabled())
    if advice:
        logger.warning(advice)
    # Each epoch's shuffle order depends on the seed and on TensorFlow's global seed: the
    # same in a run and in its resumption.
    with op_determinism(schedule.deterministic), random_scope(schedule.seed):
        return _fit_in_scope(gan, config, Path(run_dir), position, history, verbose,
                             extra_callbacks, dataset, budget, _run_seconds(run_dir, budget,
                                                                            clock))


def _run_seconds(run_dir, budget, clock):
    """A callable giving the run's seconds so far: those ``state.json`` records of earlier
    sessions plus this session's (since its budget started, else since now)."""
    before = float(_state(run_dir).get("seconds", 0.0))
    origin = budget.start if budget is not None else clock()
    return lambda: before + clock() - origin


def _lr_decay(config, stages, steps, position, budget, seconds):
    """The run's ``LearningRateDecay`` callbacks (none without ``lr_decay``)."""
    opt = config.optimizer
    if opt.lr_decay == "none":
        return []
    timed = {}
    if budget is not None:  # The seconds before this session, plus its budget.
        timed = dict(seconds=seconds,
                     total_seconds=seconds() - budget.elapsed + 60 * budget.minutes)
    return [run_callbacks.LearningRateDecay(
        opt.lr_decay, opt.lr_decay_start, opt.lr_decay_final, stages[-1].stop * steps, steps,
        first_step=position[1], **timed)]


def _fit_in_scope(gan, config, run_dir, position, history, verbose, extra_callbacks, dataset,
                  budget, seconds):
    schedule = config.schedule
    if dataset is None:
        dataset = make_dataset(config)
    steps = steps_per_epoch(dataset, config.data.batch_size)
    stages = schedule_stages(config, steps * config.data.batch_size)
    metrics = _metrics_callback(config, run_dir)
    rollbacks = 0
    while True:
        decay = _lr_decay(config, stages, steps, position, budget, seconds)
        saves = run_callbacks.SaveSchedule(
            schedule.save_minutes, clock=budget.clock if budget else time.monotonic)
        callbacks = [
            run_callbacks.NaNGuard(),
            *metrics,
            *extra_callbacks,
            saves,
            run_callbacks.SampleGrid(run_dir / "samples", n=schedule.sample_count,
                                     seed=schedule.seed, schedule=saves),
            *([run_callbacks.RunTensorBoard(run_dir / runs.TENSORBOARD, run_dir / "samples")]
              if schedule.tensorboard else []),
            # After TensorBoard (it logs the decayed rates), before the checkpoint (it holds
            # the undecayed ones).
            *decay,
            run_callbacks.RunCheckpoint(run_dir, history, steps, first_step=position[1],
                                        batch_size=config.data.batch_size,
                                        seconds=seconds if decay else None,
                                        schedule=saves),
            *([budget] if budget else []),
        ]
        try:
            gan = _fit_stages(gan, config, dataset, stages, steps, position, callbacks,
                              verbose, budget)
            break
        except run_callbacks.NonFiniteLossError as error:
            done = checkpoint_position(run_dir)[0]
            if schedule.on_nan != "rollback" or rollbacks >= schedule.nan_rollbacks:
                where = (f"the last good checkpoint (epoch {done}) is "
                         f"{run_dir / runs.CHECKPOINT}" if done else
                         "no epoch finished, so there is no checkpoint")
                raise run_callbacks.NonFiniteLossError(
                    error.epoch, error.step, error.term, error.value,
                    f"{where}. Resume with `keras-mrigan train --resume {run_dir}`, or train "
                    "with --on-nan rollback to go back to it with lower learning rates."
                    + (f" ({rollbacks} rollbacks done.)" if rollbacks else "")) from None
            rollbacks += 1
            # Lower the undecayed rates: the decay's factor applies on top of them.
            rates = [rate * schedule.nan_lr_factor for rate in (
                decay[0].base if decay and decay[0].base is not None else
                (float(o.learning_rate) for o in (gan.g_optimizer, gan.d_optimizer)))]
            gan, _, history = load_checkpoint(run_dir, config)
            position = checkpoint_position(run_dir)
            gan.g_optimizer.learning_rate, gan.d_optimizer.learning_rate = rates
            logger.warning("%s Rolled back to epoch %d; learning rates now G %.3g, D %.3g "
                           "(rollback %d of %d).", error, position[0], rates[0], rates[1],
                           rollbacks, schedule.nan_rollbacks)
    done, step = checkpoint_position(run_dir)
    if budget is not None and budget.expired and (done, step) != (stages[-1].stop, 0):
        logger.info("The time budget of %g minutes ended the run at epoch %d%s (%s images); "
                    "`keras-mrigan train --resume %s` continues it.", budget.minutes,
                    done, f", step {step}" if step else "",
                    f"{_state(run_dir)['images']:,}", run_dir)
    # A run its time budget ended is finished too: its model is what that budget bought.
    with atomic_path(run_dir / runs.FINAL_MODEL) as tmp:
        gan.save(tmp)
    return gan


def _state(run_dir):
    """A run folder's ``state.json`` (``{}`` before its first checkpoint)."""
    state = Path(run_dir) / runs.STATE
    return json.loads(state.read_text()) if state.exists() else {}


def checkpoint_position(run_dir):
    """``(epochs, steps)``: the whole epochs a run folder's checkpoint holds, and the batches
    of the next one (a time budget stops runs between epochs' ends)."""
    state = _state(run_dir)
    return state.get("epoch", 0), state.get("step", 0)


def _fit_stages(gan, config, dataset, stages, steps, position, callbacks, verbose,
                budget=None):
    """One ``model.fit`` per stage not yet finished, on the batches of its epochs (each
    epoch's order fixed by the seed and the epoch's number), from ``position`` (``(epoch,
    step)``; the rest of a budget-stopped epoch is one ``fit`` of its own, on that epoch's
    batches after the first ``step``). Stops where the time ``budget`` runs out; returns the
    last stage's GAN."""
    epoch, step = position
    for stage in stages:
        while epoch < stage.stop and not (budget is not None and budget.expired):
            if gan.resolution != stage.resolution:
                gan = builders.grow_gan(gan, config, stage.resolution)
            first = max(stage.start, epoch)
            last = first + 1 if step else stage.stop
            fade = ([run_callbacks.FadeIn(stage.start, stage.fade_epochs, steps, step)]
                    if stage.fade_epochs else [])
            clock = run_callbacks.RunClock(
                last - first, steps - step,
                (stage.resolution, stage is stages[-1]) if is_progressive(config.model.arch)
                else None, budget=budget)
            batches = batch_epochs(dataset, config.data.batch_size,
                                   shuffle_buffer=config.data.shuffle_buffer,
                                   seed=config.schedule.seed, epochs=last, initial_epoch=first,
                                   view_resolution=stage.resolution)
            gan.fit(batches.skip(step), epochs=last, initial_epoch=first,
                    steps_per_epoch=steps - step, callbacks=[clock, *fade, *callbacks],
                    verbose=verbose, shuffle=False)
            epoch, step = last, 0
    return gan
