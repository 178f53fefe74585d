"""DICOM series written with pydicom, read against the equivalent NIfTI files."""

import numpy as np
import pydicom
import pytest
from conftest import head_volume, save_nifti
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    MRImageStorage,
    generate_uid,
)

from keras_mrigan.data import pipeline, readers
from keras_mrigan.data.dicom import DicomSeries

SPACING = (1.5, 1.2, 2.0)  # RAS millimetres between voxels along x, y and z.
ORIGIN = np.array([-20.0, -30.0, 10.0])  # RAS position of voxel (0, 0, 0).
SLOPE, INTERCEPT = 0.5, -100.0


def ras_volume(seed=0):
    """A head (X, Y, Z) = (24, 28, 20) with a bright marker voxel near one corner."""
    volume = head_volume(seed=seed)
    volume[5, 20, 12] = 2000.0
    return volume


def nifti_affine():
    return np.array([[SPACING[0], 0, 0, ORIGIN[0]], [0, SPACING[1], 0, ORIGIN[1]],
                     [0, 0, SPACING[2], ORIGIN[2]], [0, 0, 0, 1]])


def _dataset(series_uid, patient, sop_class=MRImageStorage, syntax=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = series_uid
    ds.PatientID = patient
    ds.Modality = "MR"
    return ds


def write_axial_series(folder, volume, patient="P01", rng=None, names=None):
    """Writes a RAS volume as an axial DICOM series stored the DICOM way: LPS patient
    coordinates (columns towards the patient's left, rows towards posterior), one file per
    slice under a random name (some without an extension), InstanceNumbers shuffled, values
    stored through RescaleSlope and RescaleIntercept."""
    rng = rng or np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    x, y, z = volume.shape
    uid = generate_uid()
    numbers = rng.permutation(z) + 1
    files = []
    for k in range(z):
        ds = _dataset(uid, patient)
        # Pixel [r, c] of slice k is RAS voxel (X - 1 - c, Y - 1 - r, k).
        pixels = volume[::-1, ::-1, k].T
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelSpacing = [SPACING[1], SPACING[0]]  # (between rows, between columns).
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        corner_ras = ORIGIN + np.array([(x - 1) * SPACING[0], (y - 1) * SPACING[1],
                                        k * SPACING[2]])
        ds.ImagePositionPatient = [-corner_ras[0], -corner_ras[1], corner_ras[2]]  # LPS.
        ds.SliceThickness = SPACING[2]
        ds.InstanceNumber = int(numbers[k])
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = SLOPE, INTERCEPT
        stored = np.round((pixels - INTERCEPT) / SLOPE).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        name = names[k] if names else f"{rng.integers(10**8):08d}" + ("" if k % 3 else ".dcm")
        ds.save_as(folder / name, enforce_file_format=True)
        files.append(folder / name)
    return files


@pytest.fixture
def series_and_nifti(tmp_path):
    volume = ras_volume()
    files = write_axial_series(tmp_path / "dicom", volume)
    nifti = save_nifti(tmp_path / "nifti" / "head.nii.gz", volume, nifti_affine())
    return tmp_path / "dicom", files, nifti, volume


def test_series_reads_like_the_equivalent_nifti(series_and_nifti):
    folder, files, nifti, volume = series_and_nifti
    [series] = readers.find_files(folder)
    assert isinstance(series, DicomSeries) and len(series.files) == len(files) == 20
    assert series.patient == "P01"
    from_dicom = readers.read_volume(series)
    from_nifti = readers.read_volume(nifti)
    assert from_dicom.shape == from_nifti.shape == (24, 28, 20)
    # The marker lands on the same RAS voxel; every value survives the rescale.
    assert np.unravel_index(np.argmax(from_dicom), from_dicom.shape) == (5, 20, 12)
    np.testing.assert_allclose(from_dicom, from_nifti, atol=SLOPE / 2)


def test_series_slices_like_nifti_in_every_plane(series_and_nifti):
    folder, _, nifti, _ = series_and_nifti
    for axis in ("axial", "coronal", "sagittal"):
        a = pipeline.load_slices(folder, 32, axis=axis, min_foreground=0.0)
        b = pipeline.load_slices(nifti, 32, axis=axis, min_foreground=0.0)
        np.testing.assert_allclose(a, b, atol=2e-3)


def test_slice_order_comes_from_positions_not_names(tmp_path):
    volume = ras_volume()
    # Names in reverse anatomical order, and InstanceNumbers shuffled.
    names = [f"IM{19 - k:04d}" for k in range(20)]
    write_axial_series(tmp_path / "d", volume, names=names)
    [series] = readers.find_files(tmp_path / "d")
    data = readers.read_volume(series)
    assert np.unravel_index(np.argmax(data), data.shape) == (5, 20, 12)


def test_two_series_in_one_folder_and_subjects(tmp_path):
    write_axial_series(tmp_path / "d", ras_volume(0), patient="P01")
    write_axial_series(tmp_path / "d", ras_volume(1), patient="P02",
                       rng=np.random.default_rng(1))
    found = readers.find_files(tmp_path / "d")
    assert len(found) == 2 and sorted(s.patient for s in found) == ["P01", "P02"]
    images, subjects = pipeline.load_slices(tmp_path / "d", 16, return_subjects=True)
    assert sorted(set(subjects)) == ["P01", "P02"]
    assert len(images) == len(subjects)


def _break(files, change):
    ds = pydicom.dcmread(files[3])
    change(ds)
    ds.save_as(files[3], enforce_file_format=True)
    return files[3]


@pytest.mark.parametrize("case, change, message", [
    ("missing position", lambda ds: delattr(ds, "ImagePositionPatient"),
     "has no ImagePositionPatient"),
    ("duplicated position", None, "same position along the slice normal"),
    ("other size", None, "its image is 10 x 12"),
])
def test_broken_series_name_the_file(tmp_path, case, change, message):
    files = write_axial_series(tmp_path / "d", ras_volume())
    if case == "duplicated position":
        position = pydicom.dcmread(files[4]).ImagePositionPatient
        change = lambda ds: setattr(ds, "ImagePositionPatient", position)  # noqa: E731
    elif case == "other size":
        def change(ds):
            ds.Rows, ds.Columns = 10, 12
            ds.PixelData = np.zeros((10, 12), np.uint16).tobytes()
    broken = _break(files, change)
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError, match=message) as error:
        readers.read_volume(series)
    names = {broken.name, files[4].name} if case == "duplicated position" else {broken.name}
    assert any(name in str(error.value) for name in names)
    with pytest.raises(readers.DataError, match=message):  # Also through the pipeline.
        pipeline.load_slices(tmp_path / "d", 16)


def test_compressed_series_that_cannot_be_decoded(tmp_path):
    files = write_axial_series(tmp_path / "d", ras_volume())

    def compress(ds):
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8 not really a jpeg \xff\xd9"])

    broken = _break(files, compress)
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError, match="cannot be decoded here") as error:
        readers.read_volume(series)
    assert broken.name in str(error.value) and "JPEG" in str(error.value)


def test_structured_report_is_not_an_image(tmp_path):
    ds = _dataset(generate_uid(), "P01", sop_class=BasicTextSRStorage)
    ds.Modality = "SR"
    (tmp_path / "d").mkdir()
    ds.save_as(tmp_path / "d" / "report.dcm", enforce_file_format=True)
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError, match="report.dcm: a DICOM file without an image"):
        readers.read_volume(series)


def test_files_without_extension_that_are_not_dicom_are_ignored(tmp_path):
    write_axial_series(tmp_path / "d", ras_volume())
    (tmp_path / "d" / "README").write_text("not an image")
    [series] = readers.find_files(tmp_path / "d")
    assert len(series.files) == 20
