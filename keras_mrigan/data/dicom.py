"""DICOM series and study folders (pydicom) as RAS volumes, read like NIfTI files.

A folder of DICOM files (``.dcm``, or files without an extension that carry DICOM's ``DICM``
marker) holds one or more series, told apart by their SeriesInstanceUID; a ``DICOMDIR`` index
is ignored (the folder is searched anyway). A series becomes a volume: its slices ordered by
their position along the slice normal (not by file name or InstanceNumber), RescaleSlope and
RescaleIntercept applied, and the affine built from ImageOrientationPatient,
ImagePositionPatient and PixelSpacing. DICOM's patient coordinates are LPS, NIfTI's RAS:
negating the first two axes of the affine turns one into the other, and the volume is then
reoriented to RAS+ exactly as NIfTI volumes are.

A study folder also holds series that are not volumes. ``scan_series`` tells them apart from
their headers alone: a series of one or two images gives 2-D slices (like PNG files, never cut
along their rows); localizers, projections (MIPs), secondary captures, images at several
orientations and files without an image are skipped, each with the reason.

An Enhanced (multi-frame) file holds a whole series: each of its stacks (frames with one
StackID, or at one orientation) is read like a series of single files, its frames ordered by
their positions from the functional groups (see ``data.multiframe``) and rescaled each by its
own slope and intercept; a stack of one or two frames gives 2-D slices.
"""

import dataclasses
import re
from pathlib import Path

import nibabel as nib
import numpy as np

from keras_mrigan.data import multiframe
from keras_mrigan.data.errors import DataError
from keras_mrigan.data.multiframe import ORIENTATION_TOLERANCE

DICOM_SUFFIX = ".dcm"
PREAMBLE = 128  # Bytes before the "DICM" marker of a DICOM file.
DICOMDIR = "DICOMDIR"
MEDIA_DIRECTORY_CLASS = "1.2.840.10008.1.3.10"  # The SOP class of a DICOMDIR.
SECONDARY_CAPTURE_CLASSES = "1.2.840.10008.5.1.4.1.1.7"  # Prefix: screenshots and scans.
# A series with fewer images than this is read as that many 2-D slices, not a volume.
MIN_VOLUME_SLICES = 3
# Slice steps may differ from the series' median step by this fraction (scanners round
# positions to 0.01 mm or so); more is a missing slice or an overlap.
GAP_TOLERANCE = 0.05
# ImageType values of images that are not part of a volume.
NOT_VOLUME_TYPES = {"LOCALIZER": "a localizer (ImageType LOCALIZER)",
                    "PROJECTION IMAGE": "projection images (ImageType PROJECTION IMAGE)"}
_HEADER_TAGS = ["SeriesInstanceUID", "PatientID", "SeriesDescription", "SOPClassUID",
                "ImageType", "ImageOrientationPatient", "ImagePositionPatient", "Rows",
                "Columns", "NumberOfFrames", "Modality"]


@dataclasses.dataclass(frozen=True)
class DicomSeries:
    """The files of one DICOM series (or of a part of one), read as one volume or one slice.

    Attributes:
        folder: the folder its files were found in (the first file's).
        uid: its SeriesInstanceUID.
        files: its files, in name order (the slice order comes from their positions).
        patient: its PatientID, if any: the subject of its slices.
        description: its SeriesDescription, if any.
        kind: ``"volume"``, or ``"image"`` for one 2-D image (one file, or one frame) read
            as one slice.
        part: which part of a series split at its gaps, e.g. ``"part 1 of 2"``, or which
            stack of a multi-frame file, e.g. ``"stack 2"``.
        frames: for a multi-frame file (its only file), the indices (from 0, in stored
            order) of the frames read; ``None`` for single-image files.
    """

    folder: Path
    uid: str
    files: tuple
    patient: str | None = None
    description: str | None = None
    kind: str = "volume"
    part: str | None = None
    frames: tuple | None = None

    @property
    def name(self):
        return f"series {self.uid}" + (f" {self.part}" if self.part else "")

    def __str__(self):
        what = "DICOM image" if self.kind == "image" else "DICOM series"
        count = self.files[0].name if self.kind == "image" else f"{len(self.files)} files"
        if self.frames is not None:
            what = "DICOM frame" if self.kind == "image" else "DICOM multi-frame series"
            count = (f"{self.files[0].name}, frame {self.frames[0] + 1}" if self.kind == "image"
                     else f"{self.files[0].name}, {len(self.frames)} frames")
        part = f", {self.part}" if self.part else ""
        return f"{self.folder} ({what} {self.uid}{part}, {count})"


@dataclasses.dataclass(frozen=True)
class SkippedSeries:
    """A DICOM series that is not read, and why.

    Attributes:
        folder: the folder of its first file.
        uid: its SeriesInstanceUID.
        description: its SeriesDescription (empty if none).
        count: its number of files.
        reason: why it is not read.
    """

    folder: Path
    uid: str
    description: str
    count: int
    reason: str

    def __str__(self):
        return (f"{self.description or '(no description)'!r} {self.uid} ({self.count} "
                f"file{'s' if self.count != 1 else ''}, in {self.folder}): {self.reason}")


def is_dicom(path):
    """Whether ``path`` is a DICOM file: a ``.dcm`` name, or the ``DICM`` marker after the
    128-byte preamble (DICOM files often have no extension). A ``DICOMDIR`` index is not
    (it lists files, it holds no image)."""
    path = Path(path)
    if path.name.upper() == DICOMDIR:
        return False
    if path.suffix.lower() == DICOM_SUFFIX:
        return True
    if path.suffix:
        return False
    try:
        with open(path, "rb") as f:
            f.seek(PREAMBLE)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def group_series(files):
    """Groups DICOM files by SeriesInstanceUID into ``DicomSeries``, in folder and UID order.

    Every series is taken for a volume (see ``scan_series`` for study folders). A file whose
    header cannot be read forms a series of its own, so that reading it names it.
    """
    return [DicomSeries(g.folder, g.uid, tuple(g.files), g.patient, g.description or None)
            for g in _groups(files) if not g.directory]


@dataclasses.dataclass
class _Group:
    folder: Path
    uid: str
    patient: str | None
    description: str
    directory: bool = False
    files: list = dataclasses.field(default_factory=list)
    headers: list = dataclasses.field(default_factory=list)


def _groups(files):
    import pydicom

    groups = {}
    for file in sorted(map(Path, files)):
        try:
            # Pixel data is deferred (not loaded), so that its presence is known cheaply.
            header = pydicom.dcmread(file, specific_tags=[*_HEADER_TAGS, "PixelData"],
                                     defer_size=1024)
            # The file meta (group 2) is read whatever the tags asked: it names a DICOMDIR.
            sop = str(header.get("SOPClassUID", "") or getattr(
                getattr(header, "file_meta", None), "MediaStorageSOPClassUID", ""))
            uid = str(header.get("SeriesInstanceUID", "")) or f"(none: {file.name})"
            patient = str(header.get("PatientID", "")) or None
            description = str(header.get("SeriesDescription", ""))
        except Exception:  # noqa: BLE001  (any unreadable file: read_series says why)
            header, sop = None, ""
            uid, patient, description = f"(unreadable: {file.name})", None, ""
        group = groups.setdefault(uid, _Group(file.parent, uid, patient, description,
                                              directory=sop == MEDIA_DIRECTORY_CLASS))
        group.files.append(file)
        group.headers.append(header)
    return sorted(groups.values(), key=lambda g: (str(g.folder), g.uid))


def scan_series(files, series=None, split_gaps=False):
    """Sorts the DICOM files of a folder (or a whole study) into what can be read and what
    cannot, from their headers.

    A series whose images share one orientation and are at least ``MIN_VOLUME_SLICES`` is a
    volume; a series of fewer images gives each image as one 2-D slice. Series that cannot
    form a volume are skipped: files without an image (a structured report), secondary
    captures (screenshots), localizers and projection images (by their ImageType), images
    at several orientations (3-plane localizers, radial projections), images without patient
    geometry. Problems of a series that should be a volume (a file without a position, an
    image of another size, a duplicated or missing slice) are left for ``read_series`` to
    report, naming the file and the series.

    Args:
        files: DICOM file paths.
        series: a regular expression searched in each series' SeriesDescription and
            SeriesInstanceUID; only matching series are read, and a matching series that
            cannot be read is an error rather than skipped.
        split_gaps: read a volume whose slice positions have gaps (a missing slice) as
            separate volumes on either side of each gap, instead of an error when read.

    Returns:
        ``(found, skipped)``: a list of ``DicomSeries`` and one of ``SkippedSeries``.

    Raises:
        DataError: a series that ``series`` asks for cannot be read.
    """
    pattern = re.compile(series) if series is not None else None
    found, skipped = [], []
    for group in _groups(files):
        if group.directory:
            continue
        if pattern and not (pattern.search(group.description) or pattern.search(group.uid)):
            continue
        for unit, multi in _units(group):
            if multi:
                readable, reason = _multiframe_readable(unit, split_gaps)
            else:
                reason = _not_a_volume(unit)
                readable = _readable(unit, split_gaps) if reason is None else []
            if reason is None:
                found += readable
                continue
            entry = SkippedSeries(unit.folder, unit.uid, unit.description, len(unit.files),
                                  reason)
            if pattern:
                raise DataError(entry.folder, f"the asked series {entry}, cannot be read")
            skipped.append(entry)
    return found, skipped


def _units(group):
    """The group's single-image files as one group, and each multi-frame file as a group of
    its own (it holds a series, or several stacks, by itself): pairs ``(group, multi)``."""
    multi = [i for i, h in enumerate(group.headers)
             if h is not None and multiframe.is_multiframe(h)]
    if not multi:
        return [(group, False)]
    rest = [i for i in range(len(group.files)) if i not in multi]
    units = [(dataclasses.replace(group, files=[group.files[i] for i in rest],
                                  headers=[group.headers[i] for i in rest]), False)] if rest else []
    return units + [(dataclasses.replace(group, files=[group.files[i]],
                                         headers=[group.headers[i]]), True) for i in multi]


def _not_a_volume(group):
    """Why a group of files cannot give a volume or slices, or ``None`` if it may."""
    headers = [h for h in group.headers if h is not None]
    if len(headers) < len(group.headers):
        return None  # Reading the unreadable file says why.
    reason = _not_an_image(headers)
    if reason is not None:
        return reason
    orientations = [h.get("ImageOrientationPatient") for h in headers]
    given = [np.array([float(v) for v in o]) for o in orientations if o is not None
             and len(o) == 6]
    if not given:
        return "no ImageOrientationPatient in any file: no patient geometry"
    distinct = []
    for o in given:
        if not any(np.allclose(o, d, atol=ORIENTATION_TOLERANCE) for d in distinct):
            distinct.append(o)
    if len(distinct) > 1:
        return (f"images at {len(distinct)} orientations (a localizer or projections), "
                "not one volume")
    return None


def _not_an_image(headers):
    """Why files (single- or multi-frame) are not images of a scan, or ``None``."""
    sops = {str(h.get("SOPClassUID", "")) for h in headers}
    if not any("PixelData" in h for h in headers):
        names = {getattr(h.get("SOPClassUID"), "name", None) or h.get("Modality", "unknown")
                 for h in headers}
        return f"no image in its files ({', '.join(sorted(map(str, names)))})"
    if all(sop.startswith(SECONDARY_CAPTURE_CLASSES) for sop in sops):
        return "a secondary capture (a screenshot or scanned document), without geometry"
    for value, why in NOT_VOLUME_TYPES.items():
        if any(value in [str(v).upper() for v in h.get("ImageType", [])] for h in headers):
            return why
    return None


def _multiframe_readable(group, split_gaps):
    """The ``DicomSeries`` of a multi-frame file (one per stack, or per part of a stack at
    its gaps, or per frame of a stack of one or two), or why it cannot be read:
    ``(series, reason)``."""
    import pydicom

    [file], [header] = group.files, group.headers
    reason = _not_an_image([header])
    if reason is not None:
        return [], reason
    try:
        ds = pydicom.dcmread(file, stop_before_pixels=True)
    except Exception:  # noqa: BLE001  (any unreadable file: read_series says why)
        return [DicomSeries(group.folder, group.uid, (file,), group.patient,
                            group.description or None)], None
    if not multiframe.has_functional_groups(ds):
        return [], ("multi-frame images without functional groups (a cine loop or the "
                    "like): no geometry per frame")
    frames = multiframe.frames(ds)
    if all(frame.orientation is None for frame in frames):
        return [], "no ImageOrientationPatient in its functional groups: no patient geometry"
    stacks = multiframe.stacks(frames)
    found = []
    for n, stack in enumerate(stacks):
        label = None
        if len(stacks) > 1:
            label = (f"stack {stack[0].stack}" if stack[0].stack is not None
                     else f"stack {n + 1} of {len(stacks)}")
        runs = [list(range(len(stack)))]
        if split_gaps and all(f.position is not None for f in stack):
            normal = np.cross(stack[0].orientation[:3], stack[0].orientation[3:])
            runs = _runs(np.array([f.position @ normal for f in stack]))
        for i, run in enumerate(runs):
            members = tuple(stack[k].index for k in run)
            part = ", ".join(filter(None, [label, f"part {i + 1} of {len(runs)}"
                                           if len(runs) > 1 else None])) or None
            if len(members) < MIN_VOLUME_SLICES:
                found += [DicomSeries(group.folder, group.uid, (file,), group.patient,
                                      group.description or None, "image", part, (index,))
                          for index in sorted(members)]
            else:
                found.append(DicomSeries(group.folder, group.uid, (file,), group.patient,
                                         group.description or None, "volume", part,
                                         tuple(sorted(members))))
    return found, None


def _readable(group, split_gaps):
    """The ``DicomSeries`` of a group that may be read: one volume, parts of one at its
    gaps, or single images."""
    def series(files, kind="volume", part=None):
        return DicomSeries(group.folder, group.uid, tuple(files), group.patient,
                           group.description or None, kind, part)

    if len(group.files) < MIN_VOLUME_SLICES:
        return [series([f], "image") for f in group.files]
    if not split_gaps:
        return [series(group.files)]
    parts = _parts_at_gaps(group)
    if len(parts) == 1:
        return [series(group.files)]
    found = []
    for i, files in enumerate(parts):
        part = f"part {i + 1} of {len(parts)}"
        if len(files) < MIN_VOLUME_SLICES:
            found += [series([f], "image", part) for f in files]
        else:
            found.append(series(files, part=part))
    return found


def _parts_at_gaps(group):
    """The group's files in runs of evenly spaced positions (one run without a gap)."""
    headers = group.headers
    try:
        orientation = np.array([float(v) for v in headers[0].ImageOrientationPatient])
        normal = np.cross(orientation[:3], orientation[3:])
        distance = np.array([np.array([float(v) for v in h.ImagePositionPatient]) @ normal
                             for h in headers])
    except (AttributeError, TypeError, ValueError):
        return [group.files]  # A missing position: reading the series names the file.
    return [[group.files[i] for i in run] for run in _runs(distance)]


def _runs(distance):
    """Indices of positions along the normal (``distance``) in runs of evenly spaced sorted
    positions, cut where a step exceeds the median step (one run without a gap)."""
    order = np.argsort(distance, kind="stable")
    steps = np.diff(distance[order])
    if not len(steps) or np.median(steps) <= 0:
        return [np.arange(len(distance))]
    cuts = np.nonzero(steps > (1 + GAP_TOLERANCE) * np.median(steps))[0] + 1
    return np.split(order, cuts)


def series_kind(series):
    """``"image"`` for a ``DicomSeries`` of one 2-D image, else ``"volume"``."""
    return getattr(series, "kind", "volume")



def read_dicom_image(series):
    """One 2-D DICOM image (a file, or one frame of a multi-frame file) as float32
    ``[row, column]`` (rescale applied), with its pixel size ``(between rows, between
    columns)`` in mm (1 mm when the file does not say).

    The image is as DICOM viewers draw it: its first row at the top, its first column left.
    """
    [file] = series.files
    file, ds = _read_slice(file)
    if series.frames is not None:
        frame = multiframe.frames(ds)[series.frames[0]]
        stored = _frames(file, ds)[frame.index]
        return _rescaled(stored, frame.slope, frame.intercept), frame.spacing or (1.0, 1.0)
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    spacing = (float(spacing[0]), float(spacing[1])) if spacing and len(spacing) == 2 \
        else (1.0, 1.0)
    return _pixels(file, ds), spacing


def read_series(series):
    """A DICOM series (or a stack of a multi-frame file) as a ``nibabel.Nifti1Image`` whose
    affine maps voxels to RAS millimetres.

    Raises:
        DataError: naming the file or series (and the frame), for an unreadable file, a
            non-image DICOM (a structured report, ...), a compressed transfer syntax that
            cannot be decoded here, missing orientation, position or spacing, images of
            different sizes, orientations or pixel sizes, two slices at the same position, or
            unevenly spaced slices.
    """
    if series.frames is not None:
        return _read_frames(series)
    slices = [_read_slice(file) for file in series.files]
    first_file, first = slices[0]
    orientation = _floats(first, "ImageOrientationPatient", 6, first_file)
    spacing = _floats(first, "PixelSpacing", 2, first_file)
    shape = (int(first.Rows), int(first.Columns))
    positions = []
    for file, ds in slices:
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise DataError(file, f"its image is {ds.Rows} x {ds.Columns}, the series' "
                            f"{shape[0]} x {shape[1]} ({series}): one series, one image size")
        if not np.allclose(_floats(ds, "ImageOrientationPatient", 6, file), orientation,
                           atol=ORIENTATION_TOLERANCE):
            raise DataError(file, f"its ImageOrientationPatient differs from the rest of "
                            f"{series}")
        positions.append(_floats(ds, "ImagePositionPatient", 3, file))
    named = [(file, file.name, "it") for file, _ in slices]
    thickness = float(first.get("SliceThickness", 1.0) or 1.0)
    return _volume(series, orientation, spacing, positions, named, thickness,
                   lambda k: _pixels(*slices[k]))


def _read_frames(series):
    """A stack of a multi-frame file as a volume, its frames ordered by their positions."""
    [file] = series.files
    file, ds = _read_slice(file)
    frames = multiframe.frames(ds)
    chosen = [frames[i] for i in series.frames]
    first = chosen[0]
    where = "(per-frame or shared functional groups)"
    for frame in chosen:
        for value, keyword, count, sequence in [
                (frame.orientation, "ImageOrientationPatient", 6, "PlaneOrientationSequence"),
                (frame.position, "ImagePositionPatient", 3, "PlanePositionSequence"),
                (frame.spacing, "PixelSpacing", 2, "PixelMeasuresSequence")]:
            if value is None:
                raise DataError(file, f"frame {frame.number} has no {keyword} ({count} "
                                f"numbers) in a {sequence} {where}, which a volume needs "
                                f"({series})")
        if not np.allclose(frame.orientation, first.orientation, atol=ORIENTATION_TOLERANCE):
            raise DataError(file, f"frame {frame.number}'s ImageOrientationPatient differs "
                            f"from frame {first.number}'s ({series})")
        if not np.allclose(frame.spacing, first.spacing, rtol=1e-4):
            raise DataError(file, f"frame {frame.number}'s PixelSpacing {frame.spacing} "
                            f"differs from frame {first.number}'s {first.spacing} ({series}): "
                            "one stack, one pixel size")
    stored = _frames(file, ds)
    named = [(file, f"frame {frame.number}", f"its frame {frame.number}") for frame in chosen]
    return _volume(series, first.orientation, np.array(first.spacing),
                   [frame.position for frame in chosen], named, first.thickness or 1.0,
                   lambda k: _rescaled(stored[chosen[k].index], chosen[k].slope,
                                       chosen[k].intercept))


def _volume(series, orientation, spacing, positions, named, thickness, pixels):
    """The slices of a series (files or frames) as a RAS volume, ordered along the normal,
    after the duplicate and gap checks.

    Args:
        series: the ``DicomSeries`` (named in messages).
        orientation: the slices' ImageOrientationPatient (LPS direction cosines).
        spacing: their PixelSpacing ``(between rows, between columns)``.
        positions: each slice's ImagePositionPatient (LPS).
        named: each slice's ``(path, name, subject)`` for messages: the path a ``DataError``
            names, how another slice's message names it, how its own message starts.
        thickness: the step along the normal of a volume of one slice.
        pixels: ``pixels(k)``, slice ``k``'s rescaled float32 ``[row, column]`` array.
    """
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    distance = np.array([position @ normal for position in positions])
    order = np.argsort(distance, kind="stable")
    gaps = np.diff(distance[order])
    if len(gaps) and np.min(gaps) < 1e-3 * max(np.max(np.abs(gaps)), 1e-6):
        i = int(np.argmin(gaps))
        (_, a, _), (path, _, b) = named[order[i]], named[order[i + 1]]
        raise DataError(path, f"{b} lies at the same position along the slice normal as {a} "
                        f"({distance[order[i]]:.3f} mm): a duplicated slice in {series}")
    _check_even(series, gaps, [named[k][1] for k in order], distance[order])
    # Voxel (i, j, k): column i, row j, slice k. DICOM's PixelSpacing is (between rows,
    # between columns); a slice's pixel array is indexed [row, column].
    volume = np.stack([pixels(k) for k in order], axis=-1).transpose(1, 0, 2)
    # The checks above make the step even, so the end points give it most precisely.
    step = ((positions[order[-1]] - positions[order[0]]) / (len(order) - 1)
            if len(order) > 1 else normal * thickness)
    lps = np.eye(4)
    lps[:3, 0] = row * spacing[1]
    lps[:3, 1] = column * spacing[0]
    lps[:3, 2] = step
    lps[:3, 3] = positions[order[0]]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return nib.Nifti1Image(volume.astype(np.float32), ras)


def _check_even(series, steps, names, distance):
    """Raises naming the series and the place where its sorted slice positions (``distance``
    along the normal, of the slices ``names``) are not evenly spaced: a missing slice or an
    overlap."""
    if len(steps) < 2:
        return
    median = float(np.median(steps))
    uneven = np.nonzero(np.abs(steps - median) > GAP_TOLERANCE * median)[0]
    if not len(uneven):
        return
    i = int(uneven[0])
    what = (f"{max(1, round(steps[i] / median) - 1)} missing slice(s); read the parts on "
            "either side as separate volumes with split_gaps (--split-gaps)"
            if steps[i] > median else "overlapping slices")
    raise DataError(series, f"its slices are unevenly spaced: {names[i]} and "
                    f"{names[i + 1]} (slices {i + 1} and {i + 2} of {len(names)} along "
                    f"the normal, at {distance[i]:.2f} and {distance[i + 1]:.2f} mm) lie "
                    f"{steps[i]:.2f} mm apart where the series' step is {median:.2f} mm: "
                    f"{what}")


def _read_slice(file):
    import pydicom

    try:
        ds = pydicom.dcmread(file)
    except Exception as exc:  # noqa: BLE001  (pydicom raises several kinds)
        raise DataError(file, f"not a readable DICOM file ({exc})") from exc
    if "PixelData" not in ds:
        kind = getattr(ds.get("SOPClassUID"), "name", None) or ds.get("Modality", "unknown")
        raise DataError(file, f"a DICOM file without an image ({kind}): not an image series")
    return file, ds


def _floats(ds, keyword, count, file):
    value = ds.get(keyword)
    if value is None or len(value) != count:
        raise DataError(file, f"it has no {keyword} ({count} numbers), which a volume needs")
    return np.array([float(v) for v in value])


def _decoded(file, ds):
    """The file's stored pixel values as pydicom decodes them."""
    try:
        return ds.pixel_array
    except Exception as exc:  # noqa: BLE001  (missing decoders raise several kinds)
        syntax = ds.file_meta.get("TransferSyntaxUID")
        name = getattr(syntax, "name", syntax)
        raise DataError(file, f"its pixel data ({name}) cannot be decoded here ({exc}); "
                        "install pydicom's decoders with `pip install keras-mrigan[dicom]` "
                        "(pylibjpeg and its plugins), or decompress the series first (e.g. "
                        "`gdcmconv --raw`)") from exc


def _frames(file, ds):
    """A multi-frame file's stored values, ``[frame, row, column]`` in stored order."""
    array = _decoded(file, ds)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if array.ndim != 3 or array.shape[0] != count:
        raise DataError(file, f"expected {count} grayscale frames, got pixel data of shape "
                        f"{array.shape}")
    return array


def _pixels(file, ds):
    """The slice's stored values with the rescale applied, as float32 ``[row, column]``."""
    array = _decoded(file, ds)
    if array.ndim != 2:
        raise DataError(file, f"expected one grayscale image per file, got pixel data of "
                        f"shape {array.shape}")
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return _rescaled(array, slope, intercept)


def _rescaled(array, slope, intercept):
    return array.astype(np.float32) * np.float32(slope) + np.float32(intercept)
