"""From any source of slices to a batched ``tf.data.Dataset``.

Sources are a path (file, folder, or a list of them), the string ``"demo"`` for the embedded
demo cohort, or a numpy array of slices. Files are decoded one at a time, so a dataset larger
than memory streams from disk on its first pass and is then read from the cache.

How files become slices lives below this module (``sources``: options and files; ``pairing``:
images with their masks; ``slices``: reading, ``load_slices`` and ``preview``); their public
names are importable from here too.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_mrigan.data import masks as masks_module
from keras_mrigan.data import preprocess, readers
from keras_mrigan.data.pairing import MaskPairs, mask_pairs
from keras_mrigan.data.slices import (
    DataSummary,
    data_files,
    file_stacks,
    iter_slice_stacks,
    load_slices,
    preview,
    selection,
    with_channel_axis,
)
from keras_mrigan.data.sources import (
    SliceOptions,
    label_files,
    resolve_source,
    slice_options,
    source_files,
)
from keras_mrigan.utils import check_positive_int

__all__ = ["DataSummary", "MaskPairs", "SliceOptions", "batch_epochs", "build_dataset",
           "data_files", "iter_slice_stacks", "label_files", "load_slices", "mask_pairs",
           "preview", "resolution_view", "resolve_source", "slice_dataset", "source_files",
           "with_classes", "with_masks"]


def with_masks(dataset, mask_classes):
    """Sets ``mask_classes`` (a ``MaskClasses``) on a dataset; returns it."""
    dataset.mask_classes = mask_classes
    return dataset


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
    options = slice_options(options, overrides)
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
    paired, labelled = selection(source, labels, options)
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
            for path, stack in file_stacks(self.source, self.resolution, self.options,
                                           labelled.files if labelled else None, self.paired):
                count += len(stack)
                stack = with_channel_axis(stack)
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
