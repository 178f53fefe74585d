"""From any source of slices to a batched ``tf.data.Dataset`` (and to previews).

Sources are a path (file, folder, or a list of them), the string ``"demo"`` for the embedded
demo cohort, or a numpy array of slices. Files are decoded one at a time, so a dataset larger
than memory streams from disk on its first pass and is then read from the cache.
"""

import dataclasses
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_mrigan.data import labels as labels_module
from keras_mrigan.data import masks as masks_module
from keras_mrigan.data import preprocess, readers
from keras_mrigan.data.demo import TISSUE_CLASSES, DemoSettings, demo_cohort, demo_masks
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.plotting import save_image_grid
from keras_mrigan.utils import check_positive_int

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SliceOptions:
    """How files become slices. Every field has the default the README documents.

    Attributes:
        axis: slicing plane of volumes: ``"axial"``, ``"coronal"`` or ``"sagittal"``.
        central_fraction: keep this central fraction of each volume's slices.
        min_foreground: drop volume slices whose foreground fraction is lower (0 keeps all).
            Single images (PNG slices) are never dropped.
        clip_percentiles: per-volume intensity percentiles mapped to -1 and 1.
        square: make slices square by ``"pad"`` (with background) or ``"crop"``.
        include_masks: also read folders whose name contains ``seg``.
        pattern: shell pattern that file names must match, e.g. ``"*masked_gfc.hdr"``.
        skip_bad_files: skip unreadable files with one warning instead of raising.
        subject_pattern: regular expression that finds a file's subject in its path (see
            ``readers.subject_of``; default: OASIS IDs, volume files, 2D slice names).
        spacing: side in mm of the square pixels every volume slice is resampled to before
            it is made square and resized (default: each volume's finer voxel size in the
            slicing plane); see ``geometry.resample_slices``.
        series: regular expression: read only the DICOM series whose SeriesDescription or
            SeriesInstanceUID it matches (one that cannot be read is then an error).
        split_gaps: read a DICOM series with a missing slice as the volumes on either side
            of the gap, instead of an error.
        masks: a mask per image: ``"demo"`` (the demo cohort's tissue classes), a folder of
            masks, or a pattern relative to each image (see ``keras_mrigan.data.masks``).
            Slices then travel as pairs ``(..., H, W, 1 + K)``: the image, then the mask's
            ``K`` classes one-hot.
        mask_classes: the mask values and their names, ``"0=background,85=CSF,..."`` (or a
            ``MaskClasses``); a value found in a mask and not listed is an error. Default:
            every value found, in increasing order, named by itself.
    """

    axis: str = "axial"
    central_fraction: float = 1.0
    min_foreground: float = preprocess.DEFAULT_MIN_FOREGROUND
    clip_percentiles: tuple = preprocess.DEFAULT_CLIP_PERCENTILES
    square: str = "pad"
    include_masks: bool = False
    pattern: str | None = None
    skip_bad_files: bool = False
    subject_pattern: str | None = None
    spacing: float | None = None
    series: str | None = None
    split_gaps: bool = False
    masks: str | None = None
    mask_classes: str | MaskClasses | None = None


def source_files(source, options):
    """The files (``Path`` or ``dicom.DicomSeries``) a resolved source's paths hold, as
    ``options`` select them (see ``readers.find_files``)."""
    return readers.find_files(source, options.include_masks, options.pattern, options.series,
                              options.split_gaps)


def _options(options, overrides):
    options = options or SliceOptions()
    if not isinstance(options, SliceOptions):
        raise TypeError(f"`options` must be a SliceOptions. Received: options={options!r}")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(SliceOptions)}
    if unknown:
        raise TypeError(
            f"Unknown slice option(s) {sorted(unknown)}. "
            f"Valid: {[f.name for f in dataclasses.fields(SliceOptions)]}"
        )
    return dataclasses.replace(options, **overrides)


def resolve_source(source):
    """Turns ``"demo"`` into the demo cohort's folder and strings into paths."""
    if isinstance(source, str) and source == "demo":
        return demo_cohort()
    if isinstance(source, (str, Path)):
        return Path(source)
    return source


def iter_slice_stacks(source, resolution, options=None, **overrides):
    """Yields ``(name, stack)`` per source file, each stack ready for training.

    Args:
        source: path(s), ``"demo"``, or an array ``(N, H, W[, 1])``.
        resolution: side of the output slices, a power of two from 16 to 1024.
        options: a ``SliceOptions``; keyword arguments override its fields.

    Yields:
        ``(name, stack)`` with ``stack`` float32 ``(n, resolution, resolution)`` in [-1, 1]
        (with ``options.masks``: pairs ``(n, resolution, resolution, 1 + K)``).

    Raises:
        DataError: a file is unreadable (unless ``skip_bad_files``), a volume has no non-empty
            slice, or no file at all gave a slice.
    """
    options = _options(options, overrides)
    for path, stack in _file_stacks(source, resolution, options, None,
                                    mask_pairs(source, options)):
        yield str(path), stack


def _file_stacks(source, resolution, options, files=None, paired=None):
    """``iter_slice_stacks`` with each file as found (a ``Path`` or a ``DicomSeries``), or
    ``None`` for an array; ``files`` replaces the source's own listing (the labelled ones).
    With ``paired`` (a ``MaskPairs``), each stack holds pairs ``(n, r, r, 1 + K)``."""
    resolution = preprocess.check_resolution(resolution)
    source = resolve_source(source)
    if not isinstance(source, (Path, list, tuple)):
        stack = readers.array_stack(source, name="source")
        yield None, preprocess.prepare_slices(stack, resolution, 0.0, options.square)
        return
    if files is None:
        files = paired.files if paired is not None else source_files(source, options)
    bad = []
    total = 0
    for path in files:
        try:
            stack = readers.read_stack(
                path, options.axis, options.central_fraction, options.clip_percentiles,
                options.spacing,
            )
            volume = readers.is_volume(path)
            min_foreground = options.min_foreground if volume else 0.0
            if paired is None:
                stack = preprocess.prepare_slices(stack, resolution, min_foreground,
                                                  options.square)
            else:
                stack = paired.prepare(path, stack, resolution, min_foreground, options)
            if volume and len(stack) == 0:
                raise readers.DataError(
                    path, f"every slice is empty (less than {options.min_foreground:.0%} "
                    "foreground); lower `min_foreground` or check the file"
                )
        except readers.DataError as exc:
            if not options.skip_bad_files:
                raise
            bad.append(str(exc))
            continue
        total += len(stack)
        yield path, stack
    if bad:
        listing = "\n  ".join(bad)
        warnings.warn(f"Skipped {len(bad)} unreadable file(s):\n  {listing}", stacklevel=3)
    if total == 0:
        raise readers.DataError(source, "no usable slice in any file")


def label_files(source, labels, options=None, files=None):
    """The labelled files of a source (a ``labels.FileLabels``), or ``None`` without labels.

    Args:
        source: path(s) or ``"demo"``.
        labels: ``None``, a ``labels.LabelOptions``, or ``"folders"``/``"demo"``/a CSV path.
        options: a ``SliceOptions`` (which files the source holds).
        files: the files to label, if not every file of the source (those with a mask).
    """
    labels = labels_module.label_options(labels)
    if labels is None:
        return None
    options = _options(options, {})
    source = resolve_source(source)
    if not isinstance(source, (Path, list, tuple)):
        raise ValueError("Labels come from files (class folders, a table, the demo cohort); "
                         "an array source has none.")
    if files is None:
        files = source_files(source, options)
    return labels_module.assign(files, source, labels)


@dataclasses.dataclass
class MaskPairs:
    """The images of a source with a mask each, and the masks' classes.

    Attributes:
        files: the images (``Path`` or ``DicomSeries``), in source order.
        masks: the mask ``Path`` of each image, by ``str(image)``.
        classes: a ``MaskClasses``, with each class's pixel count over the masks.
    """

    files: list
    masks: dict
    classes: MaskClasses

    def of(self, path):
        return self.masks[str(path)]

    def prepare(self, path, stack, resolution, min_foreground, options):
        """A file's slices (``read_stack``'s ``stack``) with its mask's, as pairs
        ``(n, resolution, resolution, 1 + K)`` that went through the same steps."""
        indices = readers.read_mask_stack(path, self.of(path), self.classes, options.axis,
                                          options.central_fraction, options.spacing)
        if indices.shape != stack.shape:  # Guards the readers' promise of equal slicing.
            raise readers.DataError(self.of(path), f"mask slices of shape {indices.shape} "
                                    f"differ from those of its image {path}: {stack.shape}")
        images, indices = preprocess.prepare_pairs(stack, indices, resolution, min_foreground,
                                                   options.square)
        return masks_module.to_pair(images, indices, self.classes.num_classes)


def mask_pairs(source, options=None):
    """Pairs every image of a source with its mask and reads the masks' classes, or ``None``
    without ``options.masks``.

    Every mask is read once here: its size (or voxel grid) against its image's and its
    values against ``options.mask_classes``, so that a bad pair stops the run before any
    slice is used. The classes found are logged once with their pixel counts.

    Args:
        source: path(s) or ``"demo"``.
        options: a ``SliceOptions``.

    Returns:
        A ``MaskPairs``.

    Raises:
        DataError: images without a mask or masks without an image (listed), a mask of
            another size or voxel grid, a value not in ``mask_classes``, fewer than two
            classes.
        ValueError: ``masks`` is not ``"demo"``, a folder or a pattern; masks with an array
            source, with ``include_masks``, or ``"demo"`` for another source.
    """
    options = _options(options, {})
    kind = masks_module.mask_kind(options.masks)
    if kind is None:
        return None
    if options.include_masks:
        raise ValueError("`masks` pairs each image with its mask; `include_masks` would read "
                         "the masks as images too. Use one or the other.")
    source = resolve_source(source)
    if not isinstance(source, (Path, list, tuple)):
        raise ValueError("`masks` pairs files with their masks; an array source cannot take "
                         "them (pass pairs (N, H, W, 1 + K) with `mask_classes` instead).")
    roots = [Path(r) for r in (source if isinstance(source, (list, tuple)) else [source])]
    files = source_files(source, options)
    classes = masks_module.parse_mask_classes(options.mask_classes) \
        if options.mask_classes is not None else None
    strict = options.pattern is None  # A pattern leaves out the masks of the images it skips.
    if kind == "pattern":
        files, found = masks_module.pair_pattern(files, options.masks)
    else:
        if kind == "demo":
            folder = _demo_masks(roots)
            classes = classes or MaskClasses((0, 1, 2, 3), TISSUE_CLASSES)
        else:
            folder = Path(options.masks)
        images = {str(f) for f in files}
        try:
            candidates = [m for m in readers.find_files(folder, include_masks=True)
                          if isinstance(m, Path) and str(m) not in images]
        except ValueError:  # No file at all: every image is listed as without a mask.
            candidates = []
        if folder.resolve() not in {r.resolve() for r in roots}:
            # A mask folder inside the source holds masks, not images.
            files = [f for f in files if not _inside(f, folder)]
        found = masks_module.pair_folder(files, roots, candidates, folder, strict=strict)
    return _read_mask_classes(files, found, classes, options)


def _inside(path, folder):
    try:
        Path(str(path)).resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _demo_masks(roots):
    """The tissue masks of the demo cohort a source is."""
    description = roots[0] / "cohort.json" if len(roots) == 1 else None
    if description is None or not description.exists():
        raise ValueError("--masks demo pairs the demo cohort with its tissue masks: use it "
                         "with --data demo.")
    fields = json.loads(description.read_text())
    fields.pop("generator_version", None)
    return demo_masks(DemoSettings(**fields), directory=roots[0].parent)


def _read_mask_classes(files, found, classes, options):
    """Reads every mask once: checks it against its image, collects its values' pixel
    counts, and returns the ``MaskPairs`` (logging the classes once)."""
    counts, kept, bad = {}, [], []
    for image, mask in zip(files, found, strict=True):
        try:
            values = readers.check_mask(image, mask)
            present, number = masks_module.value_counts(values)
            if classes is not None:
                classes.to_indices(present, mask)  # A value not listed is an error.
        except readers.DataError as exc:
            if not options.skip_bad_files:
                raise
            bad.append(str(exc))
            continue
        for value, count in zip(present.tolist(), number.tolist(), strict=True):
            counts[value] = counts.get(value, 0) + count
        kept.append((image, mask))
    if bad:
        listing = "\n  ".join(bad)
        warnings.warn(f"Skipped {len(bad)} image(s) whose mask cannot be used:\n  {listing}",
                      stacklevel=3)
    if not kept:
        raise readers.DataError(options.masks, "no image with a usable mask")
    if classes is None:
        if len(counts) < 2:
            raise readers.DataError(kept[0][1], f"every mask holds the one value "
                                    f"{next(iter(counts))}: masks need at least two classes "
                                    "(the background counts as one)")
        classes = MaskClasses(tuple(sorted(counts)))
    classes = classes.with_counts([counts.get(v, 0) for v in classes.values])
    logger.info("Masks of %d image(s) from %s: %s", len(kept), options.masks, classes)
    return MaskPairs([i for i, _ in kept], {str(i): m for i, m in kept}, classes)


def with_masks(dataset, mask_classes):
    """Sets ``mask_classes`` (a ``MaskClasses``) on a dataset; returns it."""
    dataset.mask_classes = mask_classes
    return dataset


def data_files(source, options=None, labels=None):
    """The files a dataset of ``source`` reads, in order: every image of the source, or
    with ``options.masks`` those with a mask, or with ``labels`` those with a label."""
    options = _options(options, {})
    paired = mask_pairs(source, options)
    labelled = label_files(source, labels, options, paired.files if paired else None)
    if labelled is not None:
        return list(labelled.files)
    return list(paired.files) if paired else source_files(resolve_source(source), options)


def load_slices(source, resolution, options=None, return_subjects=False, labels=None,
                **overrides):
    """Reads every slice into memory.

    Args:
        return_subjects: also return each slice's subject (``readers.subject_of`` of its file,
            with ``options.subject_pattern``; the slices of an array are each their own).
        labels: also return each slice's class index (see ``label_files``), and the class
            names.

    Returns:
        float32 array ``(N, resolution, resolution, 1)`` in ``[-1, 1]`` (with
        ``options.masks``: pairs ``(N, resolution, resolution, 1 + K)``, then the
        ``MaskClasses``); then with ``labels`` an int32 array of ``N`` class indices and the
        tuple of class names; then with ``return_subjects`` an array of ``N`` subject names.
    """
    options = _options(options, overrides)
    paired = mask_pairs(source, options)
    labelled = label_files(source, labels, options, paired.files if paired else None)
    files, stacks = [], []
    for path, stack in _file_stacks(source, resolution, options,
                                    labelled.files if labelled else None, paired):
        files.append(path)
        stacks.append(stack)
    images = _channels(np.concatenate(stacks))
    counts = [len(stack) for stack in stacks]
    result = [images]
    if paired:
        result.append(paired.classes)
    if labelled:
        classes = np.repeat(np.array([labelled.of(f) for f in files], np.int32), counts)
        result += [classes, labelled.class_names]
    if return_subjects:
        if files == [None]:
            result.append(np.array([f"array[{i}]" for i in range(len(images))]))
        else:
            subjects = [readers.subject_of(path, options.subject_pattern) for path in files]
            result.append(np.repeat(np.array(subjects), counts))
    return result[0] if len(result) == 1 else tuple(result)


def _channels(stack):
    """Slices ``(n, r, r)`` -> ``(n, r, r, 1)``; pairs already have their channels."""
    return stack[..., None] if stack.ndim == 3 else stack


def build_dataset(
    source,
    resolution,
    batch_size,
    *,
    cache=True,
    shuffle=True,
    shuffle_buffer=4096,
    seed=0,
    view_resolution=None,
    prefetch=True,
    epochs=None,
    initial_epoch=0,
    options=None,
    labels=None,
    **overrides,
):
    """Builds the training ``tf.data.Dataset`` of image batches.

    Slices are decoded once, cached, shuffled with ``seed`` (a new order every epoch),
    batched with ``drop_remainder=True`` and prefetched: ``slice_dataset`` then
    ``batch_epochs``.

    Args:
        source: path(s), ``"demo"``, or an array ``(N, H, W[, 1])``.
        resolution: side at which slices are decoded and cached.
        batch_size: images per batch; leftover images of an epoch are dropped.
        cache: ``True`` caches decoded slices in memory, a path caches them to files with that
            prefix (for data larger than memory), ``False`` decodes on every pass. With a
            cache, the decoding pass runs here, once, so errors in the data surface now and
            the dataset knows its length.
        shuffle: shuffle slices before batching.
        shuffle_buffer: number of slices the shuffle draws from.
        seed: shuffle seed.
        view_resolution: if given, batches are average-pooled to this lower resolution (see
            ``resolution_view``).
        prefetch: prefetch batches in the background.
        epochs, initial_epoch: see ``batch_epochs``: with ``epochs``, the dataset holds the
            batches of every epoch from ``initial_epoch``, each epoch's order fixed by the
            seed and the epoch's number (laid out lazily).
        options: a ``SliceOptions``; further keyword arguments override its fields.
        labels: one class label per slice: ``"folders"``, ``"demo"``, the path of a CSV
            table, or a ``labels.LabelOptions`` (see ``keras_mrigan.data.labels``); for an
            array source, an array of class indices.

    Returns:
        A dataset of float32 tensors ``(batch_size, r, r, 1)`` in ``[-1, 1]``, with ``r`` the
        view resolution if given, else ``resolution``; with labels, of ``(images, labels)``
        pairs (int32 labels ``(batch_size,)``), and the attributes ``class_names`` and
        ``class_counts``. With ``options.masks`` each image is a pair ``(r, r, 1 + K)``
        (the image, then its mask one-hot; a pooled view averages the mask into class
        fractions) and the dataset has the attribute ``mask_classes``.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    slices = slice_dataset(source, resolution, cache=cache, min_count=batch_size,
                           options=options, labels=labels, **overrides)
    batches = batch_epochs(slices, batch_size, shuffle=shuffle, shuffle_buffer=shuffle_buffer,
                           seed=seed, epochs=epochs, initial_epoch=initial_epoch,
                           view_resolution=view_resolution, prefetch=prefetch)
    if hasattr(slices, "class_names"):
        with_classes(batches, slices.class_names, slices.class_counts)
    if getattr(slices, "mask_classes", None) is not None:
        with_masks(batches, slices.mask_classes)
    return batches


def slice_dataset(source, resolution, *, cache=True, min_count=1, options=None, labels=None,
                  **overrides):
    """The decoded slices of a source as an unbatched ``tf.data.Dataset``.

    Args:
        source, resolution, cache, options: as for ``build_dataset``.
        min_count: fewer slices than this is an error (one batch's worth).
        labels: as for ``build_dataset``.

    Returns:
        A dataset of float32 tensors ``(resolution, resolution, 1)`` in ``[-1, 1]``, or with
        labels of ``(image, class index)`` pairs, the class index an int32 scalar; its length
        is known unless it streams without a cache. With labels it has the attributes
        ``class_names`` and ``class_counts`` (slices per class). With ``options.masks`` the
        images are pairs ``(resolution, resolution, 1 + K)`` and the dataset has the
        attribute ``mask_classes`` (a ``MaskClasses``). An array of pairs
        ``(N, resolution, resolution, 1 + K)`` is a source too, with ``mask_classes`` set.
    """
    resolution = preprocess.check_resolution(resolution)
    options = _options(options, overrides)
    if isinstance(source, np.ndarray) and options.mask_classes is not None:
        return _pair_array_dataset(source, resolution, options, min_count, labels)
    if isinstance(source, np.ndarray):
        stack = next(iter_slice_stacks(source, resolution, options))[1][..., None]
        _check_count(len(stack), min_count)
        if labels is None:
            return tf.data.Dataset.from_tensor_slices(stack)  # Already in memory.
        classes = _check_array_labels(labels, len(stack))
        dataset = tf.data.Dataset.from_tensor_slices((stack, classes))
        names = tuple(str(i) for i in range(int(classes.max()) + 1))
        return with_classes(dataset, names, np.bincount(classes, minlength=len(names)))
    paired = mask_pairs(source, options)
    labelled = label_files(source, labels, options, paired.files if paired else None)
    generator = _SliceGenerator(source, resolution, options, min_count, labelled, paired)
    channels = 1 + paired.classes.num_classes if paired else 1
    image_spec = tf.TensorSpec((resolution, resolution, channels), tf.float32)
    dataset = tf.data.Dataset.from_generator(
        generator, output_signature=(image_spec, tf.TensorSpec((), tf.int32)) if labelled
        else image_spec
    )
    if cache is True:
        dataset = dataset.cache()
    elif cache:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        dataset = dataset.cache(str(cache))
    if cache or labelled:  # A labelled source is counted now, for its class frequencies.
        dataset = _fill_cache(dataset, generator)
    if labelled:
        dataset = with_classes(dataset, labelled.class_names, generator.class_counts)
    if paired:
        dataset = with_masks(dataset, paired.classes)
    return dataset


def _pair_array_dataset(source, resolution, options, min_count, labels):
    """The dataset of an array of pairs ``(N, r, r, 1 + K)`` already at ``resolution``."""
    classes = masks_module.parse_mask_classes(options.mask_classes)
    pairs = np.asarray(source)
    expected = (resolution, resolution, 1 + classes.num_classes)
    if pairs.ndim != 4 or pairs.shape[1:] != expected:
        raise ValueError(f"An array of pairs must have shape (N, {expected[0]}, {expected[1]}, "
                         f"{expected[2]}) (the image and {classes.num_classes} mask classes). "
                         f"Received shape {pairs.shape}")
    readers.array_stack(pairs[..., 0], name="source")  # Images in [-1, 1].
    pairs = pairs.astype(np.float32, copy=False)
    _check_count(len(pairs), min_count)
    if labels is None:
        return with_masks(tf.data.Dataset.from_tensor_slices(pairs), classes)
    classes_of = _check_array_labels(labels, len(pairs))
    dataset = tf.data.Dataset.from_tensor_slices((pairs, classes_of))
    names = tuple(str(i) for i in range(int(classes_of.max()) + 1))
    with_classes(dataset, names, np.bincount(classes_of, minlength=len(names)))
    return with_masks(dataset, classes)


def _check_count(count, min_count):
    """Fewer slices than ``min_count`` (one batch) is an error, whatever the source."""
    if count < min_count:
        raise ValueError(
            f"The data holds {count} slice(s), fewer than one batch of "
            f"batch_size={min_count}: no batch can be formed."
        )


def with_classes(dataset, class_names, class_counts):
    """Sets ``class_names`` and ``class_counts`` on a dataset (as Keras'
    ``image_dataset_from_directory`` sets ``class_names``); returns it."""
    dataset.class_names = tuple(class_names)
    dataset.class_counts = np.asarray(class_counts, dtype=np.int64)
    return dataset


def _check_array_labels(labels, count):
    classes = np.asarray(labels)
    if classes.shape != (count,) or not np.issubdtype(classes.dtype, np.integer) \
            or classes.min() < 0:
        raise ValueError(f"`labels` of an array source must be {count} class indices >= 0 "
                         f"(one per slice). Received an array of shape {classes.shape} and "
                         f"dtype {classes.dtype}.")
    return classes.astype(np.int32)


def batch_epochs(slices, batch_size, *, shuffle=True, shuffle_buffer=4096, seed=0, epochs=None,
                 initial_epoch=0, view_resolution=None, prefetch=True):
    """Shuffles, batches (``drop_remainder=True``), views and prefetches a slice dataset.

    Without ``epochs``, every pass over the result is one epoch, reshuffled on every pass:
    the order of a pass depends on how many passes came before it in this process.

    With ``epochs``, the result holds the batches of epochs ``initial_epoch, ...,
    epochs - 1`` one after the other. Each epoch is one pass of a single shuffle seeded by
    ``seed`` and reshuffled on every pass, so its order depends on the seed and on the
    number of epochs before it: a run resumed at epoch ``e`` skips the slices of the first
    ``e`` passes (cheap: no batch is made of them) and sees exactly the batches of an
    uninterrupted one. The epochs are laid out lazily, so their number costs nothing up
    front (a run bounded by a time budget can plan thousands). Train on it with
    ``model.fit(dataset, epochs=epochs, initial_epoch=initial_epoch,
    steps_per_epoch=len(slices) // batch_size)``. The order also depends on TensorFlow's
    global seed: build it under the same one (``utils.random_scope``).

    Args:
        slices: an unbatched dataset, e.g. from ``slice_dataset``.
        Others: as for ``build_dataset``.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    dataset = slices
    if shuffle:
        shuffle_buffer = check_positive_int(shuffle_buffer, "shuffle_buffer")
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if epochs is not None:
        initial_epoch = int(initial_epoch)
        if not 0 <= initial_epoch < epochs:
            raise ValueError(f"`initial_epoch` must be in [0, epochs). Received: "
                             f"initial_epoch={initial_epoch}, epochs={epochs}")
        # Whole batches of each pass (the remainder is dropped pass by pass, as
        # drop_remainder does), so that batches never straddle two epochs.
        per_epoch = _count(slices) // batch_size * batch_size
        dataset = dataset.take(per_epoch).repeat(epochs).skip(initial_epoch * per_epoch)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if view_resolution is not None:
        dataset = resolution_view(dataset, view_resolution)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    return dataset


def _count(dataset):
    """The number of elements of a finite dataset (counted when its cardinality is unknown)."""
    count = int(dataset.cardinality())
    return count if count >= 0 else _count_elements(dataset)


def _count_elements(dataset):
    """Counts a dataset's elements by iterating over it once."""
    return int(dataset.reduce(np.int64(0), lambda n, _: n + 1))


def _fill_cache(dataset, generator):
    """Runs the decoding pass now, so the cache is full and the dataset's length is known.

    A known length lets Keras stop each epoch exactly at its last batch (with an unknown one
    it asks for one more, and the optimizers count a step that never happened) and lets the
    progress bar show the epoch's length from the start. Errors in the data are raised here
    as themselves, not wrapped in a TensorFlow error.
    """
    try:
        count = _count_elements(dataset)
    except tf.errors.InvalidArgumentError:
        if generator.error is not None:
            raise generator.error from None
        raise
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


class _SliceGenerator:
    """Callable for ``Dataset.from_generator`` that streams slices file by file (with their
    class index when ``labelled``, a ``labels.FileLabels``)."""

    def __init__(self, source, resolution, options, min_count, labelled=None, paired=None):
        self.source = source
        self.resolution = resolution
        self.options = options
        self.min_count = min_count
        self.labelled = labelled
        self.paired = paired
        self.error = None  # The last exception raised, for callers that unwrap TF errors.
        self.class_counts = None  # Slices per class of the last whole pass.

    def __call__(self):
        try:
            count = 0
            labelled = self.labelled
            counts = np.zeros(len(labelled.class_names) if labelled else 0, np.int64)
            for path, stack in _file_stacks(self.source, self.resolution, self.options,
                                            labelled.files if labelled else None, self.paired):
                count += len(stack)
                stack = _channels(stack)
                if labelled:
                    label = np.int32(labelled.of(path))
                    counts[label] += len(stack)
                    for image in stack:
                        yield image, label
                else:
                    yield from stack
            self.class_counts = counts
            _check_count(count, self.min_count)
        except Exception as exc:
            self.error = exc
            raise


def resolution_view(dataset, resolution):
    """Average-pools the images of a dataset down to ``resolution`` (a power-of-two factor).

    The pooled dataset shares its parent's cache, so a progressive GAN reads every resolution
    (down to 4x4) from one decoded copy of the data.
    """
    spec = dataset.element_spec
    current = (spec[0] if isinstance(spec, tuple) else spec).shape[-2]
    valid = (
        isinstance(resolution, (int, np.integer))
        and 4 <= resolution <= (current or 0)
        and current % resolution == 0
        and (current // resolution) & (current // resolution - 1) == 0
    )
    if not valid:
        raise ValueError(
            f"`view_resolution` must be the dataset's resolution {current} divided by a power "
            f"of two, and at least 4. Received: view_resolution={resolution!r}"
        )
    factor = current // resolution
    if factor == 1:
        return dataset

    def pool(images, *labels):
        if images.shape.rank == 3:  # An unbatched dataset.
            images = tf.nn.avg_pool2d(images[None], factor, factor, "VALID")[0]
        else:
            images = tf.nn.avg_pool2d(images, factor, factor, "VALID")
        return (images, *labels) if labels else images

    return dataset.map(pool, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


@dataclasses.dataclass
class DataSummary:
    """What a pass over a source found: slice counts per file and the slice shape."""

    counts: dict
    shape: tuple

    @property
    def total(self):
        return sum(self.counts.values())

    def __str__(self):
        width = max(len(name) for name in self.counts)
        rows = [f"  {name:<{width}}  {count:>6}" for name, count in self.counts.items()]
        head = f"{self.total} slices of shape {self.shape} from {len(self.counts)} file(s)"
        if len(rows) > 40:
            rows = rows[:20] + [f"  ... {len(rows) - 40} more ..."] + rows[-20:]
        return "\n".join([head, *rows])


def preview(source, resolution, out, n=64, seed=0, options=None, **overrides):
    """Reads a source once, writes a PNG grid of ``n`` of its slices, and summarizes it.

    The slices shown are a seeded random sample of the whole source (reservoir sampling, so the
    source is streamed), drawn in source order.

    Returns:
        A ``DataSummary`` (printable) with the slice count per file and the slice shape.
    """
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(seed)
    counts, sample, keys = {}, [], []
    seen = 0
    for name, stack in iter_slice_stacks(source, resolution, options, **overrides):
        counts[name] = len(stack)
        if stack.ndim == 4:  # Pairs: the images are shown.
            stack = stack[..., 0]
        for image in stack:
            if len(sample) < n:
                sample.append(image)
                keys.append(seen)
            else:
                j = int(rng.integers(0, seen + 1))
                if j < n:
                    sample[j], keys[j] = image, seen
            seen += 1
    order = np.argsort(keys)
    save_image_grid(np.stack([sample[i] for i in order]), out)
    return DataSummary(counts=counts, shape=(resolution, resolution, 1))
