"""What a source of slices holds, before any training: one row per file or DICOM series.

``describe`` reads every file once as training would (the same readers, the same slice
options) and says, for each, its kind, array shape, voxel size, orientation code, how many
slices it gives and whose they are, or why it is skipped. ``format_table`` prints the rows for
a terminal; ``keras-mrigan data info SOURCE [--json]`` is the two together.
"""

import dataclasses
import json
import warnings
from pathlib import Path

import nibabel as nib

from keras_mrigan.data import geometry, preprocess, readers
from keras_mrigan.data.dicom import DicomSeries
from keras_mrigan.data.errors import DataError
from keras_mrigan.data.sources import resolve_source

COLUMNS = ("source", "kind", "shape", "voxel_mm", "orientation", "slices", "subject", "note")


@dataclasses.dataclass
class SourceRow:
    """One file or series of a source.

    Attributes:
        source: the file's path, or the series (folder, UID, part, file count).
        kind: ``"image"`` (PNG/JPEG/TIFF), ``"nifti"``, ``"analyze"``, ``"dicom volume"``,
            ``"dicom image"``, ``"skipped"`` (a DICOM series that is not read) or
            ``"unreadable"``.
        shape: the stored array's shape (volumes: as stored, before reorientation).
        voxel_mm: the voxel (or pixel) sizes in mm, in the stored order, if known.
        orientation: the axis code of the stored volume (``"LPS"``, ``"RAS"``, ...): where
            each array axis points.
        slices: the slices it gives with the options (empty ones dropped).
        subject: whose slices they are (``readers.subject_of``).
        note: why it is skipped or cannot be read; a DICOM series' description.
    """

    source: str
    kind: str
    shape: tuple | None = None
    voxel_mm: tuple | None = None
    orientation: str | None = None
    slices: int = 0
    subject: str | None = None
    note: str = ""


def describe(source, options):
    """Describes each file or DICOM series of a source.

    Args:
        source: a path (file or folder), a list of them, or ``"demo"`` (``"demo:N"``).
        options: a ``pipeline.SliceOptions`` (which files, how they are sliced).

    Returns:
        A list of ``SourceRow``, files in ``find_files``' order, then the skipped series.
    """
    source = resolve_source(source)  # The demo cohort is built on first use.
    with warnings.catch_warnings():
        # The skipped series become rows here, not a warning.
        warnings.simplefilter("ignore", UserWarning)
        found, skipped = readers.scan_files(source, options.include_masks, options.pattern,
                                            options.series, options.split_gaps)
    rows = [_row(path, options) for path in found]
    rows += [SourceRow(source=f"{entry.folder} (DICOM series {entry.uid}, {entry.count} "
                       f"files)", kind="skipped", note=f"{entry.description!r}: {entry.reason}"
                       if entry.description else entry.reason) for entry in skipped]
    return rows


def _row(path, options):
    row = SourceRow(source=str(path), kind=_kind(path))
    try:
        row.subject = readers.subject_of(path, options.subject_pattern)
        if isinstance(path, DicomSeries):
            row.note = repr(path.description) if path.description else ""
        if row.kind == "image":
            row.shape = readers.read_image(path).shape
            row.slices = 1
            return row
        image = readers.volume_image(path)
        row.shape = tuple(int(n) for n in image.shape)
        row.voxel_mm = tuple(round(float(v), 4) for v in geometry.voxel_sizes(image.affine))
        row.orientation = "".join(nib.aff2axcodes(image.affine))
        stack = readers.read_stack(path, options.axis, options.central_fraction,
                                   options.clip_percentiles, options.spacing)
        if row.kind != "dicom image":
            stack = preprocess.drop_empty(stack, options.min_foreground)
        row.slices = len(stack)
    except (DataError, ValueError) as exc:
        row.kind, row.note, row.slices = "unreadable", str(exc), 0
    return row


def _kind(path):
    if isinstance(path, DicomSeries):
        return f"dicom {path.kind}"
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".hdr", readers.ANALYZE_DATA_SUFFIX)):
        return "analyze"
    return "image"


def to_json(rows):
    """The rows as a JSON text: a list of objects with the ``COLUMNS`` as keys."""
    return json.dumps([dataclasses.asdict(row) for row in rows], indent=2)


def format_table(rows):
    """The rows as a plain-text table with a header and a closing count."""
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, tuple):
            return " x ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        return str(value)

    table = [[c.replace("_", " ") for c in COLUMNS]]
    table += [[cell(getattr(row, c)) for c in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(f"{text:<{width}}" for text, width in zip(line, widths, strict=False))
             + "  " + line[-1] for line in table]
    kept = sum(row.slices for row in rows)
    skipped = sum(row.kind in ("skipped", "unreadable") for row in rows)
    read = len(rows) - skipped
    lines.append(f"{kept} slices from {read} file(s) or series; {skipped} skipped or "
                 "unreadable")
    return "\n".join(line.rstrip() for line in lines)


def slice_counts(rows):
    """``{source: slices}`` of the rows that give slices (a check against a training pass)."""
    return {row.source: row.slices for row in rows if row.slices}

