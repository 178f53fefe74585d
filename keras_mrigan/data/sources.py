"""Where slices come from: the slice options, a source's files, and its labelled files.

A source is a path (file, folder, or a list of them), the string ``"demo"`` for the embedded
demo cohort (``"demo:N"`` for one of ``N`` subjects), or a numpy array of slices.
``SliceOptions`` says how files become slices; this module resolves a source and lists the
files it holds, as every reader of slices does.
"""

import dataclasses
from pathlib import Path

from keras_mrigan.data import labels as labels_module
from keras_mrigan.data import preprocess, readers
from keras_mrigan.data.demo import demo_cohort, demo_source_settings
from keras_mrigan.data.masks import MaskClasses


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


def slice_options(options, overrides):
    """``options`` (a ``SliceOptions``, or ``None`` for the defaults) with ``overrides`` (field
    names) applied; an unknown name or another type is a ``TypeError``."""
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
    """Turns ``"demo"`` and ``"demo:N"`` into the demo cohort's folder (built on first use)
    and strings into paths."""
    settings = demo_source_settings(source)
    if settings is not None:
        return demo_cohort(settings)
    if isinstance(source, (str, Path)):
        return Path(source)
    return source


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
    options = slice_options(options, {})
    source = resolve_source(source)
    if not isinstance(source, (Path, list, tuple)):
        raise ValueError("Labels come from files (class folders, a table, the demo cohort); "
                         "an array source has none.")
    if files is None:
        files = source_files(source, options)
    return labels_module.assign(files, source, labels)
