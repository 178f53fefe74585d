"""Small helpers shared across the package."""

import contextlib
import logging
import os
import random
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

# TensorFlow keeps its global seed in private state with no public getter; ``random_scope``
# must read it to restore it.
from tensorflow.python.eager import context as _tf_context

# Only ``enable_op_determinism`` is public; reading and undoing it are not.
from tensorflow.python.framework import config as _tf_config


@contextlib.contextmanager
def atomic_path(path, directory=False):
    """Yields a temporary path beside ``path``; renames it onto ``path`` when the block succeeds.

    Readers never see a half-written file: the temporary lives in the same folder (so the rename
    is atomic on POSIX file systems) and is removed if the block raises.

    Args:
        path: the final file or folder.
        directory: create the temporary as an (empty) folder instead of reserving a file name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        # The temporary keeps the final suffixes: some writers (Keras, nibabel's ".nii.gz")
        # pick the format from them.
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes[-2:])}",
            dir=path.parent,
        )
        os.close(fd)
        tmp = Path(name)
    # mkstemp/mkdtemp make private files; give the result the usual permissions instead.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)
    try:
        yield tmp
        if directory and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def cache_dir():
    """The user's cache folder for this package.

    ``$KERAS_MRIGAN_CACHE`` if set, else ``$XDG_CACHE_HOME/keras_mrigan``, else
    ``~/.cache/keras_mrigan``.
    """
    if os.environ.get("KERAS_MRIGAN_CACHE"):
        return Path(os.environ["KERAS_MRIGAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras_mrigan"


def progress_bar(total, title, unit="step"):
    """Keras' ``Progbar`` over ``total`` units (``unit``: what one is), for long loops outside
    ``model.fit``, after ``title`` is logged (``keras_mrigan``, INFO: shown by the command
    line). The bar is Keras' own, so ``keras.config.disable_interactive_logging()`` sends it
    to absl's logging as it does ``fit``'s."""
    logging.getLogger("keras_mrigan").info("%s", title)
    return keras.utils.Progbar(total, unit_name=unit, interval=1.0)


def format_duration(seconds):
    """``seconds`` for people: ``"40 s"``, ``"6 min 5 s"``, ``"2 h 14 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


_MISSING = object()


@contextlib.contextmanager
def random_scope(seed):
    """Seeds the process's random generators inside the block and restores each one on exit.

    Inside, Python's ``random``, numpy's global generator and TensorFlow's global seed are
    seeded with ``seed``, as ``keras.utils.set_random_seed(seed)`` seeds them. That is all a
    run's randomness depends on: Keras draws the seed of every unseeded initializer and
    ``SeedGenerator`` from Python's ``random``, ``tf.data``'s shuffles combine their own seed
    with TensorFlow's global one, and the package's random draws (latents, noise,
    augmentation) go through ``SeedGenerator``s the models own. Models built inside therefore
    get the same weights for the same seed, as under ``set_random_seed``.

    Keras' global ``SeedGenerator`` (``keras.random`` calls without a seed, which the package
    does not make) is left alone. On exit, Python's and numpy's generator states and
    TensorFlow's global seed, with the generator of its operation seeds, are put back as they
    were, so a library call that uses this scope leaves the caller's randomness untouched.

    TensorFlow's global seed is set as ``tf.random.set_seed`` sets it, except that its kernel
    cache is kept. ``set_seed`` clears the cache to restart the counters of stateful random
    ops (``tf.random.uniform`` and the like), which the package does not use (its draws are
    stateless, from seeds it holds); clearing it would make every compiled function optimize
    its graph again on its next call, a second or more for each model a study trains again
    (``utility.refit``).

    Args:
        seed: a non-negative integer.

    Yields:
        The seed, as a Python ``int``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    seed = int(seed)
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    eager = tf.executing_eagerly()
    if eager:
        context = _tf_context.context()
        tf_seed = context._seed
        # The generator of operation seeds exists only once a global seed has been set;
        # set_seed replaces the object, so keeping a reference keeps its state.
        tf_rng = getattr(context, "_rng", _MISSING)
    else:
        graph = tf.compat.v1.get_default_graph()
        tf_seed = graph.seed
    try:
        random.seed(seed)
        np.random.seed(seed)
        if eager:  # tf.random.set_seed without TFE_ContextClearCaches.
            context._seed = seed
            context._rng = random.Random(seed)
        else:
            graph.seed = seed
        yield seed
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if eager:
            context._seed = tf_seed
            if tf_rng is _MISSING:
                context.__dict__.pop("_rng", None)
            else:
                context._rng = tf_rng
        else:
            graph.seed = tf_seed


@contextlib.contextmanager
def op_determinism(enabled=True):
    """Makes TensorFlow ops deterministic inside the block when ``enabled``.

    On exit the previous setting comes back, whatever it was; with ``enabled=False`` the
    setting is left as it is.

    Args:
        enabled: whether to switch op determinism on inside the block.

    Yields:
        Whether op determinism is on inside the block.
    """
    previous = _tf_config.is_op_determinism_enabled()
    if enabled and not previous:
        _tf_config.enable_op_determinism()
    try:
        yield _tf_config.is_op_determinism_enabled()
    finally:
        if _tf_config.is_op_determinism_enabled() != previous:
            if previous:
                _tf_config.enable_op_determinism()
            else:
                _tf_config.disable_op_determinism()


def check_positive_int(value, name):
    """``value`` as an ``int`` if it is a positive integer (not a bool), else a ``ValueError``
    naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


class SavesSeedState:
    """Mixin for a Keras layer or model with a ``seed_generator``: its random state is saved
    with the weights (``.keras`` files, checkpoints) and restored on loading, so a resumed
    run draws what an uninterrupted one would have drawn. (Keras saves a seed generator's
    state only for the layers that own it directly, not for a model's own one, nor in the
    weights a ``load_own_variables`` override reads.)"""

    SEED_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self.SEED_STATE] = keras.ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self.SEED_STATE in keys:
            self.seed_generator.state.assign(store[self.SEED_STATE])
        super().load_own_variables({k: store[k] for k in keys if k != self.SEED_STATE})
