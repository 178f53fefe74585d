"""Sample images from an exported SavedModel or a run folder and write them as PNG, NIfTI or
numpy files (``keras-mrigan generate``).

Image ``i`` comes from seed ``seed + i`` through the one seed-to-latent mapping
(``runs.Sampler``) that ``GAN.generate`` and the SavedModel's ``generate_from_seed`` signature
use, so a run folder, its ``.keras`` file and its export give the same images for the same
seeds. A conditional generator makes images of one class at a time; its
images go to one folder per class (``out/<class>/image_<seed>.png``), the layout
``keras.utils.image_dataset_from_directory`` reads back with labels.

A generator of image + mask pairs writes each image and its mask under the same name in two
folders, ``out/images/`` and ``out/masks/`` (a conditional one: ``out/images/<class>/`` and
``out/masks/<class>/``), the mask's pixels in the training masks' own values
(``MaskClasses.to_values``): PNG gray levels read back like the masks of the source.
"""

import contextlib
import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

from keras_mrigan import runs
from keras_mrigan.deprecation import moved
from keras_mrigan.plotting import to_uint8
from keras_mrigan.runs import seed_range
from keras_mrigan.utils import atomic_path

__all__ = ["FORMATS", "IMAGES", "MASKS", "NIFTI_AFFINE", "Written", "check_writable", "generate",
           "write_images", "write_samples"]

# The sampler of runs and SavedModels moved to ``keras_mrigan.runs``.
__getattr__ = moved(__name__, ("MAX_SEED", "Sampler"), "keras_mrigan.runs")

FORMATS = ("png", "nifti", "npy")
# Affine of written NIfTI volumes: 1 mm voxels, RAS+, origin at the first voxel. Slices stack
# along the third (inferior -> superior) axis; reading the file back with
# ``read_volume`` + ``slice_volume(axis="axial")`` gives the images in order.
NIFTI_AFFINE = np.eye(4)
# The folders of the images and of their masks, for a generator of image + mask pairs.
IMAGES = "images"
MASKS = "masks"
# The largest mask value a PNG holds (16-bit gray).
PNG_MAX = 65535


def generate(model, n, seed=0, batch_size=64, progress=True, label=None, return_masks=False):
    """``n`` images from seeds ``seed ... seed + n - 1``, ``(n, H, W, 1)`` float32 (of class
    ``label`` for a conditional generator).

    Image ``i`` is the image of ``seed_latents([seed + i])``, as ``GAN.generate(n, seed)``
    and the SavedModel's ``generate_from_seed`` make it, bit for bit: the sampler is called on
    ``batch_size`` seeds at a time, and runs the generator on blocks of ``SAMPLING_BLOCK``
    rows whatever that size (``run_generator``).

    Args:
        model: a ``Sampler``, or what it opens (a SavedModel, a run folder, a ``.keras``
            file).
        progress: show a Keras progress bar.
        return_masks: also return the masks of a generator of image + mask pairs.

    Returns:
        The images; with ``return_masks``, ``(images, masks)``, the masks int32 class
        indices ``(n, H, W)``.
    """
    seeds = seed_range(n, seed)
    sampler = model if isinstance(model, runs.Sampler) else runs.Sampler(model)
    bar = keras.utils.Progbar(n, unit_name="image") if progress else None
    images, masks = [], []
    for start in range(0, n, batch_size):
        batch = sampler(seeds[start : start + batch_size], label, return_masks=return_masks)
        if return_masks:
            batch, batch_masks = batch
            masks.append(batch_masks)
        images.append(batch)
        if bar:
            bar.add(len(batch))
    if return_masks:
        return np.concatenate(images), np.concatenate(masks)
    return np.concatenate(images)


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


def write_images(images, out, fmt="png", seed=0, nifti_per_slice=False, masks=None,
                 mask_classes=None):
    """Writes images ``(n, H, W, 1)`` in ``[-1, 1]`` to ``out``; every file atomically.

    - ``png``: ``image_<seed>.png`` per image, 8-bit gray (``(x + 1) * 127.5``).
    - ``nifti``: ``generated.nii.gz``, one float32 volume ``H x W x n`` (slices along the third
      axis, affine ``NIFTI_AFFINE``), or ``image_<seed>.nii.gz`` per slice with
      ``nifti_per_slice``.
    - ``npy``: ``generated.npy``, the float32 array as given.

    With ``masks`` (class indices ``(n, H, W)``, and their ``mask_classes``), the images go
    to ``out/images/`` and the masks, under the same names, to ``out/masks/`` (``write_pairs``).

    Returns:
        The list of written paths (with ``masks``: the images', then the masks').
    """
    if fmt not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: {fmt!r}")
    if masks is not None:
        return write_pairs(images, masks, mask_classes, Path(out) / IMAGES, Path(out) / MASKS,
                           fmt, seed, nifti_per_slice)
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
    volume = _as_volume(images[..., 0])
    if nifti_per_slice:
        for k, s in enumerate(seeds):
            written.append(_save_nifti(volume[:, :, k : k + 1], out / f"image_{s:06d}.nii.gz"))
        return written
    return [_save_nifti(volume, out / "generated.nii.gz")]


def write_pairs(images, masks, mask_classes, image_folder, mask_folder, fmt="png", seed=0,
                nifti_per_slice=False):
    """Writes images and their masks under the same names in two folders, the masks in the
    source's own values (``mask_classes.to_values``).

    The files are named as ``write_images`` names them (``image_<seed>.png``,
    ``generated.nii.gz``, ...), so each mask has its image's name. A mask PNG is 8-bit gray
    when every class value fits in 0-255, else 16-bit; NIfTI masks have the images'
    geometry; ``npy`` masks hold the values as integers. Each image and its mask are written
    to temporary files first and renamed into place together: an interrupted call leaves no
    half-written file and no image without its mask.

    Args:
        images: float32 ``(n, H, W, 1)`` in ``[-1, 1]``.
        masks: int class indices ``(n, H, W)``.
        mask_classes: the ``MaskClasses`` the indices refer to.
        image_folder: where the images go.
        mask_folder: where the masks go.
        fmt: ``"png"``, ``"nifti"`` or ``"npy"``.
        seed: the first image's seed (its file name).
        nifti_per_slice: with ``"nifti"``, one file per image instead of one volume.

    Returns:
        The written paths: the images', then the masks'.

    Raises:
        ValueError: masks that do not match the images, class indices outside
            ``mask_classes``, mask values a PNG cannot hold, an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: {fmt!r}")
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks)
    if masks.shape != images.shape[:-1]:
        raise ValueError(f"The masks must be {images.shape[:-1]} (one per image). Received: "
                         f"masks.shape={masks.shape}")
    if masks.size and not 0 <= masks.min() <= masks.max() < mask_classes.num_classes:
        raise ValueError(f"Mask class indices must be 0 to {mask_classes.num_classes - 1}. "
                         f"Received: {masks.min()} to {masks.max()}")
    if fmt == "png":
        check_png_values(mask_classes)
    values = mask_classes.to_values(masks)
    image_folder, mask_folder = check_writable(image_folder), check_writable(mask_folder)
    if fmt == "npy":
        return _save_together([(image_folder / "generated.npy", images, _save_npy),
                               (mask_folder / "generated.npy", values, _save_npy)])
    seeds = range(seed, seed + len(images))
    if fmt == "png":
        images = to_uint8(images[..., 0])
        names = [f"image_{s:06d}.png" for s in seeds]
        pairs = [_save_together([(image_folder / name, image, _save_png),
                                 (mask_folder / name, mask, _save_png)])
                 for name, image, mask in zip(names, images, values, strict=True)]
    else:
        volume, mask_volume = _as_volume(images[..., 0]), _as_volume(values)
        if not nifti_per_slice:
            return _save_together([(image_folder / "generated.nii.gz", volume, _save_volume),
                                   (mask_folder / "generated.nii.gz", mask_volume,
                                    _save_volume)])
        pairs = [_save_together([(image_folder / f"image_{s:06d}.nii.gz",
                                  volume[:, :, k : k + 1], _save_volume),
                                 (mask_folder / f"image_{s:06d}.nii.gz",
                                  mask_volume[:, :, k : k + 1], _save_volume)])
                 for k, s in enumerate(seeds)]
    return [image for image, _ in pairs] + [mask for _, mask in pairs]


def check_png_values(mask_classes):
    """Checks that every mask value of ``mask_classes`` fits a (16-bit) gray PNG.

    Raises:
        ValueError: a value below 0 or above 65535.
    """
    values = mask_classes.values
    if min(values) < 0 or max(values) > PNG_MAX:
        raise ValueError(f"Mask values must be 0 to {PNG_MAX} to be written as PNG; write "
                         f"the pairs as NIfTI or npy instead. Received: values={list(values)}")


def _save_together(items):
    """Writes ``[(path, array, save), ...]`` through temporary files renamed into place only
    once all are written (none is left behind if one fails)."""
    with contextlib.ExitStack() as stack:
        for path, array, save in items:
            save(stack.enter_context(atomic_path(path)), array)
    return [path for path, _, _ in items]


def _save_png(path, array):
    from PIL import Image

    # Gray levels: 8 bits when they fit (as the release's masks), else 16.
    array = array if array.dtype == np.uint8 else array.astype(np.uint16)
    Image.fromarray(array).save(path, format="PNG")


def _save_npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


def _save_volume(path, volume):
    import nibabel as nib

    dtype = np.float32 if volume.dtype.kind == "f" else volume.dtype
    nib.save(nib.Nifti1Image(np.ascontiguousarray(volume, dtype), NIFTI_AFFINE), path)


def _as_volume(slices):
    """Slices ``(n, H, W)`` as the volume ``H x W x n`` of which ``slice_volume(axis=
    "axial")`` gives them back: slice k of the volume is image k rotated back."""
    return np.moveaxis(np.rot90(slices, k=-1, axes=(1, 2)), 0, 2)


def _save_nifti(volume, path):
    with atomic_path(path) as tmp:
        _save_volume(tmp, np.asarray(volume, np.float32))
    return path


@dataclasses.dataclass
class Written:
    """Images that ``write_samples`` wrote to one folder.

    Attributes:
        folder: the folder written (``out``, or ``out/<class>`` for a conditional generator;
            for pairs ``out/images`` or ``out/images/<class>``).
        label: the class of the images (``None`` for an unconditional generator).
        n: how many images.
        files: the written image paths (one per image, or one volume or array for all of
            them).
        mask_folder: where their masks went (``out/masks[/<class>]``), or ``None``.
        mask_files: the written mask paths, named as the images' (empty without masks).
    """

    folder: Path
    label: str | None
    n: int
    files: list
    mask_folder: Path | None = None
    mask_files: list = dataclasses.field(default_factory=list)


def write_samples(model, out, n=None, per_class=None, label=None, seed=0, batch_size=64,
                  format="png", nifti_per_slice=False, raw=False, progress=True, masks=None):
    """Samples a generator and writes its images: what ``keras-mrigan generate`` does.

    Image ``i`` comes from seed ``seed + i`` (``generate``). An unconditional generator makes
    ``n`` images into ``out``; a conditional one makes ``n`` images of class ``label`` into
    ``out/<label>/``, or ``per_class`` images of every class into ``out/<class>/`` (the layout
    ``keras.utils.image_dataset_from_directory`` reads back with labels). A generator of
    image + mask pairs writes the images to ``out/images/[<class>/]`` and their masks, under
    the same names and in the source's own values, to ``out/masks/[<class>/]``
    (``write_pairs``). Every argument is checked, and ``out`` made writable, before any image
    is made. The messages name the command's flags, since this is the function behind it.

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
        masks: write the masks of a generator of image + mask pairs; ``None``: when it has
            them; ``False``: the images only, in the layout of a generator without masks;
            ``True``: refuse a generator without masks.

    Returns:
        A list of ``Written``, one per folder.

    Raises:
        ValueError: ``n`` or ``per_class`` missing, both given, or not positive integers;
            ``per_class`` for an unconditional generator; an unknown class; an unknown
            ``format``; ``out`` not writable; ``masks=True`` for a generator without masks;
            mask values a PNG cannot hold.
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
    if masks not in (None, True, False):
        raise ValueError(f"`masks` must be None, True or False. Received: masks={masks!r}")
    check_writable(out)  # Fail before sampling, not after.
    sampler = model if isinstance(model, runs.Sampler) else runs.Sampler(model, raw=raw)
    if masks and sampler.mask_classes is None:
        raise ValueError(f"{sampler.path} generates images without masks: it cannot write "
                         "image + mask pairs.")
    pairs = sampler.mask_classes is not None and masks is not False
    if pairs and format == "png":
        check_png_values(sampler.mask_classes)
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
        sub = () if job_label is None else (job_label,)
        result = generate(sampler, count, seed=seed, batch_size=batch_size, progress=progress,
                          label=job_label, return_masks=pairs)
        if not pairs:
            folder = Path(out, *sub)
            files = write_images(result, folder, format, seed=seed,
                                 nifti_per_slice=nifti_per_slice)
            written.append(Written(folder, job_label, len(result), files))
            continue
        images, indices = result
        folder, mask_folder = Path(out, IMAGES, *sub), Path(out, MASKS, *sub)
        files = write_pairs(images, indices, sampler.mask_classes, folder, mask_folder,
                            format, seed=seed, nifti_per_slice=nifti_per_slice)
        half = len(files) // 2
        written.append(Written(folder, job_label, len(images), files[:half], mask_folder,
                               files[half:]))
    return written


def _positive_integer(value):
    return (not isinstance(value, bool) and isinstance(value, (int, np.integer))
            and value >= 1)
