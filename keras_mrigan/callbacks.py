"""Callbacks for GAN training runs: sample grids, the progressive fade-in, and crash-safe run
checkpoints."""

import csv
import io
import json
import logging
import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_mrigan import runs
from keras_mrigan.deprecation import moved
from keras_mrigan.metrics.reference import cheap_measures
from keras_mrigan.plotting import pair_grid_columns, pair_tiles, plot_history, save_image_grid
from keras_mrigan.utils import atomic_path, format_duration

__all__ = [
    "LR_DECAYS", "FadeIn", "GANMetrics", "LearningRateDecay", "NaNGuard", "NonFiniteLossError",
    "RunCheckpoint", "RunClock", "RunTensorBoard", "SampleGrid", "SaveSchedule", "TimeBudget",
    "decay_factor", "read_history",
]

logger = logging.getLogger(__name__)

# The run folder's file names moved to ``keras_mrigan.runs``.
__getattr__ = moved(__name__, ("CHECKPOINT", "HISTORY", "LOSS_CURVES", "STATE"),
                    "keras_mrigan.runs")


class SaveSchedule(keras.callbacks.Callback):
    """Decides at each epoch's end whether the run writes what it keeps (its checkpoint and
    sample grid): after every epoch (``minutes=0``), or at the first epoch end at least
    ``minutes`` after the last write. The callbacks that write (``SampleGrid``,
    ``RunCheckpoint``) share one instance, placed before them, so they write at the same
    epochs; at the end of every ``fit`` (the run's end, a time budget's, a progressive
    stage's) each writes the last epoch if it has not yet.

    Writing costs a fixed time per write (a checkpoint, a grid, the loss curves): with many
    short epochs it can outweigh the training itself, which is what ``minutes`` bounds.

    Args:
        minutes: the least time between two writes (0: every epoch).
        clock: seconds from any origin (default ``time.monotonic``); tests inject their own.
    """

    def __init__(self, minutes=0.0, clock=time.monotonic):
        super().__init__()
        if not minutes >= 0:
            raise ValueError(f"`minutes` must be >= 0. Received: minutes={minutes!r}")
        self.seconds = 60.0 * minutes
        self.clock = clock
        # Every epoch writes when ``minutes`` is 0, and the clock is never read.
        self.last = clock() if self.seconds else 0.0
        self.writes = True  # Whether this epoch's end writes (read by the writers).

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds:
            now = self.clock()
            self.writes = now - self.last >= self.seconds
            if self.writes:
                self.last = now


class _Deferred(keras.callbacks.Callback):
    """A callback that writes at the epochs its ``SaveSchedule`` says, and at the end of each
    ``fit`` the last epoch it skipped."""

    def __init__(self, schedule=None):
        super().__init__()
        self.schedule = schedule
        self.pending = None

    def on_train_begin(self, logs=None):
        self.pending = None

    def defer(self, write, *args):
        """Writes now, or at the end of the ``fit`` if a later epoch does not first."""
        if self.schedule is None or self.schedule.writes:
            self.pending = None
            write(*args)
        else:
            self.pending = (write, args)

    def on_train_end(self, logs=None):
        if self.pending is not None:
            write, args = self.pending
            self.pending = None
            write(*args)


class SampleGrid(_Deferred):
    """Writes a PNG grid of images generated from fixed latents after every epoch (of
    image and mask pairs: each image beside its mask, see ``plotting.pair_tiles``), or at the
    epochs a ``SaveSchedule`` says.

    The same latents every epoch make the grids a film of the training.

    Args:
        directory: folder for ``epoch_001.png``, ``epoch_002.png``, ... and ``latest.png``.
        n: images per grid.
        seed: seed of the fixed latents.
        schedule: a ``SaveSchedule`` (placed before this callback), or ``None``: every epoch.
    """

    def __init__(self, directory, n=64, seed=0, schedule=None):
        super().__init__(schedule)
        self.directory = Path(directory)
        self.n = n
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        self.defer(self.write, epoch)

    def write(self, epoch):
        # A conditional GAN shows its classes in turn: 0, 1, ..., 0, 1, ...
        classes = self.model.num_classes
        label = [i % classes for i in range(self.n)] if classes else None
        grid = self.directory / f"epoch_{epoch + 1:03d}.png"
        if self.model.mask_classes is None:
            path = save_image_grid(self.model.generate(self.n, seed=self.seed, label=label), grid)
        else:  # Image and mask pairs: each image beside its mask.
            images, masks = self.model.generate(self.n, seed=self.seed, label=label,
                                                return_masks=True)
            path = save_image_grid(pair_tiles(images, masks, self.model.mask_classes.num_classes),
                                   grid, ncols=pair_grid_columns(self.n))
        with atomic_path(self.directory / "latest.png") as tmp:
            shutil.copyfile(path, tmp)


class RunClock(keras.callbacks.Callback):
    """Says what a run costs, as it starts: the parameter counts of both networks when each
    ``fit`` (each progressive stage) begins; after its first timed batches the expected
    duration; after its first whole epoch (sample grids and checkpoint included) the expected
    duration again.

    The first batch is not timed (it traces and compiles the train step).

    Args:
        epochs: epochs this ``fit`` runs (from its initial epoch).
        steps_per_epoch: batches per epoch (unknown, 0 or less: only the per-epoch estimate).
        stage: ``(resolution, is_last)`` of a progressive stage, else ``None``: only the
            stage's duration can be foretold, since later stages cost more per batch.
        timed_batches: batches timed for the first estimate.
        print_fn: where the lines go (default: the ``keras_mrigan.callbacks`` logger, at
            level INFO).
        budget: the run's ``TimeBudget``, if any: an estimate beyond what is left of it says
            that the budget will end the run first.
    """

    def __init__(self, epochs, steps_per_epoch, stage=None, timed_batches=8, print_fn=None,
                 budget=None):
        super().__init__()
        self.budget = budget
        self.total = epochs * steps_per_epoch if steps_per_epoch > 0 else 0
        self.epochs = epochs
        self.stage = stage
        self.timed_batches = timed_batches
        self.print_fn = print_fn or logger.info

    def on_train_begin(self, logs=None):
        counts = (f"generator {self.model.generator.count_params():,} parameters, "
                  f"discriminator {self.model.discriminator.count_params():,}")
        where = f"stage {self.stage[0]}x{self.stage[0]}: " if self.stage else ""
        self.print_fn(f"{where}{counts}")
        self.batches = self.epochs_seen = 0
        self.started = self.epoch_started = None

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == 1:
            self.started = time.perf_counter()
            return
        timed = self.batches - 1
        if self.total and timed == min(self.timed_batches, self.total - 1):
            per_batch = (time.perf_counter() - self.started) / timed
            self._say(per_batch * (self.total - 1), f"{per_batch:.2f} s per batch")

    def on_epoch_begin(self, epoch, logs=None):
        now = time.perf_counter()
        if self.epochs_seen == 1 and self.epochs > 2:
            self._say((now - self.epoch_started) * self.epochs,
                      f"{format_duration(now - self.epoch_started)} per epoch")
        self.epochs_seen += 1
        self.epoch_started = now

    def _say(self, seconds, rate):
        what = "this stage" if self.stage else "the run"
        later = ("; later stages cost more per batch" if self.stage and not self.stage[1]
                 else "")
        # Under Keras' progress bar (verbose 1) the line would continue the bar's.
        bar = "\n" if self.params.get("verbose") == 1 else ""
        # What the budget saw at the last batch's end: reading its clock again here would
        # count as time in a run whose clock is driven by its reads (the tests').
        left = (None if self.budget is None
                else max(60 * self.budget.minutes - self.budget.seen, 0.0))
        if left is not None and seconds > left:
            self.print_fn(f"{bar}expected duration of {what}: about {format_duration(seconds)} "
                          f"({rate}){later}; its time budget ends it in about "
                          f"{format_duration(left)}")
            return
        self.print_fn(f"{bar}expected duration of {what}: about {format_duration(seconds)} "
                      f"({rate}){later}")


class RunTensorBoard(keras.callbacks.Callback):
    """TensorBoard event files of a GAN run: every epoch's ``logs`` (losses, quality
    measures, and whatever else callbacks put there) as scalars ``epoch_<name>``, plus the
    learning rates of both optimizers and the epoch's sample grid as an image ``samples``,
    in ``log_dir/train`` (where Keras' ``TensorBoard`` callback puts its training scalars).

    Place it after ``SampleGrid``, whose PNG of the epoch it shows.

    Args:
        log_dir: the run's ``tensorboard/`` folder.
        samples: the ``SampleGrid`` folder (``epoch_001.png``, ...), or ``None``.
    """

    def __init__(self, log_dir, samples=None):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.samples = None if samples is None else Path(samples)
        self._writer = None

    def _train_writer(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir / "train"))
        return self._writer

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        for name in ("g", "d"):
            optimizer = getattr(self.model, f"{name}_optimizer")
            optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # Loss scaling.
            logs[f"{name}_learning_rate"] = float(keras.ops.convert_to_numpy(
                optimizer.learning_rate))
        grid = self.samples and self.samples / f"epoch_{epoch + 1:03d}.png"
        writer = self._train_writer()
        with writer.as_default():
            for name, value in logs.items():
                tf.summary.scalar(f"epoch_{name}", float(value), step=epoch)
            if grid and grid.exists():
                from PIL import Image

                image = np.asarray(Image.open(grid).convert("L"))[None, :, :, None]
                tf.summary.image("samples", image, step=epoch)
        writer.flush()

    def on_train_end(self, logs=None):
        # Each fit (each progressive stage) closes its event file; the next one opens another
        # in the same folder, which TensorBoard reads as one run.
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _EpochSteps(keras.callbacks.Callback):
    """Knows, before every batch, the epoch and the batch's index within it, counting the
    ``first_step`` batches of the ``fit``'s first epoch done before it (a run resumed in the
    middle of an epoch feeds only that epoch's remaining batches)."""

    def __init__(self, first_step=0):
        super().__init__()
        self.first_step = first_step
        self.epoch = 0
        self._offset = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._offset, self.first_step = self.first_step, 0

    def step(self, batch):
        """The index within its epoch of the ``fit``'s batch ``batch``."""
        return self._offset + batch


class FadeIn(_EpochSteps):
    """Raises the fade-in weight ``alpha`` of a progressive GAN linearly from 0 to 1.

    Before every batch of epochs ``[start_epoch, start_epoch + epochs)`` it sets ``alpha`` of
    every ``WeightedSum`` layer of the model's networks to the fraction of the fade-in's batches
    already done; from then on ``alpha`` is 1. ``alpha`` is a variable, so the compiled train
    step is not traced again. The value depends only on the epoch and batch index, so a run
    resumed at any step continues with the same sequence.

    Args:
        start_epoch: first epoch (0-based, counted over the whole run) of the fade-in.
        epochs: its length in epochs.
        steps_per_epoch: batches per epoch.
        first_step: batches of the ``fit``'s first epoch already done (a run resumed in the
            middle of an epoch).
    """

    def __init__(self, start_epoch, epochs, steps_per_epoch, first_step=0):
        super().__init__(first_step)
        if epochs < 1 or steps_per_epoch < 1:
            raise ValueError(
                f"FadeIn needs epochs >= 1 and steps_per_epoch >= 1. Received: epochs={epochs}, "
                f"steps_per_epoch={steps_per_epoch}"
            )
        self.start_epoch = start_epoch
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.epoch = start_epoch

    def alpha(self, epoch, batch):
        """The fade-in weight before batch ``batch`` of epoch ``epoch``."""
        done = (epoch - self.start_epoch) * self.steps_per_epoch + batch
        return min(1.0, max(0.0, done / (self.epochs * self.steps_per_epoch)))

    def on_train_batch_begin(self, batch, logs=None):
        alpha = self.alpha(self.epoch, self.step(batch))
        for layer in self.model.fade_layers:
            layer.alpha.assign(alpha)


class GANMetrics(keras.callbacks.Callback):
    """Computes quality measures on a fixed generated sample and puts them into ``logs``.

    At the end of every ``every``-th epoch (and of the last one) it generates ``n`` images from
    fixed latents and adds the measures named in ``metrics`` to the epoch's logs, where
    ``History``, ``TensorBoard``, the run's ``history.csv`` and Keras Tuner see them. Place it
    before those callbacks (``fit`` appends ``History`` last). Epochs without a measurement,
    and epochs of a progressive run below the reference's resolution, get no entry.

    Args:
        reference: a fitted ``metrics.ReferenceStats``.
        n: images generated per measurement.
        every: measure every ``every`` epochs.
        metrics: any of ``"rho"``, ``"sigma"``, ``"sigma_per_image"``, ``"delta"``,
            ``"swd"``, ``"ms_ssim"``.
        seed: seed of the fixed latents.
    """

    NAMES = ("rho", "sigma", "sigma_per_image", "delta", "swd", "ms_ssim")

    def __init__(self, reference, n=256, every=1,
                 metrics=("rho", "sigma_per_image", "delta", "swd"), seed=0):
        super().__init__()
        unknown = sorted(set(metrics) - set(self.NAMES))
        if unknown or not metrics:
            raise ValueError(f"Unknown or no metrics {unknown or list(metrics)}; valid: "
                             f"{list(self.NAMES)}")
        if n < 2 or every < 1:
            raise ValueError(f"GANMetrics needs n >= 2 and every >= 1 (n={n}, every={every}).")
        self.reference = reference
        self.n = n
        self.every = every
        self.metrics = tuple(metrics)
        self.seed = seed
        self.latest = {}  # The last measurement, with its (1-based) epoch.

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if logs is None or not ((epoch + 1) % self.every == 0 or last):
            return
        if self.model.resolution != self.reference.resolution:
            return
        images = self.model.generate(self.n, seed=self.seed)[..., 0]
        measures = cheap_measures(images, self.reference, self.metrics, seed=self.seed)
        logs.update(measures)
        self.latest = {**measures, "epoch": epoch + 1}


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or Inf during training."""

    def __init__(self, epoch, step, term, value, advice=""):
        self.epoch, self.step, self.term, self.value = epoch, step, term, value
        super().__init__(f"Training stopped: {term} is {value} at epoch {epoch}, step {step}."
                         + (f" {advice}" if advice else ""))


class NaNGuard(keras.callbacks.Callback):
    """Raises ``NonFiniteLossError`` after the first batch whose loss terms are NaN or Inf,
    naming the epoch, the step and the term, before the epoch's end writes a checkpoint (so
    the last one written stays the last good one).

    The terms are the GAN's running means of the epoch, which become non-finite at the batch
    where one value does.
    """

    TERMS = ("d_loss", "g_loss", "penalty", "d_real", "d_fake")

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for term in self.TERMS:
            value = (logs or {}).get(term)
            if value is not None and not math.isfinite(float(value)):
                raise NonFiniteLossError(self.epoch + 1, batch + 1, term, float(value))


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the first step boundary after a time budget: the epoch under way
    ends there (its callbacks run, so the run is checkpointed as after a whole epoch) and
    ``fit`` returns. One instance can span several ``fit`` calls (a progressive run's
    stages): the budget counts from its creation.

    Args:
        minutes: the budget.
        clock: seconds from any origin (default ``time.monotonic``); tests inject their own.
    """

    def __init__(self, minutes, clock=time.monotonic):
        super().__init__()
        if not minutes > 0:
            raise ValueError(f"`minutes` must be > 0. Received: minutes={minutes!r}")
        self.minutes = minutes
        self.clock = clock
        self.start = clock()
        self.expired = False
        self.seen = 0.0  # Seconds elapsed at the last batch's end (read without the clock).

    @property
    def elapsed(self):
        """Seconds since the budget started."""
        return self.clock() - self.start

    def on_train_batch_end(self, batch, logs=None):
        self.seen = self.elapsed
        if self.seen >= 60 * self.minutes:
            self.expired = True
            self.model.stop_training = True


LR_DECAYS = ("none", "cosine", "linear")


def decay_factor(kind, progress, start=0.5, final=0.25):
    """The learning-rate factor at a run's ``progress``: 1 until ``start``, then down to
    ``final`` at progress 1 along half a cosine (``"cosine"``) or a straight line
    (``"linear"``), and ``final`` beyond; always 1 for ``"none"``.

    With ``q = (progress - start) / (1 - start)``: ``final + (1 - final) (1 + cos(pi q)) / 2``
    (cosine), ``final + (1 - final) (1 - q)`` (linear).

    Args:
        kind: one of ``LR_DECAYS``.
        progress: the run's progress, 0 at its start and 1 at its planned end.
        start: the progress where the decay begins, in [0, 1).
        final: the factor at the end, in [0, 1].

    Returns:
        float.
    """
    if kind not in LR_DECAYS:
        raise ValueError(f"`kind` must be one of {LR_DECAYS}. Received: kind={kind!r}")
    if not 0 <= start < 1:
        raise ValueError(f"`start` must be in [0, 1). Received: start={start!r}")
    if not 0 <= final <= 1:
        raise ValueError(f"`final` must be in [0, 1]. Received: final={final!r}")
    if kind == "none" or progress <= start:
        return 1.0
    q = min(1.0, (progress - start) / (1.0 - start))
    shape = 1.0 - q if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * q))
    return final + (1.0 - final) * shape


class LearningRateDecay(_EpochSteps):
    """Multiplies the learning rates of both optimizers by ``decay_factor`` of the run's
    progress, set before every batch.

    The progress is the larger of two fractions, so it is defined for runs bounded by
    epochs, by a time budget, or both: the batches done over the batches the run's epochs
    plan, and the run's seconds so far over the seconds it may last. Both count from the
    run's beginning, so a resumed run continues the schedule where it stopped.

    The rates it multiplies (``base``) are those the optimizers hold when each ``fit``
    begins. At the end of every epoch it puts them back, before the run's checkpoint is
    written (place it after ``RunTensorBoard``, which logs the decayed rates, and before
    ``RunCheckpoint``): a checkpoint holds the undecayed rates, so the factor applies to what
    a resumed run loads, and a NaN rollback that lowers ``base`` is kept by the next ``fit``.

    Args:
        kind: ``"cosine"``, ``"linear"`` or ``"none"`` (see ``decay_factor``).
        start: the progress where the decay begins.
        final: the factor at the end of the run.
        total_steps: batches of the run's planned epochs (epochs times batches per epoch).
        steps_per_epoch: batches per epoch.
        first_step: batches of the first ``fit``'s first epoch done before it (a run
            resumed in the middle of an epoch).
        seconds: a callable giving the run's seconds so far (earlier sessions included), or
            ``None`` for a run without a time budget.
        total_seconds: the seconds the run may last (earlier sessions' seconds plus this
            session's budget), or ``None``.
    """

    def __init__(self, kind, start, final, total_steps, steps_per_epoch, first_step=0,
                 seconds=None, total_seconds=None):
        super().__init__(first_step)
        decay_factor(kind, 0.0, start, final)  # Checks the three.
        if total_steps < 1 or steps_per_epoch < 1:
            raise ValueError("LearningRateDecay needs total_steps >= 1 and steps_per_epoch >= "
                             f"1. Received: total_steps={total_steps}, "
                             f"steps_per_epoch={steps_per_epoch}")
        if (seconds is None) != (total_seconds is None) or (
                total_seconds is not None and not total_seconds > 0):
            raise ValueError("`seconds` and `total_seconds` (> 0) go together. Received: "
                             f"total_seconds={total_seconds!r}")
        self.kind, self.start, self.final = kind, start, final
        self.total_steps = total_steps
        self.steps_per_epoch = steps_per_epoch
        self.seconds = seconds
        self.total_seconds = total_seconds
        self.base = None
        self.factor = 1.0

    def progress(self, epoch, batch):
        """The run's progress before batch ``batch`` of epoch ``epoch`` (counted over the
        whole run, from 0), now."""
        steps = (epoch * self.steps_per_epoch + batch) / self.total_steps
        if self.seconds is None:
            return steps
        return max(steps, self.seconds() / self.total_seconds)

    def _optimizers(self):
        return (self.model.g_optimizer, self.model.d_optimizer)

    def _set(self, rates):
        for optimizer, rate in zip(self._optimizers(), rates, strict=True):
            optimizer.learning_rate = rate

    def on_train_begin(self, logs=None):
        self.base = tuple(float(keras.ops.convert_to_numpy(o.learning_rate))
                          for o in self._optimizers())
        self.factor = 1.0

    def on_train_batch_begin(self, batch, logs=None):
        factor = decay_factor(self.kind, self.progress(self.epoch, self.step(batch)),
                              self.start, self.final)
        if factor != self.factor:  # Assigning only on a change keeps "none"-like phases free.
            self._set([rate * factor for rate in self.base])
            self.factor = factor

    def on_epoch_end(self, epoch, logs=None):
        if self.factor != 1.0:
            self._set(self.base)
            self.factor = 1.0


class RunCheckpoint(_Deferred):
    """Keeps a run folder resumable: after every epoch (or at the epochs a ``SaveSchedule``
    says, and at the end of each ``fit``) it writes the history (CSV and loss curves), the
    whole model with its optimizer state, and last the epoch count.

    Every file is written to a temporary name and renamed, so a run killed at any moment
    leaves the previous epoch's files intact; ``state.json`` is written last, so it never
    points at an epoch whose checkpoint is missing.

    An epoch cut short (a time budget ran out) is checkpointed the same way, and
    ``state.json`` then says how many of its batches are done (``{"epoch": e, "step": k}``:
    ``e`` whole epochs and ``k`` batches of the next); its history row is written when the
    resumed run finishes the epoch (the means of its remaining batches).

    Args:
        run_dir: the run folder.
        history: metric history of earlier epochs (when resuming), as returned by
            ``read_history``.
        steps_per_epoch: batches of a whole epoch (``None``: every epoch is whole).
        first_step: batches of the ``fit``'s first epoch done before it (resuming in the
            middle of an epoch).
        batch_size: with ``steps_per_epoch``, ``state.json`` also counts the ``images`` the
            run has trained on.
        seconds: a callable giving the run's seconds so far: ``state.json`` then records
            them as ``seconds`` (a learning-rate decay's progress on resumption).
        schedule: a ``SaveSchedule`` (placed before this callback), or ``None``: every epoch.
    """

    def __init__(self, run_dir, history=None, steps_per_epoch=None, first_step=0,
                 batch_size=None, seconds=None, schedule=None):
        super().__init__(schedule)
        self.batch_size = batch_size
        self.seconds = seconds
        self.run_dir = Path(run_dir)
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.steps_per_epoch = steps_per_epoch
        self.first_step = first_step
        self.batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.batches, self.first_step = self.first_step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        whole = not self.steps_per_epoch or self.batches >= self.steps_per_epoch
        if whole:
            done = len(self.history.get("epoch", []))
            for key in set(self.history) | set(logs):
                if key != "epoch":  # Keys missing this epoch (or earlier ones) are NaN.
                    column = self.history.setdefault(key, [float("nan")] * done)
                    column.append(float(logs.get(key, float("nan"))))
            self.history.setdefault("epoch", []).append(epoch + 1)
        state = {"epoch": epoch + 1} if whole else {"epoch": epoch, "step": self.batches}
        if self.steps_per_epoch and self.batch_size:
            state["images"] = ((state["epoch"] * self.steps_per_epoch + state.get("step", 0))
                               * self.batch_size)
        if self.seconds is not None:
            state["seconds"] = round(float(self.seconds()), 3)
        fades = self.model.fade_layers
        if fades:  # A progressive run: say where it stands (the weights hold alpha itself).
            state.update(resolution=self.model.resolution, alpha=float(fades[0].alpha))
        where = f"epoch {epoch + 1}" + ("" if whole else f", step {self.batches}")
        self.defer(self.write, state, where)

    def write(self, state, where):
        """Writes the history, the loss curves, the model and last ``state``."""
        _write_history(self.history, self.run_dir / runs.HISTORY)
        plot_history(self.history, self.run_dir / runs.LOSS_CURVES,
                     title=f"{self.run_dir.name}: {where}")
        with atomic_path(self.run_dir / runs.CHECKPOINT) as tmp:
            self.model.save(tmp)
        with atomic_path(self.run_dir / runs.STATE) as tmp:
            tmp.write_text(json.dumps(state) + "\n")


def _write_history(history, path):
    keys = ["epoch"] + sorted(k for k in history if k != "epoch")
    rows = zip(*(history[k] for k in keys), strict=True)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(keys)
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue())


def read_history(path, epochs=None):
    """Reads a run's ``history.csv`` as ``{metric: [values]}``, keeping at most ``epochs`` rows."""
    path = Path(path)
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))[:epochs]
    history = {}
    for row in rows:
        for key, value in row.items():
            history.setdefault(key, []).append(int(value) if key == "epoch" else float(value))
    return history
