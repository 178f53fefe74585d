"""DICOM series (pydicom) as RAS volumes, read like NIfTI files.

A folder of DICOM files (``.dcm``, or files without an extension that carry DICOM's ``DICM``
marker) holds one or more series, told apart by their SeriesInstanceUID. A series becomes a
volume: its slices ordered by their position along the slice normal (not by file name or
InstanceNumber), RescaleSlope and RescaleIntercept applied, and the affine built from
ImageOrientationPatient, ImagePositionPatient and PixelSpacing. DICOM's patient coordinates
are LPS, NIfTI's RAS: negating the first two axes of the affine turns one into the other, and
the volume is then reoriented to RAS+ exactly as NIfTI volumes are.
"""

import dataclasses
from pathlib import Path

import nibabel as nib
import numpy as np

from keras_mrigan.data.errors import DataError

DICOM_SUFFIX = ".dcm"
PREAMBLE = 128  # Bytes before the "DICM" marker of a DICOM file.


@dataclasses.dataclass(frozen=True)
class DicomSeries:
    """The files of one DICOM series, read as one volume.

    Attributes:
        folder: the folder its files were found in (the first file's).
        uid: its SeriesInstanceUID.
        files: its files, in name order (the slice order comes from their positions).
        patient: its PatientID, if any: the subject of its slices.
    """

    folder: Path
    uid: str
    files: tuple
    patient: str | None = None

    @property
    def name(self):
        return f"series {self.uid}"

    def __str__(self):
        return f"{self.folder} (DICOM series {self.uid}, {len(self.files)} files)"


def is_dicom(path):
    """Whether ``path`` is a DICOM file: a ``.dcm`` name, or the ``DICM`` marker after the
    128-byte preamble (DICOM files often have no extension)."""
    path = Path(path)
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

    A file whose header cannot be read forms a series of its own, so that reading it names it.
    """
    import pydicom

    groups = {}
    for file in sorted(map(Path, files)):
        try:
            header = pydicom.dcmread(file, stop_before_pixels=True,
                                     specific_tags=["SeriesInstanceUID", "PatientID"])
            uid = str(header.get("SeriesInstanceUID", "")) or f"(none: {file.name})"
            patient = str(header.get("PatientID", "")) or None
        except Exception:  # noqa: BLE001  (any unreadable file: read_series says why)
            uid, patient = f"(unreadable: {file.name})", None
        groups.setdefault(uid, (file.parent, patient, []))[2].append(file)
    return sorted((DicomSeries(folder, uid, tuple(members), patient)
                   for uid, (folder, patient, members) in groups.items()), key=str)


def read_series(series):
    """A DICOM series as a ``nibabel.Nifti1Image`` whose affine maps voxels to RAS millimetres.

    Raises:
        DataError: naming the file or series, for an unreadable file, a non-image DICOM (a
            structured report, ...), a compressed transfer syntax that cannot be decoded here,
            missing orientation, position or spacing, images of different sizes or
            orientations, or two slices at the same position.
    """
    slices = [_read_slice(file) for file in series.files]
    first_file, first = slices[0]
    orientation = _floats(first, "ImageOrientationPatient", 6, first_file)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    spacing = _floats(first, "PixelSpacing", 2, first_file)
    shape = (int(first.Rows), int(first.Columns))
    positions = []
    for file, ds in slices:
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise DataError(file, f"its image is {ds.Rows} x {ds.Columns}, the series' "
                            f"{shape[0]} x {shape[1]} ({series}): one series, one image size")
        if not np.allclose(_floats(ds, "ImageOrientationPatient", 6, file), orientation,
                           atol=1e-4):
            raise DataError(file, f"its ImageOrientationPatient differs from the rest of "
                            f"{series}")
        positions.append(_floats(ds, "ImagePositionPatient", 3, file))
    distance = np.array([position @ normal for position in positions])
    order = np.argsort(distance, kind="stable")
    gaps = np.diff(distance[order])
    if len(gaps) and np.min(gaps) < 1e-3 * max(np.max(np.abs(gaps)), 1e-6):
        i = int(np.argmin(gaps))
        a, b = slices[order[i]][0], slices[order[i + 1]][0]
        raise DataError(b, f"it lies at the same position along the slice normal as {a.name} "
                        f"({distance[order[i]]:.3f} mm): a duplicated slice in {series}")
    # Voxel (i, j, k): column i, row j, slice k. DICOM's PixelSpacing is (between rows,
    # between columns); a slice's pixel array is indexed [row, column].
    volume = np.stack([_pixels(*slices[k]) for k in order], axis=-1).transpose(1, 0, 2)
    step = ((positions[order[-1]] - positions[order[0]]) / (len(order) - 1)
            if len(order) > 1 else normal * float(first.get("SliceThickness", 1.0) or 1.0))
    lps = np.eye(4)
    lps[:3, 0] = row * spacing[1]
    lps[:3, 1] = column * spacing[0]
    lps[:3, 2] = step
    lps[:3, 3] = positions[order[0]]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return nib.Nifti1Image(volume.astype(np.float32), ras)


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


def _pixels(file, ds):
    """The slice's stored values with the rescale applied, as float32 ``[row, column]``."""
    try:
        array = ds.pixel_array
    except Exception as exc:  # noqa: BLE001  (missing decoders raise several kinds)
        syntax = ds.file_meta.get("TransferSyntaxUID")
        name = getattr(syntax, "name", syntax)
        raise DataError(file, f"its pixel data ({name}) cannot be decoded here ({exc}); "
                        "decompress the series first (e.g. `gdcmconv --raw`) or install a "
                        "pydicom decoder (pylibjpeg, gdcm)") from exc
    if array.ndim != 2:
        raise DataError(file, f"expected one grayscale image per file, got pixel data of "
                        f"shape {array.shape}")
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return array.astype(np.float32) * np.float32(slope) + np.float32(intercept)
