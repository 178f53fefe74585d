"""Training runs: build a GAN from a ``RunConfig``, train it with ``model.fit`` into a run
folder, and resume an interrupted run.

A run folder holds::

    config.json        the RunConfig
    checkpoint.keras   the GAN after the last finished epoch (networks + optimizer state)
    state.json         {"epoch": N}: how many epochs are finished
    history.csv        one row of metrics per finished epoch
    loss_curves.png    the history drawn
    samples/           epoch_001.png, ...: grids from fixed latents; latest.png
    model.keras        the final GAN, written when training completes
    reference_stats.npz  with ``metrics_every`` > 0: the training data's statistics for the
                       quality measures that ``GANMetrics`` adds to the history

A progressive architecture trains the same way, one ``model.fit`` per resolution: each stage's
networks are built with the previous stage's weights copied in (and fresh optimizers, as in
Karras et al.'s code), the ``FadeIn`` callback drives the fade-in, and the data are the same
cached batches average-pooled to the stage's resolution. ``state.json`` also records the
stage's resolution and ``alpha``.
"""

import dataclasses
import json
import math
import shutil
import warnings
from pathlib import Path

import keras

from keras_mrigan import callbacks as run_callbacks
from keras_mrigan.config import RunConfig
from keras_mrigan.data.pipeline import SliceOptions, build_dataset, resolution_view
from keras_mrigan.models import get_architecture, is_progressive
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.progan import Stage
from keras_mrigan.utils import atomic_path

CONFIG = "config.json"
FINAL_MODEL = "model.keras"
REFERENCE_STATS = "reference_stats.npz"


def build_gan(config, resolution=None):
    """A fresh, uncompiled ``GAN`` for a ``RunConfig``.

    Args:
        config: a ``RunConfig``.
        resolution: the stage resolution of a progressive architecture (default: its first
            stage, 4 x 4); other architectures are built at the data resolution.
    """
    model, schedule = config.model, config.schedule
    architecture = get_architecture(model.arch)
    if resolution is None:
        resolution = (architecture.START_RESOLUTION if is_progressive(model.arch)
                      else config.data.resolution)
    if model.minibatch_stddev and config.data.batch_size % model.group_size:
        raise ValueError(
            f"`batch_size` ({config.data.batch_size}) must be a multiple of `group_size` "
            f"({model.group_size}) for the minibatch standard-deviation layer."
        )
    keras.utils.set_random_seed(schedule.seed)
    generator = architecture.build_generator(resolution, latent_dim=model.latent_dim,
                                             width=model.width)
    discriminator = architecture.build_discriminator(
        resolution, width=model.width, minibatch_stddev=model.minibatch_stddev,
        group_size=model.group_size,
    )
    return GAN(generator, discriminator, latent_distribution=model.latent_distribution,
               d_steps=schedule.d_steps, g_steps=schedule.g_steps, seed=schedule.seed)


def grow_gan(gan, config, resolution):
    """The compiled GAN of the progressive stage at ``resolution``, carrying every weight of
    ``gan`` (the previous stage) over by layer name, and its latent random state."""
    architecture = get_architecture(config.model.arch)
    grown = build_gan(config, resolution)
    architecture.transfer_weights(gan.generator, grown.generator)
    architecture.transfer_weights(gan.discriminator, grown.discriminator)
    grown.seed_generator.state.assign(gan.seed_generator.state)
    return compile_gan(grown, config)


def compile_gan(gan, config):
    """Compiles ``gan`` with the optimizers and objective of a ``RunConfig``."""
    opt, loss = config.optimizer, config.loss
    gan.compile(
        g_optimizer=keras.optimizers.Adam(opt.g_learning_rate, beta_1=opt.beta_1,
                                          beta_2=opt.beta_2),
        d_optimizer=keras.optimizers.Adam(opt.d_learning_rate, beta_1=opt.beta_1,
                                          beta_2=opt.beta_2),
        loss=loss.loss,
        real_label=loss.real_label,
        drift=loss.drift,
        penalty_weight=loss.penalty_weight,
        clip_value=loss.clip_value,
        jit_compile=config.schedule.jit_compile,
    )
    return gan


def make_dataset(config):
    """The training dataset of a ``RunConfig``."""
    data = config.data
    # DataConfig holds the SliceOptions fields a run can set, under the same names.
    options = SliceOptions(**{
        field.name: getattr(data, field.name)
        for field in dataclasses.fields(SliceOptions) if hasattr(data, field.name)
    })
    return build_dataset(data.source, data.resolution, data.batch_size, cache=data.cache,
                         shuffle_buffer=data.shuffle_buffer, seed=config.schedule.seed,
                         options=options)


def train(config, run_dir, overwrite=False, verbose="auto", extra_callbacks=()):
    """Trains a GAN into a new run folder.

    Args:
        config: a ``RunConfig``.
        run_dir: the run folder to create.
        overwrite: replace an existing run folder instead of refusing.
        verbose: Keras' progress output (``"auto"``: a bar on a terminal, a line per epoch
            otherwise).
        extra_callbacks: more Keras callbacks.

    Returns:
        The trained ``GAN``.
    """
    run_dir = Path(run_dir)
    # Bad settings fail before any file is made.
    gan = compile_gan(build_gan(config), config)
    if is_progressive(config.model.arch) and config.schedule.phase_images <= 0:
        schedule_stages(config, images_per_epoch=None)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise ValueError(
                f"Run folder {run_dir} is not empty. Resume it with "
                f"`keras-mrigan train --resume {run_dir}`, or choose another --out."
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save(run_dir / CONFIG)
    return _fit(gan, config, run_dir, 0, {}, verbose, extra_callbacks)


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
    if epochs is not None:
        config = config.replace(epochs=epochs)
        config.save(run_dir / CONFIG)
    state_path = run_dir / run_callbacks.STATE
    if not state_path.exists():  # Killed before its first epoch ended: start it again.
        gan, done = compile_gan(build_gan(config), config), 0
    else:
        done = json.loads(state_path.read_text())["epoch"]
        gan = keras.models.load_model(run_dir / run_callbacks.CHECKPOINT)
    history = run_callbacks.read_history(run_dir / run_callbacks.HISTORY, epochs=done)
    return _fit(gan, config, run_dir, done, history, verbose, extra_callbacks)


def schedule_stages(config, images_per_epoch):
    """The run's stages: one per resolution for a progressive architecture (see
    ``progan.growth_schedule``), else one stage of the whole run at the data resolution."""
    schedule = config.schedule
    if not is_progressive(config.model.arch):
        return [Stage(config.data.resolution, 0, 0, schedule.epochs)]
    phase_epochs = schedule.phase_epochs
    if schedule.phase_images > 0:
        phase_epochs = math.ceil(schedule.phase_images / images_per_epoch)
    architecture = get_architecture(config.model.arch)
    return architecture.growth_schedule(config.data.resolution, phase_epochs, schedule.epochs)


def _metrics_callback(config, run_dir):
    """``GANMetrics`` against the training data when ``metrics_every`` > 0; the reference
    statistics are fitted once and kept in the run folder."""
    schedule = config.schedule
    if schedule.metrics_every <= 0:
        return []
    from keras_mrigan.metrics import load_reference

    stats = load_reference(config.data.source, config.data.resolution, n=schedule.metrics_n,
                           stats_path=run_dir / REFERENCE_STATS, seed=schedule.seed)
    return [run_callbacks.GANMetrics(stats, n=schedule.metrics_n, every=schedule.metrics_every,
                                     seed=schedule.seed)]


def _fit(gan, config, run_dir, initial_epoch, history, verbose, extra_callbacks):
    dataset = make_dataset(config)
    steps = int(dataset.cardinality())
    if steps < 0 and is_progressive(config.model.arch):
        # Streamed without a cache: the fade-in's length needs the batch count; count once.
        steps = int(dataset.reduce(0, lambda n, _: n + 1))
    stages = schedule_stages(config, steps * config.data.batch_size)
    callbacks = [
        *_metrics_callback(config, run_dir),
        *extra_callbacks,
        run_callbacks.SampleGrid(run_dir / "samples", n=config.schedule.sample_count,
                                 seed=config.schedule.seed),
        run_callbacks.RunCheckpoint(run_dir, history),
    ]
    for stage in stages:
        if stage.stop <= initial_epoch:
            continue
        if gan.resolution != stage.resolution:
            gan = grow_gan(gan, config, stage.resolution)
        fade = ([run_callbacks.FadeIn(stage.start, stage.fade_epochs, steps)]
                if stage.fade_epochs else [])
        with warnings.catch_warnings():
            # The streamed dataset's length is unknown until its first pass ends; Keras says
            # so at the end of the first epoch, which is expected here.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            gan.fit(resolution_view(dataset, stage.resolution), epochs=stage.stop,
                    initial_epoch=max(stage.start, initial_epoch),
                    callbacks=fade + callbacks, verbose=verbose, shuffle=False)
    with atomic_path(run_dir / FINAL_MODEL) as tmp:
        gan.save(tmp)
    return gan
