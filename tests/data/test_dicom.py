"""DICOM series written with pydicom, read against the equivalent NIfTI files."""

import shutil

import numpy as np
import pydicom
import pytest
from conftest import head_volume, save_nifti
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    MediaStorageDirectoryStorage,
    MRImageStorage,
    generate_uid,
)

from keras_mrigan.data import pipeline, readers
from keras_mrigan.data.dicom import DicomSeries, group_series

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


def write_axial_series(folder, volume, patient="P01", rng=None, names=None, description=None,
                       drop=()):
    """Writes a RAS volume as an axial DICOM series stored the DICOM way: LPS patient
    coordinates (columns towards the patient's left, rows towards posterior), one file per
    slice under a random name (some without an extension), InstanceNumbers shuffled, values
    stored through RescaleSlope and RescaleIntercept. Slices ``drop`` are left out."""
    rng = rng or np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    x, y, z = volume.shape
    uid = generate_uid()
    numbers = rng.permutation(z) + 1
    files = []
    for k in range(z):
        if k in drop:
            continue
        ds = _dataset(uid, patient)
        if description:
            ds.SeriesDescription = description
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
    assert "pip install keras-mrigan[dicom]" in str(error.value)


def test_structured_report_is_not_an_image(tmp_path):
    ds = _dataset(generate_uid(), "P01", sop_class=BasicTextSRStorage)
    ds.Modality = "SR"
    (tmp_path / "d").mkdir()
    ds.save_as(tmp_path / "d" / "report.dcm", enforce_file_format=True)
    # Nothing else to read: the error says what was skipped and why.
    with pytest.raises(ValueError, match=r"(?s)No images or volumes found under .*\n  "
                       r"skipped '\(no description\)' .* \(1 file, in .*\): no image in its "
                       r"files \(Basic Text SR Storage\)"):
        readers.find_files(tmp_path / "d")
    [series] = group_series([tmp_path / "d" / "report.dcm"])  # Read anyway: named.
    with pytest.raises(readers.DataError, match="report.dcm: a DICOM file without an image"):
        readers.read_volume(series)


def test_files_without_extension_that_are_not_dicom_are_ignored(tmp_path):
    write_axial_series(tmp_path / "d", ras_volume())
    (tmp_path / "d" / "README").write_text("not an image")
    [series] = readers.find_files(tmp_path / "d")
    assert len(series.files) == 20


# A study folder as a PACS export gives it.

def write_image(path, pixels, uid, *, description, orientation=(1, 0, 0, 0, 1, 0),
                position=(0.0, 0.0, 0.0), image_type=("ORIGINAL", "PRIMARY", "M"),
                spacing=(1.0, 1.0), patient="P01"):
    """Writes one 2-D MR image of a series (stored values = ``pixels``, no rescale)."""
    ds = _dataset(uid, patient)
    ds.SeriesDescription = description
    ds.ImageType = list(image_type)
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = list(spacing)
    ds.ImageOrientationPatient = list(orientation)
    ds.ImagePositionPatient = list(position)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


PLANES = {"axial": (1, 0, 0, 0, 1, 0), "coronal": (1, 0, 0, 0, 0, -1),
          "sagittal": (0, 1, 0, 0, 0, -1)}


@pytest.fixture
def study(tmp_path):
    """A study: a 3-plane localizer (9 images), a one-image series (16 x 24, a gradient with a
    bright corner), 5 MRA projections at their own angles, a T1 volume (20 slices), a
    report, and a DICOMDIR index."""
    root = tmp_path / "study"
    rng = np.random.default_rng(3)
    uid = generate_uid()
    for i, orientation in enumerate(PLANES.values()):
        for j in range(3):
            write_image(root / "loc" / f"IM{3 * i + j}", rng.integers(0, 900, (16, 16)), uid,
                        description="Localizer 3-plane", orientation=orientation,
                        position=(0, 0, 10.0 * j))
    single = (np.arange(16)[:, None] * 10 + np.arange(24)[None, :]).astype(np.uint16)
    single[0, 23] = 900
    write_image(root / "single" / "IM0", single, generate_uid(), description="Cor Diffusion",
                spacing=(1.0, 1.0))
    uid = generate_uid()
    for j in range(5):
        angle = np.pi * j / 5
        write_image(root / "mra" / f"IM{j}", rng.integers(0, 900, (16, 16)), uid,
                    description="TOF MIP", image_type=("DERIVED", "PRIMARY", "PROJECTION IMAGE"),
                    orientation=(np.cos(angle), np.sin(angle), 0, 0, 0, -1))
    write_axial_series(root / "t1", ras_volume(), description="T1 MPRAGE")
    report = _dataset(generate_uid(), "P01", sop_class=BasicTextSRStorage)
    report.Modality, report.SeriesDescription = "SR", "Report"
    report.save_as(root / "report.dcm", enforce_file_format=True)
    directory = _dataset(generate_uid(), "P01", sop_class=MediaStorageDirectoryStorage)
    directory.save_as(root / "DICOMDIR", enforce_file_format=True)
    return root, single


def test_study_folder_reads_volumes_and_single_images_and_skips_the_rest(study):
    root, single = study
    with pytest.warns(UserWarning) as caught:
        found = readers.find_files(root)
    assert len(caught) == 1  # One warning, listing every skipped series.
    message = str(caught[0].message)
    assert message.startswith("Skipped 3 DICOM series that are not volumes or images:")
    assert "'Localizer 3-plane'" in message and "(9 files, in " in message \
        and "images at 3 orientations" in message
    assert "'TOF MIP'" in message and "(5 files, in " in message \
        and "projection images (ImageType PROJECTION IMAGE)" in message
    assert "'Report'" in message and "no image in its files (Basic Text SR Storage)" in message
    assert "DICOMDIR" not in message
    assert [(s.description, s.kind, len(s.files)) for s in found] == \
        [("Cor Diffusion", "image", 1), ("T1 MPRAGE", "volume", 20)]
    with pytest.warns(UserWarning, match="Skipped 3 DICOM series"):
        stacks = dict(pipeline.iter_slice_stacks(root, 16, min_foreground=0.0))
    assert [len(s) for s in stacks.values()] == [1, 20]
    # The single image is one slice, the image itself: its 16 rows are not slices. Padded
    # to 24 x 24 (4 rows of background above and below), then shrunk to 16 x 16.
    [image] = readers.read_stack(found[0])
    assert image.shape == (16, 24)
    low, high = np.percentile(single, [0.5, 99.5])
    np.testing.assert_allclose(image, np.clip((single - low) / (high - low) * 2 - 1, -1, 1),
                               atol=1e-5)
    assert np.unravel_index(np.argmax(stacks[str(found[0])][0]), (16, 16))[1] == 15


def test_series_pattern_selects_and_an_asked_series_that_cannot_be_read_is_an_error(study):
    root, _ = study
    [t1] = readers.find_files(root, series="MPRAGE")
    assert t1.description == "T1 MPRAGE"
    [by_uid] = readers.find_files(root, series=t1.uid.replace(".", r"\."))
    assert by_uid == t1
    with pytest.raises(readers.DataError, match=r"the asked series 'Localizer 3-plane' .*"
                       r"\(9 files, in .*\): images at 3 orientations .*cannot be read"):
        readers.find_files(root, series="Localizer")
    with pytest.raises(ValueError, match="No images or volumes in DICOM series matching "
                       "'FLAIR' found under"):
        readers.find_files(root, series="FLAIR")


def test_a_missing_slice_is_an_error_that_says_where(tmp_path):
    volume = ras_volume()
    write_axial_series(tmp_path / "d", volume, drop=(9,))
    [series] = readers.find_files(tmp_path / "d")
    assert len(series.files) == 19
    with pytest.raises(readers.DataError) as error:
        readers.read_volume(series)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'd'} (DICOM series {series.uid}, 19 files): its "
                              "slices are unevenly spaced: ")
    # Slices 9 and 10 along the normal (z = 26 and 30 mm) are 4 mm apart, the step is 2 mm.
    assert "(slices 9 and 10 of 19 along the normal, at 26.00 and 30.00 mm) lie 4.00 mm " \
        "apart where the series' step is 2.00 mm: 1 missing slice(s)" in message
    with pytest.raises(readers.DataError, match="unevenly spaced"):
        pipeline.load_slices(tmp_path / "d", 16)


def test_split_gaps_reads_the_volumes_on_either_side(tmp_path):
    volume = ras_volume()
    write_axial_series(tmp_path / "d", volume, drop=(9,))
    below, above = readers.find_files(tmp_path / "d", split_gaps=True)
    assert (below.part, above.part) == ("part 1 of 2", "part 2 of 2")
    np.testing.assert_allclose(readers.read_volume(below), volume[..., :9], atol=SLOPE / 2)
    upper = readers.read_volume(above)
    np.testing.assert_allclose(upper, volume[..., 10:], atol=SLOPE / 2)
    assert np.unravel_index(np.argmax(upper), upper.shape) == (5, 20, 2)  # z = 12 - 10.
    assert readers.subject_of(below) == readers.subject_of(above) == "P01"
    stacks = list(pipeline.iter_slice_stacks(tmp_path / "d", 16, min_foreground=0.0,
                                             split_gaps=True))
    assert [len(s) for _, s in stacks] == [9, 10]


def test_dicomdir_is_not_read_as_an_image(study):
    root, _ = study
    with pytest.warns(UserWarning):
        found = readers.find_files(root)
    assert all("DICOMDIR" not in str(f) for s in found for f in s.files)


@pytest.mark.parametrize("syntax", ["RLELossless"])
def test_compressed_series_read_like_the_uncompressed_one(tmp_path, syntax):
    # pydicom encodes and decodes RLE itself; the JPEG family needs the dicom extra's decoders.
    volume = ras_volume()
    files = write_axial_series(tmp_path / "d", volume)
    for file in files:
        ds = pydicom.dcmread(file)
        ds.compress(getattr(pydicom.uid, syntax))
        ds.save_as(file, enforce_file_format=True)
    assert pydicom.dcmread(files[0]).file_meta.TransferSyntaxUID == getattr(pydicom.uid, syntax)
    [series] = readers.find_files(tmp_path / "d")
    np.testing.assert_allclose(readers.read_volume(series), volume, atol=SLOPE / 2)


def test_jpeg_lossless_series_read_like_the_uncompressed_one(tmp_path):
    # JPEG Lossless (Process 14), the syntax PACS exports use most, decoded by
    # pylibjpeg-libjpeg (the dicom extra). pydicom cannot encode it: imagecodecs' lossless
    # JPEG encoder (a dev dependency only) writes the slices' codestreams.
    imagecodecs = pytest.importorskip("imagecodecs")
    volume = ras_volume()
    volume[4, 6, 2] = volume.max() + 50 * SLOPE  # A marker voxel where it should land.
    files = write_axial_series(tmp_path / "d", volume)
    for file in files:
        ds = pydicom.dcmread(file)
        stream = imagecodecs.ljpeg_encode(ds.pixel_array.astype(np.uint16),
                                          bitspersample=ds.BitsStored)
        assert stream[:2] == b"\xff\xd8" and b"\xff\xc3" in stream  # SOF3: lossless JPEG.
        ds.PixelData = pydicom.encaps.encapsulate([stream])
        ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEGLossless
        ds.save_as(file, enforce_file_format=True)
    [series] = readers.find_files(tmp_path / "d")
    read = readers.read_volume(series)
    np.testing.assert_allclose(read, volume, atol=SLOPE / 2)
    assert np.unravel_index(np.argmax(read), read.shape) == (4, 6, 2)


def test_a_runs_subjects_come_from_the_series_it_reads(tmp_path):
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig

    write_axial_series(tmp_path / "d", ras_volume(0), patient="P01", description="T1 MPRAGE")
    write_axial_series(tmp_path / "d", ras_volume(1), patient="P02", description="T2 FLAIR",
                       rng=np.random.default_rng(1))
    config = RunConfig().replace(source=str(tmp_path / "d"), resolution=16)
    assert training.training_subjects(config) == ["P01", "P02"]
    assert training.training_subjects(config.replace(series="FLAIR")) == ["P02"]


def test_jpeg2000_series_read_like_the_uncompressed_one(tmp_path):
    # Decoded by pylibjpeg's OpenJPEG plugin (the dicom extra; the dev extra installs it too).
    # OpenJPEG's encoder needs images of some size: 64 x 64 slices.
    volume = head_volume(shape=(64, 64, 6), empty=1)  # Tissue in slices 1-4.
    volume[9, 50, 3] = 2000.0  # A marker voxel where it should land.
    files = write_axial_series(tmp_path / "d", volume)
    for file in files:
        ds = pydicom.dcmread(file)
        ds.compress(pydicom.uid.JPEG2000Lossless)
        ds.save_as(file, enforce_file_format=True)
    assert pydicom.dcmread(files[0]).file_meta.TransferSyntaxUID == pydicom.uid.JPEG2000Lossless
    [series] = readers.find_files(tmp_path / "d")
    read = readers.read_volume(series)
    np.testing.assert_allclose(read, volume, atol=SLOPE / 2)
    assert np.unravel_index(np.argmax(read), read.shape) == (9, 50, 3)


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm"])
def test_scanner_files_in_compressed_syntaxes_read_like_the_uncompressed_one(tmp_path, name):
    # Files that ship with pydicom: one MR image stored uncompressed and in lossless
    # compressed syntaxes (JPEG-LS through pylibjpeg-libjpeg, JPEG 2000 through OpenJPEG).
    from pydicom.data import get_testdata_file

    for folder, file in (("plain", "MR_small.dcm"), ("compressed", name)):
        (tmp_path / folder).mkdir()
        shutil.copy(get_testdata_file(file), tmp_path / folder / file)
    [plain] = readers.find_files(tmp_path / "plain")
    [compressed] = readers.find_files(tmp_path / "compressed")
    expected = readers.read_stack(plain)
    assert expected.shape == (1, 64, 64)  # One 2-D image: one slice, not 64 rows.
    np.testing.assert_array_equal(readers.read_stack(compressed), expected)
