"""The run folder as a format, loading what a run or an export holds, and the one mapping from
seeds to images.

A run folder holds::

    config.json          the RunConfig
    checkpoint.keras     the GAN after the last finished epoch (networks + optimizer state)
    state.json           {"epoch": N}: how many epochs are finished
    history.csv          one row of metrics per finished epoch
    loss_curves.png      the history drawn
    split.json           the subjects the run trained on
    samples/             epoch_001.png, ...: grids from fixed latents; latest.png
    model.keras          the final GAN, written when training completes
    tensorboard/         event files of every epoch's scalars and grid
    reference_stats.npz  the training data's statistics for the quality measures, with what
                         they were fitted on

An exported SavedModel (``saved_models/<name>/<version>/``) carries ``assets/metadata.json``.

Seeds: image ``i`` of a call with ``seed`` is made from ``seed_latents([seed + i])`` (and, for
a conditional generator, the class asked for). ``GAN.generate``, ``Sampler``, the command line
and the SavedModel's ``generate_from_seed`` all use this mapping, so a seed names the same
image on every path; for a generator of image + mask pairs, the same mask too.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_mrigan.data.demo import demo_source_settings
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.data.pipeline import SliceOptions, load_slices
from keras_mrigan.layers.conditioning import class_index
from keras_mrigan.layers.pair_output import run_generator
from keras_mrigan.metrics.reference import ReferenceStats
from keras_mrigan.models.latents import MAX_SEED, check_seed_range, seed_latents
from keras_mrigan.utils import atomic_path

__all__ = [
    "CHECKPOINT", "CONFIG", "FINAL_MODEL", "HISTORY", "LOSS_CURVES", "MAX_SEED", "METADATA",
    "REFERENCE_STATS", "SAMPLES", "SPLIT", "STATE", "TENSORBOARD", "Sampler", "is_saved_model",
    "load_reference", "load_run", "read_config", "read_metadata", "read_split",
    "reference_fingerprint", "resolve_saved_model", "run_generator", "seed_range",
    "trained_in_memory", "write_split",
]

CONFIG = "config.json"
CHECKPOINT = "checkpoint.keras"
STATE = "state.json"
HISTORY = "history.csv"
LOSS_CURVES = "loss_curves.png"
SPLIT = "split.json"
SAMPLES = "samples"
FINAL_MODEL = "model.keras"
TENSORBOARD = "tensorboard"
REFERENCE_STATS = "reference_stats.npz"
METADATA = "metadata.json"  # In a SavedModel's ``assets/``.


def write_split(run_dir, subjects, in_memory=False):
    """Records the subjects a run trains on in ``RUN/split.json``, so that a downstream study
    can refuse a generator that has seen its test subjects; ``in_memory``: the run trained on
    a selection given in memory, not on its configured source."""
    record = {"train_subjects": sorted(map(str, subjects)), "in_memory": bool(in_memory)}
    with atomic_path(Path(run_dir) / SPLIT) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")


def read_split(run_dir):
    """The training subjects a run recorded (``None`` if it recorded none)."""
    path = Path(run_dir) / SPLIT
    return json.loads(path.read_text())["train_subjects"] if path.exists() else None


def trained_in_memory(run_dir):
    """Whether a run recorded that it trained on slices given in memory (``write_split``)."""
    path = Path(run_dir) / SPLIT
    return path.exists() and bool(json.loads(path.read_text()).get("in_memory"))


def read_config(run_dir):
    """A run folder's ``config.json`` as a dict (``None`` without one)."""
    path = Path(run_dir) / CONFIG
    return json.loads(path.read_text()) if path.exists() else None


def load_run(run):
    """The GAN and the run's config (a dict, or ``None``) from a run folder or a ``.keras``
    file.

    Raises:
        FileNotFoundError: no such folder or file, or a run folder without a finished model.
    """
    run = Path(run)
    if not run.exists():
        raise FileNotFoundError(f"{run}: no such run folder or model file")
    model_file = run / FINAL_MODEL if run.is_dir() else run
    if not model_file.exists():
        raise FileNotFoundError(
            f"{run} has no finished model ({model_file.name}): a run folder without a finished "
            f"model cannot be used; finish the run with `keras-mrigan train --resume {run}` first."
        )
    return keras.models.load_model(model_file), read_config(model_file.parent)


def resolve_saved_model(path):
    """A SavedModel folder: ``path`` itself, or the highest numeric version under it."""
    path = Path(path)
    if (path / "saved_model.pb").exists():
        return path
    versions = [p for p in path.iterdir() if p.name.isdigit() and (p / "saved_model.pb").exists()] \
        if path.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"{path}: no SavedModel here (no saved_model.pb, and no "
                                "numeric version folder holding one)")
    return max(versions, key=lambda p: int(p.name))


def is_saved_model(path):
    """Whether ``path`` is a SavedModel folder or a model folder of numeric versions."""
    try:
        resolve_saved_model(path)
    except FileNotFoundError:
        return False
    return True


def read_metadata(path):
    """The ``assets/metadata.json`` of an exported SavedModel, as a dict."""
    return json.loads((resolve_saved_model(path) / "assets" / METADATA).read_text())


def seed_range(n, seed):
    """The seeds ``seed ... seed + n - 1`` as int64, after checking ``n`` and ``seed``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
    seed = check_seed_range(seed, int(n))
    return np.arange(seed, seed + n, dtype=np.int64)


class Sampler:
    """Images for integer seeds (and for latents), from a SavedModel (loaded with
    ``tf.saved_model.load`` only, as a serving process would) or from a run folder's (or a
    ``.keras`` file's) Keras model.

    A run samples with its generator's moving average when it kept one, unless ``raw``; a
    SavedModel with what was exported. Seed ``s`` gives the image of ``seed_latents([s])``.
    A generator of image + mask pairs also gives each image's mask (``return_masks=True``),
    the same through every path.

    Args:
        model: a SavedModel folder (or a folder of numeric versions), a run folder or a
            ``.keras`` GAN file.
        raw: sample a run with its trained generator, not its moving average.

    Attributes:
        kind: ``"savedmodel"`` or ``"run"``.
        path: the SavedModel version folder, or the run folder / file.
        latent_dim: the generator's latent length.
        latent_distribution: ``"uniform"`` or ``"normal"``.
        resolution: the side of the generated images.
        class_names: a conditional generator's classes (empty for an unconditional one).
        mask_classes: the mask classes (a ``MaskClasses``) of a generator of image + mask
            pairs, ``None`` for one of images only.
        config: the run's config as a dict (``None`` for a SavedModel or a bare file).
        metadata: the SavedModel's ``metadata.json`` (``None`` for a run).
    """

    def __init__(self, model, raw=False):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such model folder, SavedModel or run folder")
        self.kind = "savedmodel" if is_saved_model(path) else "run"
        self.path = resolve_saved_model(path) if self.kind == "savedmodel" else path
        self.config = self.metadata = None
        if self.kind == "savedmodel":
            if raw:
                raise ValueError(f"{self.path} is a SavedModel: it holds the one generator it "
                                 "was exported with; --raw-generator applies to run folders.")
            signatures = tf.saved_model.load(str(self.path)).signatures
            self._by_seed = signatures["generate_from_seed"]
            self._by_latent = signatures["serving_default"]
            self.metadata = read_metadata(self.path)
            self.latent_dim = self.metadata["latent_dim"]
            self.latent_distribution = self.metadata["latent_distribution"]
            self.resolution = int(self.metadata["resolution"])
            self.class_names = tuple(self.metadata.get("class_names", ()))
            recorded = self.metadata.get("mask_classes")
            self.mask_classes = None if recorded is None else MaskClasses.from_json(recorded)
        else:
            self._gan, self.config = load_run(path)
            self._generator = self._gan.sampling_generator(raw)
            self.latent_dim = self._gan.latent_dim
            self.latent_distribution = self._gan.latent_distribution
            self.resolution = int(self._gan.resolution)
            self.class_names = tuple(self._gan.class_names)
            self.mask_classes = (None if self._gan.mask_classes is None
                                 else MaskClasses.from_json(self._gan.mask_classes))

    @property
    def gan(self):
        """The run's ``GAN`` (``None`` for a SavedModel)."""
        return getattr(self, "_gan", None)

    def class_index(self, label):
        """A class of a conditional generator, by name or index, as its index."""
        return class_index(label, self.class_names, str(self.path))

    def _labels(self, n, label):
        if not self.class_names:
            if label is not None:
                self.class_index(label)  # Raises.
            return None
        if label is None:
            raise ValueError(f"{self.path} is a conditional generator: choose a class "
                             f"(--label or --per-class) among {list(self.class_names)}.")
        return tf.fill([n], tf.constant(self.class_index(label), tf.int32))

    def _check_masks(self, return_masks):
        if return_masks and self.mask_classes is None:
            raise ValueError(f"{self.path} generates images without masks: `return_masks=True` "
                             "needs a generator of image + mask pairs. Received: "
                             "return_masks=True")

    def _result(self, outputs, return_masks):
        """The images (and masks) of a SavedModel signature's outputs."""
        if self.mask_classes is None:
            return outputs["images"].numpy()
        images = outputs["image"].numpy()
        return (images, outputs["mask"].numpy()) if return_masks else images

    def __call__(self, seeds, label=None, return_masks=False):
        """float32 images ``(len(seeds), H, W, 1)`` in ``[-1, 1]`` (of class ``label``, a
        name or index, for a conditional generator); with ``return_masks`` (generators of
        image + mask pairs), ``(images, masks)`` with int32 class indices ``(len(seeds), H,
        W)`` (``mask_classes.to_values`` turns them into the source's values).

        Raises:
            ValueError: ``return_masks`` for a generator without masks; a missing or unknown
                class.
        """
        self._check_masks(return_masks)
        seeds = tf.constant(np.asarray(seeds, np.int64))
        labels = self._labels(len(seeds), label)
        if self.kind == "savedmodel":
            extra = {} if labels is None else {"label": labels}
            return self._result(self._by_seed(seed=seeds, **extra), return_masks)
        return self.from_latents(seed_latents(seeds, self.latent_dim, self.latent_distribution),
                                 label, return_masks)

    def from_latents(self, latents, label=None, return_masks=False):
        """float32 images ``(len(latents), H, W, 1)`` in ``[-1, 1]`` for latent vectors (and
        their masks with ``return_masks``, as ``__call__``)."""
        self._check_masks(return_masks)
        latents = tf.constant(np.asarray(latents, np.float32))
        labels = self._labels(len(latents), label)
        if self.kind == "savedmodel":
            extra = {} if labels is None else {"label": labels}
            return self._result(self._by_latent(latent=latents, **extra), return_masks)
        images, masks = run_generator(self._generator, latents, labels)
        return (images.numpy(), masks.numpy()) if return_masks else images.numpy()


def reference_fingerprint(reference, resolution, n=None, seed=0, options=None):
    """What reference statistics are fitted on, as a JSON-able dict: the source (an absolute
    path when it is one) with a digest of its files' names and sizes (so that a folder whose
    files changed is another source), the resolution, the size of the reference's own row,
    the seed and the slice options (``None``: the defaults)."""
    source, files = str(reference), None
    if demo_source_settings(source) is None and Path(source).exists():
        path = Path(source).resolve()
        source = str(path)
        listing = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for file in listing:
            digest.update(f"{file.relative_to(path.parent)}\t{file.stat().st_size}\n".encode())
        files = f"{len(listing)} files, sha256 {digest.hexdigest()[:16]}"
    # No options reads the source as the default options do: both record the same.
    options = dataclasses.asdict(options or SliceOptions())
    return {"source": source, "files": files, "resolution": int(resolution),
            "n": None if n is None else int(n), "seed": int(seed),
            "options": json.loads(json.dumps(options, default=str))}


def load_reference(reference, resolution, n=None, stats_path=None, seed=0, progress=None,
                   options=None):
    """The ``ReferenceStats`` of a data source, fitted (and saved to ``stats_path`` if
    given), or loaded from an ``.npz``.

    A statistics file at ``stats_path`` is reused only if it was fitted on the same source,
    resolution, ``n``, seed and slice options (it records them); otherwise the statistics
    are fitted again and the file replaced. A ``reference`` that is itself an ``.npz`` is
    used as given (at the right resolution).

    Args:
        reference: a data source (a path or ``"demo"``) or a statistics ``.npz``.
        resolution: the generated images' size.
        n: images in the reference's own table row (use the generated set's size).
        stats_path: where fitted statistics are kept between calls.
        seed: seed of the samples the statistics draw.
        progress: a callable taking a message, or ``None``.
        options: the ``SliceOptions`` the source is read with (its ``subject_pattern`` says
            which slices belong to one subject).

    Raises:
        ValueError: statistics of another resolution given as ``reference``.
    """
    say = progress or (lambda message: None)
    if str(reference).endswith(".npz"):
        stats = ReferenceStats.load(reference)
    else:
        wanted = reference_fingerprint(reference, resolution, n, seed, options)
        stats = None
        if stats_path is not None and Path(stats_path).exists():
            stats = ReferenceStats.load(stats_path)
            if stats.fitted_on != wanted:
                say(f"{stats_path} was fitted on {stats.fitted_on or 'unrecorded data'}, not "
                    f"on {wanted}: fitting again")
                stats = None
        if stats is None:
            # Of image and mask pairs (``options.masks``), the images: the first channel.
            loaded = load_slices(reference, resolution, options, return_subjects=True)
            images, subjects = loaded[0], loaded[-1]
            stats = ReferenceStats.fit(images[..., 0], n=n, seed=seed, progress=say,
                                       subjects=subjects)
            stats.fitted_on = wanted
            if stats_path is not None:
                stats.save(stats_path)
    if stats.resolution != resolution:
        raise ValueError(f"The reference statistics are for {stats.resolution} x "
                         f"{stats.resolution} images, the generated ones are {resolution} x "
                         f"{resolution}.")
    return stats
