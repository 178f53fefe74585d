"""Sample images from an exported SavedModel or a run folder and write them as PNG, NIfTI or
numpy files (``keras-mrigan generate``).

Image ``i`` comes from seed ``seed + i`` through the one seed-to-latent mapping
(``runs.Sampler``) that ``GAN.generate`` and the SavedModel's ``generate_from_seed`` signature
use, so a run folder, its ``.keras`` file and its export give the same images for the same
seeds. A conditional generator makes images of one class at a time; its
images go to one folder per class (``out/<class>/image_<seed>.png``), the layout
``keras.utils.image_dataset_from_directory`` reads back with labels.
"""

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

from keras_mrigan.plotting import to_uint8
from keras_mrigan.runs import MAX_SEED, Sampler, seed_range
from keras_mrigan.utils import atomic_path

__all__ = ["FORMATS", "MAX_SEED", "NIFTI_AFFINE", "Sampler", "Written", "check_writable",
           "generate", "write_images", "write_samples"]

FORMATS = ("png", "nifti", "npy")
# Affine of written NIfTI volumes: 1 mm voxels, RAS+, origin at the first voxel. Slices stack
# along the third (inferior -> superior) axis; reading the file back with
# ``read_volume`` + ``slice_volume(axis="axial")`` gives the images in order.
NIFTI_AFFINE = np.eye(4)


def generate(model, n, seed=0, batch_size=64, progress=True, label=None):
    """``n`` images from seeds ``seed ... seed + n - 1``, ``(n, H, W, 1)`` float32 (of class
    ``label`` for a conditional generator).

    Image ``i`` is the image of ``seed_latents([seed + i])``, as ``GAN.generate(n, seed)``
    and the SavedModel's ``generate_from_seed`` make it; the generator is called on batches
    of ``batch_size`` seeds.

    Args:
        model: a ``Sampler``, or what it opens (a SavedModel, a run folder, a ``.keras``
            file).
        progress: show a Keras progress bar.
    """
    seeds = seed_range(n, seed)
    sampler = model if isinstance(model, Sampler) else Sampler(model)
    bar = keras.utils.Progbar(n, unit_name="image") if progress else None
    batches = []
    for start in range(0, n, batch_size):
        batches.append(sampler(seeds[start : start + batch_size], label))
        if bar:
            bar.add(len(batches[-1]))
    return np.concatenate(batches)


def check_writable(out):
    """Creates the folder ``out`` if needed and checks that files can be written in it.

    Raises:
        ValueError: the folder cannot be created or is not writable.
    """
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


@dataclasses.dataclass
class Written:
    """Images that ``write_samples`` wrote to one folder.

    Attributes:
        folder: the folder written (``out``, or ``out/<class>`` for a conditional generator).
        label: the class of the images (``None`` for an unconditional generator).
        n: how many images.
        files: the written paths (one per image, or one volume or array for all of them).
    """

    folder: Path
    label: str | None
    n: int
    files: list


def write_samples(model, out, n=None, per_class=None, label=None, seed=0, batch_size=64,
                  format="png", nifti_per_slice=False, raw=False, progress=True):
    """Samples a generator and writes its images: what ``keras-mrigan generate`` does.

    Image ``i`` comes from seed ``seed + i`` (``generate``). An unconditional generator makes
    ``n`` images into ``out``; a conditional one makes ``n`` images of class ``label`` into
    ``out/<label>/``, or ``per_class`` images of every class into ``out/<class>/`` (the layout
    ``keras.utils.image_dataset_from_directory`` reads back with labels). Every argument is
    checked, and ``out`` made writable, before any image is made. The messages name the
    command's flags, since this is the function behind it.

    Args:
        model: a ``Sampler``, or what it opens (a SavedModel, a run folder, a ``.keras``
            file).
        out: the output folder.
        n: images to make (of class ``label`` for a conditional generator).
        per_class: images of every class of a conditional generator (instead of ``n`` and
            ``label``).
        label: a conditional generator's class, by name or index.
        seed: the first seed.
        batch_size: seeds per generator call.
        format: ``"png"``, ``"nifti"`` or ``"npy"`` (``write_images``).
        nifti_per_slice: with ``"nifti"``, one file per image instead of one volume.
        raw: sample a run with its trained generator, not its moving average (when
            ``model`` is a path).
        progress: show a Keras progress bar per folder.

    Returns:
        A list of ``Written``, one per folder.

    Raises:
        ValueError: ``n`` or ``per_class`` missing, both given, or not positive integers;
            ``per_class`` for an unconditional generator; an unknown class; an unknown
            ``format``; ``out`` not writable.
    """
    if per_class is not None:
        if n is not None or label is not None:
            raise ValueError("--per-class N makes N images of every class: give it without "
                             f"--n and --label. Received: per_class={per_class!r}, n={n!r}, "
                             f"label={label!r}")
        if not _positive_integer(per_class):
            raise ValueError(f"--per-class must be a positive integer. Received: "
                             f"per_class={per_class!r}")
    elif not _positive_integer(n):
        raise ValueError(f"--n must be a positive integer (or give --per-class N). "
                         f"Received: n={n!r}")
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    check_writable(out)  # Fail before sampling, not after.
    sampler = model if isinstance(model, Sampler) else Sampler(model, raw=raw)
    if per_class is not None:
        if not sampler.class_names:
            raise ValueError(f"--per-class needs a conditional generator; {sampler.path} is "
                             "unconditional.")
        jobs = [(name, per_class) for name in sampler.class_names]
    else:
        if label is not None:  # An unknown class fails before any image; an index is named.
            label = sampler.class_names[sampler.class_index(label)]
        jobs = [(label, n)]
    written = []
    for job_label, count in jobs:
        folder = Path(out) / job_label if job_label is not None else Path(out)
        images = generate(sampler, count, seed=seed, batch_size=batch_size, progress=progress,
                          label=job_label)
        files = write_images(images, folder, format, seed=seed,
                             nifti_per_slice=nifti_per_slice)
        written.append(Written(folder, job_label, len(images), files))
    return written


def _positive_integer(value):
    return (not isinstance(value, bool) and isinstance(value, (int, np.integer))
            and value >= 1)
