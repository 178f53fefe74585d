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
from pathlib import Path

import keras
import numpy as np

from keras_mrigan import callbacks as run_callbacks
from keras_mrigan.builders import (
    build_gan,
    check_run_options,
    compile_gan,
    get_strategy,
    grow_gan,
    run_scope,
)
from keras_mrigan.config import DEFAULT_EPOCHS, NAN_POLICIES, PRECISIONS, STRATEGIES, RunConfig
from keras_mrigan.data import labels as labels_module
from keras_mrigan.data import readers
from keras_mrigan.data.pipeline import (
    SliceOptions,
    batch_epochs,
    label_files,
    resolve_source,
    slice_dataset,
    with_classes,
)
from keras_mrigan.models import get_architecture, is_progressive
from keras_mrigan.models.progan import Stage
from keras_mrigan.runs import (
    CONFIG,
    FINAL_MODEL,
    REFERENCE_STATS,
    SPLIT,
    TENSORBOARD,
    load_reference,
    read_split,
    write_split,
)
from keras_mrigan.utils import atomic_path, op_determinism, random_scope

# Names that lived here before the builders and the run-folder format had modules of their
# own; they stay importable from ``keras_mrigan.training``.
__all__ = [
    "CONFIG", "DEFAULT_EPOCHS", "FINAL_MODEL", "NAN_POLICIES", "PRECISIONS", "REFERENCE_STATS",
    "SPLIT", "STRATEGIES", "TENSORBOARD", "build_gan", "check_run_options", "compile_gan",
    "get_strategy", "grow_gan", "load_checkpoint", "make_dataset", "new_run_folder",
    "read_split", "resume", "run_epochs", "run_labels", "run_scope", "schedule_stages",
    "slice_options", "steps_per_epoch", "train", "training_subjects", "write_split",
]

logger = logging.getLogger(__name__)


def make_dataset(config, slices=None, labels=None):
    """The training slices of a ``RunConfig``, decoded (and cached) once, unbatched: ``_fit``
    batches them epoch by epoch with ``data.pipeline.batch_epochs``. With labels, the
    dataset holds ``(image, label)`` pairs and has ``class_names`` and ``class_counts``.

    Args:
        slices: the run's slices already decoded (``(N, r, r, 1)`` in ``[-1, 1]``, as
            ``data.pipeline.load_slices`` returns them), to skip reading ``config.data.source``;
            the batches are the same.
        labels: with ``slices``, their class indices, or ``(class indices, class names)``.
    """
    data = config.data
    if slices is not None:
        if labels is None:
            return slice_dataset(slices, data.resolution)
        classes, names = labels if isinstance(labels, tuple) else (labels, None)
        dataset = slice_dataset(slices, data.resolution, labels=classes)
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
    labelled = label_files(config.data.source, run_labels(config), options)
    if labelled is not None:
        files = labelled.files
    else:
        files = readers.find_files(resolve_source(config.data.source), options.include_masks,
                                   options.pattern)
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


def train(config, run_dir, overwrite=False, verbose="auto", extra_callbacks=(), data=None):
    """Trains a GAN into a new run folder.

    With ``config.data.labels`` the data are labelled and the GAN is conditional, with the
    data's classes and class frequencies. The run records the subjects it trains on in
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
            ``labels`` (class indices), ``class_names`` and ``subjects`` (one per image).

    Returns:
        The trained ``GAN``.
    """
    run_dir = Path(run_dir)
    # Bad settings fail before any file is made.
    if data is not None:
        labels = data.get("labels")
        dataset = make_dataset(config, data["images"], None if labels is None else
                               (np.asarray(labels), data.get("class_names")))
        subjects = sorted(set(map(str, data.get("subjects", []))))
    else:
        dataset = make_dataset(config) if config.data.labels else None
        subjects = None
    classes = ((dataset.class_names, dataset.class_counts)
               if hasattr(dataset, "class_names") else None)
    gan = compile_gan(build_gan(config, classes=classes), config)
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
        write_split(run_dir, subjects, in_memory=data is not None)
    return _fit(gan, config, run_dir, 0, {}, verbose, extra_callbacks, dataset)


def new_run_folder(run_dir, config):
    """Empties (or creates) ``run_dir`` and writes the run's ``config.json`` into it."""
    run_dir = Path(run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    config.save(run_dir / CONFIG)


def resume(run_dir, epochs=None, verbose="auto", extra_callbacks=()):
    """Continues an interrupted run from its last finished epoch.

    Args:
        run_dir: a run folder written by ``train``.
        epochs: a new total number of epochs (default: the run's own).

    Returns:
        The trained ``GAN``.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder: it has no {CONFIG}")
    config = RunConfig.load(run_dir / CONFIG)
    split = run_dir / SPLIT
    if split.exists() and json.loads(split.read_text()).get("in_memory"):
        raise ValueError(f"{run_dir} trained on a selection of slices given in memory (a "
                         "utility regime's subjects), not on its configured source: resuming "
                         "it from the source would train on other subjects. Train it again.")
    if epochs is not None:
        config = config.replace(epochs=epochs)
        config.save(run_dir / CONFIG)
    gan, done, history = load_checkpoint(run_dir, config)
    return _fit(gan, config, run_dir, done, history, verbose, extra_callbacks)


def load_checkpoint(run_dir, config):
    """The state of a run folder after its last finished epoch, with the half-written
    temporaries of a killed run removed (the files they were to replace are intact).

    Returns:
        ``(gan, epochs_done, history)``: the compiled GAN with its optimizer state, and the
        history of the finished epochs; a fresh GAN, 0 and ``{}`` if no epoch finished.
    """
    run_dir = Path(run_dir)
    for stale in [*run_dir.glob(".*.tmp*"), *run_dir.glob("samples/.*.tmp*")]:
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    done = _epochs_done(run_dir)
    if not done:  # Killed before its first epoch ended: start it again.
        classes = None
        if config.data.labels:
            dataset = make_dataset(config)
            classes = (dataset.class_names, dataset.class_counts)
        return compile_gan(build_gan(config, classes=classes), config), 0, {}
    with run_scope(config):
        gan = keras.models.load_model(run_dir / run_callbacks.CHECKPOINT)
    return gan, done, run_callbacks.read_history(run_dir / run_callbacks.HISTORY, epochs=done)


def schedule_stages(config, images_per_epoch):
    """The run's stages: one per resolution for a progressive architecture (see
    ``progan.growth_schedule``), else one stage of the whole run at the data resolution."""
    schedule = config.schedule
    if not is_progressive(config.model.arch):
        epochs = DEFAULT_EPOCHS if schedule.epochs is None else schedule.epochs
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
    statistics are fitted once and kept in the run folder."""
    schedule = config.schedule
    if schedule.metrics_every <= 0:
        return []
    stats = load_reference(config.data.source, config.data.resolution, n=schedule.metrics_n,
                           stats_path=run_dir / REFERENCE_STATS, seed=schedule.seed,
                           options=slice_options(config))
    return [run_callbacks.GANMetrics(stats, n=schedule.metrics_n, every=schedule.metrics_every,
                                     seed=schedule.seed)]


def _fit(gan, config, run_dir, initial_epoch, history, verbose, extra_callbacks, dataset=None):
    """Trains ``gan`` from ``initial_epoch`` to ``config.schedule.epochs`` into ``run_dir``
    (with the run's dataset unless one is given), stage by stage, and writes the final model.

    The run's randomness is seeded from its seed, and with ``deterministic`` TensorFlow's ops
    are deterministic, only while it trains: the caller's random generators and determinism
    setting are as they were afterwards.

    A NaN or Inf loss stops the run with ``NonFiniteLossError``; with ``on_nan="rollback"``
    the run instead goes back to its last checkpoint and continues with both learning rates
    lowered."""
    schedule = config.schedule
    # Each epoch's shuffle order depends on the seed and on TensorFlow's global seed: the
    # same in a run and in its resumption.
    with op_determinism(schedule.deterministic), random_scope(schedule.seed):
        return _fit_in_scope(gan, config, Path(run_dir), initial_epoch, history, verbose,
                             extra_callbacks, dataset)


def _fit_in_scope(gan, config, run_dir, initial_epoch, history, verbose, extra_callbacks,
                  dataset):
    schedule = config.schedule
    if dataset is None:
        dataset = make_dataset(config)
    steps = steps_per_epoch(dataset, config.data.batch_size)
    stages = schedule_stages(config, steps * config.data.batch_size)
    metrics = _metrics_callback(config, run_dir)
    rollbacks = 0
    while True:
        callbacks = [
            run_callbacks.NaNGuard(),
            *metrics,
            *extra_callbacks,
            run_callbacks.SampleGrid(run_dir / "samples", n=schedule.sample_count,
                                     seed=schedule.seed),
            *([run_callbacks.RunTensorBoard(run_dir / TENSORBOARD, run_dir / "samples")]
              if schedule.tensorboard else []),
            run_callbacks.RunCheckpoint(run_dir, history),
        ]
        try:
            gan = _fit_stages(gan, config, dataset, stages, steps, initial_epoch, callbacks,
                              verbose)
            break
        except run_callbacks.NonFiniteLossError as error:
            done = _epochs_done(run_dir)
            if schedule.on_nan != "rollback" or rollbacks >= schedule.nan_rollbacks:
                where = (f"the last good checkpoint (epoch {done}) is "
                         f"{run_dir / run_callbacks.CHECKPOINT}" if done else
                         "no epoch finished, so there is no checkpoint")
                raise run_callbacks.NonFiniteLossError(
                    error.epoch, error.step, error.term, error.value,
                    f"{where}. Resume with `keras-mrigan train --resume {run_dir}`, or train "
                    "with --on-nan rollback to go back to it with lower learning rates."
                    + (f" ({rollbacks} rollbacks done.)" if rollbacks else "")) from None
            rollbacks += 1
            rates = [float(o.learning_rate) * schedule.nan_lr_factor
                     for o in (gan.g_optimizer, gan.d_optimizer)]
            gan, initial_epoch, history = load_checkpoint(run_dir, config)
            gan.g_optimizer.learning_rate, gan.d_optimizer.learning_rate = rates
            logger.warning("%s Rolled back to epoch %d; learning rates now G %.3g, D %.3g "
                           "(rollback %d of %d).", error, initial_epoch, rates[0], rates[1],
                           rollbacks, schedule.nan_rollbacks)
    with atomic_path(run_dir / FINAL_MODEL) as tmp:
        gan.save(tmp)
    return gan


def _epochs_done(run_dir):
    state = Path(run_dir) / run_callbacks.STATE
    return json.loads(state.read_text())["epoch"] if state.exists() else 0


def _fit_stages(gan, config, dataset, stages, steps, initial_epoch, callbacks, verbose):
    """One ``model.fit`` per stage not yet finished, on the batches of its epochs (each
    epoch's order fixed by the seed and the epoch's number); returns the last stage's GAN."""
    for stage in stages:
        if stage.stop <= initial_epoch:
            continue
        if gan.resolution != stage.resolution:
            gan = grow_gan(gan, config, stage.resolution)
        fade = ([run_callbacks.FadeIn(stage.start, stage.fade_epochs, steps)]
                if stage.fade_epochs else [])
        first = max(stage.start, initial_epoch)
        clock = run_callbacks.RunClock(
            stage.stop - first, steps,
            (stage.resolution, stage is stages[-1]) if is_progressive(config.model.arch)
            else None)
        batches = batch_epochs(dataset, config.data.batch_size,
                               shuffle_buffer=config.data.shuffle_buffer,
                               seed=config.schedule.seed,
                               epochs=stage.stop, initial_epoch=first,
                               view_resolution=stage.resolution)
        gan.fit(batches, epochs=stage.stop, initial_epoch=first, steps_per_epoch=steps,
                callbacks=[clock, *fade, *callbacks], verbose=verbose, shuffle=False)
    return gan
