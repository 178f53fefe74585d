"""Reading the slices of a source: file by file, into memory, or as a preview grid.

Files are decoded one at a time (``iter_slice_stacks``), so a source larger than memory can
stream; ``load_slices`` reads everything into one array; ``preview`` writes a grid of a seeded
sample of the slices and says how many each file gave.
"""

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from keras_mrigan.data import preprocess, readers
from keras_mrigan.data.pairing import mask_pairs
from keras_mrigan.data.sources import label_files, resolve_source, slice_options, source_files
from keras_mrigan.plotting import save_image_grid
from keras_mrigan.utils import check_positive_int


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
    options = slice_options(options, overrides)
    for path, stack in file_stacks(source, resolution, options, None,
                                   mask_pairs(source, options)):
        yield str(path), stack


def selection(source, labels, options):
    """``(paired, labelled)``: the source's images with their masks (``mask_pairs``, ``None``
    without ``options.masks``) and, with ``labels``, those of them with a label
    (``label_files``, else ``None``)."""
    paired = mask_pairs(source, options)
    return paired, label_files(source, labels, options, paired.files if paired else None)


def file_stacks(source, resolution, options, files=None, paired=None):
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


def data_files(source, options=None, labels=None):
    """The files a dataset of ``source`` reads, in order: every image of the source, or
    with ``options.masks`` those with a mask, or with ``labels`` those with a label."""
    options = slice_options(options, {})
    paired, labelled = selection(source, labels, options)
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
    options = slice_options(options, overrides)
    paired, labelled = selection(source, labels, options)
    files, stacks = [], []
    for path, stack in file_stacks(source, resolution, options,
                                   labelled.files if labelled else None, paired):
        files.append(path)
        stacks.append(stack)
    images = with_channel_axis(np.concatenate(stacks))
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


def with_channel_axis(stack):
    """Slices ``(n, r, r)`` -> ``(n, r, r, 1)``; pairs already have their channels."""
    return stack[..., None] if stack.ndim == 3 else stack


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
