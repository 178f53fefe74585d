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
"""

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import keras

from keras_mrigan import callbacks as run_callbacks
from keras_mrigan.config import RunConfig
from keras_mrigan.data.pipeline import SliceOptions, build_dataset
from keras_mrigan.models import get_architecture
from keras_mrigan.models.gan import GAN
from keras_mrigan.utils import atomic_path

CONFIG = "config.json"
FINAL_MODEL = "model.keras"


def build_gan(config):
    """A fresh, uncompiled ``GAN`` for a ``RunConfig``."""
    model, schedule = config.model, config.schedule
    architecture = get_architecture(model.arch)
    resolution = config.data.resolution
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
    gan = compile_gan(build_gan(config), config)  # Bad settings fail before any file is made.
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


def _fit(gan, config, run_dir, initial_epoch, history, verbose, extra_callbacks):
    callbacks = [
        run_callbacks.SampleGrid(run_dir / "samples", n=config.schedule.sample_count,
                                 seed=config.schedule.seed),
        run_callbacks.RunCheckpoint(run_dir, history),
        *extra_callbacks,
    ]
    if initial_epoch < config.schedule.epochs:
        with warnings.catch_warnings():
            # The streamed dataset's length is unknown until its first pass ends; Keras says
            # so at the end of the first epoch, which is expected here.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            gan.fit(make_dataset(config), epochs=config.schedule.epochs,
                    initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose,
                    shuffle=False)
    with atomic_path(run_dir / FINAL_MODEL) as tmp:
        gan.save(tmp)
    return gan
