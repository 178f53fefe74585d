"""Export a trained generator as a SavedModel that TF Serving (or any TensorFlow program) can
serve, without this package.

Layout (TF Serving's ``--model_base_path``)::

    saved_models/<name>/<version>/saved_model.pb
                                  variables/
                                  assets/metadata.json

Signatures (tag ``serve``):

- ``serving_default``: ``latent`` float32 ``[batch, latent_dim]`` -> ``images`` float32
  ``[batch, H, W, 1]`` in ``[-1, 1]`` and ``images_uint8`` uint8 ``[batch, H, W, 1]``.
- ``generate_from_seed``: ``seed`` int64 ``[batch]`` -> the same outputs; each seed is mapped
  to a latent by a stateless generator (``models.latents.seed_latents``), so a seed gives the same
  image in every process.

A conditional generator's signatures also take ``label`` int32 ``[batch]`` (class indices;
``metadata.json`` lists the class names in order).

A generator of image + mask pairs returns instead ``image`` float32 ``[batch, H, W, 1]`` in
``[-1, 1]`` and ``mask`` int32 ``[batch, H, W]``, each pixel's class index (the argmax of the
generator's mask channels); ``metadata.json`` records ``mask_classes``: each class's value in
the training masks (``values``, index order) and its name.
"""

import datetime
import json
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from keras_mrigan import runs
from keras_mrigan.data.labels import LABEL_SETTINGS
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.deprecation import moved
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import seed_latents
from keras_mrigan.runs import read_split, run_generator
from keras_mrigan.version import __version__

__all__ = ["export_generator", "next_version"]

# Reading runs and SavedModels moved to ``keras_mrigan.runs``.
__getattr__ = moved(__name__, ("METADATA", "load_run", "read_metadata", "resolve_saved_model"),
                    "keras_mrigan.runs")

# The export records how a conditional generator's training data were labelled (the run's
# ``data.labels.LABEL_SETTINGS``), so that it can be evaluated class by class without being
# told.


def next_version(model_dir):
    """1 + the highest numeric version folder under ``model_dir`` (1 if there is none)."""
    model_dir = Path(model_dir)
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()] \
        if model_dir.exists() else []
    return max(versions, default=0) + 1


def export_generator(run, name, base="saved_models", version=None, overwrite=False, raw=False):
    """Exports the generator of a finished run as ``<base>/<name>/<version>/``.

    The SavedModel is written into a temporary folder next to the target and renamed into
    place only when complete, so TF Serving never sees a partial version and a failure leaves
    nothing behind.

    Args:
        run: a run folder, a ``.keras`` GAN file, or a ``GAN`` object.
        name: the model's name (a folder under ``base``).
        base: TF Serving's model base path.
        version: a positive integer; default: the next one after the highest existing.
        overwrite: replace an existing version instead of refusing.
        raw: export the trained generator, not its moving average (when the run kept one).

    Returns:
        The ``Path`` of the version folder.
    """
    if not name or "/" in str(name) or str(name).startswith("."):
        raise ValueError(f"`name` must be a plain folder name. Received: name={name!r}")
    gan, config = (run, None) if isinstance(run, GAN) else runs.load_run(run)
    model_dir = Path(base) / name
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive integer. Received: version={version!r}")
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise ValueError(f"{target} already exists; choose another --version or pass "
                         "--overwrite to replace it.")
    model_dir.mkdir(parents=True, exist_ok=True)

    generator = gan.sampling_generator(raw)
    for layer in gan.fade_layers:  # Exported progressive generators are fully faded in.
        layer.alpha.assign(1.0)
    latent_dim, distribution = gan.latent_dim, gan.latent_distribution
    mask_classes = None if gan.mask_classes is None else MaskClasses.from_json(gan.mask_classes)

    def outputs(latents, labels=None):
        images, masks = run_generator(generator, latents, labels)
        if mask_classes is not None:
            return {"image": images, "mask": masks}
        as_uint8 = tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)
        return {"images": images, "images_uint8": as_uint8}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    latent_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="latent")
    seed_spec = tf.TensorSpec([None], tf.int64, name="seed")
    if gan.conditional:
        label_spec = tf.TensorSpec([None], tf.int32, name="label")
        archive.add_endpoint("serving_default", outputs,
                             input_signature=[latent_spec, label_spec])
        archive.add_endpoint(
            "generate_from_seed",
            lambda seed, label: outputs(seed_latents(seed, latent_dim, distribution), label),
            input_signature=[seed_spec, label_spec])
    else:
        archive.add_endpoint("serving_default", outputs, input_signature=[latent_spec])
        archive.add_endpoint(
            "generate_from_seed",
            lambda seed: outputs(seed_latents(seed, latent_dim, distribution)),
            input_signature=[seed_spec])
    label_note = " and label int32 [batch] (class index)" if gan.conditional else ""
    returned = ("images float32 [batch, H, W, 1] in [-1, 1], images_uint8 uint8 (0-255)"
                if mask_classes is None else
                "image float32 [batch, H, W, 1] in [-1, 1], mask int32 [batch, H, W] (class "
                "index of each pixel; mask_classes.values gives its value in the training "
                "masks)")
    data = (config or {}).get("data", {})
    labels = ({key: data.get(key) for key in LABEL_SETTINGS}
              if gan.conditional and data.get("labels") else None)
    metadata = {
        "name": name,
        "version": version,
        "latent_dim": latent_dim,
        "latent_distribution": distribution,
        "resolution": gan.resolution,
        "channels": 1,
        "architecture": (config or {}).get("model", {}).get("arch", generator.name),
        "weights": ("the generator's moving average" if generator is gan.ema_generator
                    else "the trained generator"),
        "training_data": (config or {}).get("data", {}).get("source", "unknown"),
        "class_names": list(gan.class_names),
        "class_frequencies": list(gan.class_frequencies) if gan.conditional else [],
        "mask_classes": None if mask_classes is None else mask_classes.to_json(),
        "labels": labels,
        "train_subjects": _train_subjects(run),
        "package": f"keras_mrigan {__version__}",
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "signatures": {
            "serving_default": f"latent float32 [batch, latent_dim]{label_note} -> "
                               f"{returned}",
            "generate_from_seed": f"seed int64 [batch]{label_note} -> the same outputs; seed "
                                  "s uses the latent of a stateless generator seeded [s, 0], "
                                  "as GAN.generate and keras-mrigan generate do",
        },
    }
    staging = Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=model_dir))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        _write_metadata(staging / "model", metadata)
        replaced = None
        if target.exists():  # overwrite: move the old version aside, then swap.
            replaced = staging / "replaced"
            target.rename(replaced)
        (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _train_subjects(run):
    """The subjects a run folder recorded in ``split.json`` (``None`` without one)."""
    if not isinstance(run, (str, Path)):
        return None
    run = Path(run)
    return read_split(run if run.is_dir() else run.parent)


def _write_metadata(saved_model, metadata):
    assets = Path(saved_model) / "assets"
    assets.mkdir(exist_ok=True)
    (assets / runs.METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
