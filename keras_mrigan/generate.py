"""Sample images from an exported SavedModel or a run folder and write them as PNG, NIfTI or
numpy files (``keras-mrigan generate``).

Image ``i`` comes from seed ``seed + i`` through the same seed-to-latent mapping as the
SavedModel's ``generate_from_seed`` signature, so a run folder and its export give the same
images for the same seeds. A conditional generator makes images of one class at a time; its
images go to one folder per class (``out/<class>/image_<seed>.png``), the layout
``keras.utils.image_dataset_from_directory`` reads back with labels.
"""

import os
from pathlib import Path

import numpy as np

from keras_mrigan.utils import Progress, atomic_path

FORMATS = ("png", "nifti", "npy")
# Affine of written NIfTI volumes: 1 mm voxels, RAS+, origin at the first voxel. Slices stack
# along the third (inferior -> superior) axis; reading the file back with
# ``read_volume`` + ``slice_volume(axis="axial")`` gives the images in order.
NIFTI_AFFINE = np.eye(4)
MAX_SEED = 2**63 - 1


class Sampler:
    """Images for integer seeds (and for latents), from a SavedModel (loaded with
    ``tf.saved_model.load`` only, as a serving process would) or from a run folder's Keras
    model.

    A run samples with its generator's moving average when it kept one, unless ``raw``; a
    SavedModel with what was exported.

    Attributes:
        latent_dim: the generator's latent length.
        latent_distribution: ``"uniform"`` or ``"normal"``.
        class_names: a conditional generator's classes (empty for an unconditional one).
    """

    def __init__(self, model, raw=False):
        from keras_mrigan.export import load_run, read_metadata, resolve_saved_model

        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such model folder, SavedModel or run folder")
        self.kind = "savedmodel"
        try:
            self.path = resolve_saved_model(path)
        except FileNotFoundError:
            self.kind, self.path = "run", path
        if self.kind == "savedmodel" and raw:
            raise ValueError(f"{self.path} is a SavedModel: it holds the one generator it was "
                             "exported with; --raw-generator applies to run folders.")
        if self.kind == "savedmodel":
            import tensorflow as tf

            signatures = tf.saved_model.load(str(self.path)).signatures
            self._by_seed = signatures["generate_from_seed"]
            self._by_latent = signatures["serving_default"]
            info = read_metadata(self.path)
            self.latent_dim, self.latent_distribution = (info["latent_dim"],
                                                         info["latent_distribution"])
            self.class_names = tuple(info.get("class_names", ()))
        else:
            self._gan = load_run(path)[0]
            self._generator = self._gan.sampling_generator(raw)
            self.latent_dim = self._gan.latent_dim
            self.latent_distribution = self._gan.latent_distribution
            self.class_names = self._gan.class_names

    def class_index(self, label):
        """A class of a conditional generator, by name or index, as its index."""
        from keras_mrigan.data.labels import class_index

        return class_index(label, self.class_names, str(self.path))

    def _labels(self, n, label):
        import tensorflow as tf

        if not self.class_names:
            if label is not None:
                self.class_index(label)  # Raises.
            return None
        if label is None:
            raise ValueError(f"{self.path} is a conditional generator: choose a class "
                             f"(--label or --per-class) among {list(self.class_names)}.")
        return tf.fill([n], tf.constant(self.class_index(label), tf.int32))

    def __call__(self, seeds, label=None):
        """float32 images ``(len(seeds), H, W, 1)`` in ``[-1, 1]`` (of class ``label``, a
        name or index, for a conditional generator)."""
        import tensorflow as tf

        seeds = tf.constant(np.asarray(seeds, np.int64))
        labels = self._labels(len(seeds), label)
        if self.kind == "savedmodel":
            extra = {} if labels is None else {"label": labels}
            return self._by_seed(seed=seeds, **extra)["images"].numpy()
        from keras_mrigan.models.gan import seed_latents

        return self.from_latents(seed_latents(seeds, self.latent_dim, self.latent_distribution),
                                 label)

    def from_latents(self, latents, label=None):
        """float32 images ``(len(latents), H, W, 1)`` in ``[-1, 1]`` for latent vectors."""
        import tensorflow as tf

        latents = tf.constant(np.asarray(latents, np.float32))
        labels = self._labels(len(latents), label)
        if self.kind == "savedmodel":
            extra = {} if labels is None else {"label": labels}
            return self._by_latent(latent=latents, **extra)["images"].numpy()
        inputs = latents if labels is None else [latents, labels]
        images = self._generator(inputs, training=False).numpy()
        return np.clip(images.astype(np.float32), -1.0, 1.0)


def generate(model, n, seed=0, batch_size=64, progress=True, label=None):
    """``n`` images from seeds ``seed ... seed + n - 1``, ``(n, H, W, 1)`` float32 (of class
    ``label`` for a conditional generator)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0 \
            or seed + n - 1 > MAX_SEED:
        raise ValueError(f"Seeds must be integers from 0 to 2^63 - 1; seed={seed!r} with n={n} "
                         f"gives the range {seed}..{seed + n - 1}.")
    sampler = model if isinstance(model, Sampler) else Sampler(model)
    bar = Progress(n, "generating") if progress else None
    batches = []
    for start in range(0, n, batch_size):
        seeds = np.arange(seed + start, seed + min(start + batch_size, n), dtype=np.int64)
        batches.append(sampler(seeds, label))
        if bar:
            bar.update(len(seeds))
    return np.concatenate(batches)


def check_writable(out):
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"Cannot create the output folder {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"The output folder {out} is not writable.")
    return out


def write_images(images, out, fmt="png", seed=0, nifti_per_slice=False):
    """Writes images ``(n, H, W, 1)`` in ``[-1, 1]`` to ``out``; every file atomically.

    - ``png``: ``image_<seed>.png`` per image, 8-bit gray (``(x + 1) * 127.5``).
    - ``nifti``: ``generated.nii.gz``, one float32 volume ``H x W x n`` (slices along the third
      axis, affine ``NIFTI_AFFINE``), or ``image_<seed>.nii.gz`` per slice with
      ``nifti_per_slice``.
    - ``npy``: ``generated.npy``, the float32 array as given.

    Returns:
        The list of written paths.
    """
    if fmt not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: {fmt!r}")
    out = check_writable(out)
    images = np.asarray(images, np.float32)
    seeds = range(seed, seed + len(images))
    written = []
    if fmt == "npy":
        with atomic_path(out / "generated.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, images)
        return [out / "generated.npy"]
    if fmt == "png":
        from PIL import Image

        from keras_mrigan.plotting import to_uint8

        for s, image in zip(seeds, to_uint8(images[..., 0]), strict=True):
            path = out / f"image_{s:06d}.png"
            with atomic_path(path) as tmp:
                Image.fromarray(image, mode="L").save(tmp, format="PNG")
            written.append(path)
        return written

    # Inverse of slice_volume(axis="axial"): slice k of the volume is the image rotated back.
    volume = np.moveaxis(np.rot90(images[..., 0], k=-1, axes=(1, 2)), 0, 2)
    if nifti_per_slice:
        for k, s in enumerate(seeds):
            written.append(_save_nifti(volume[:, :, k : k + 1], out / f"image_{s:06d}.nii.gz"))
        return written
    return [_save_nifti(volume, out / "generated.nii.gz")]


def _save_nifti(volume, path):
    import nibabel as nib

    with atomic_path(path) as tmp:
        nib.save(nib.Nifti1Image(np.ascontiguousarray(volume, np.float32), NIFTI_AFFINE), tmp)
    return path
