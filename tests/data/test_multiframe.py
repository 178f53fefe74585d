"""Enhanced (multi-frame) DICOM written with pydicom, read against the equivalent NIfTI."""

import nibabel as nib
import numpy as np
import pydicom
import pytest
from conftest import save_nifti
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from test_dicom import ORIGIN, SPACING, nifti_affine, ras_volume

from keras_mrigan.data import info, pipeline, readers
from keras_mrigan.data.dicom import DicomSeries, read_dicom_image

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
LEGACY_ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.4"
STACK_ID, IN_STACK_POSITION = 0x00209056, 0x00209057
AXIAL_LPS = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL_LPS = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def _item(**attributes):
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def axial_frames(volume, stack=None, origin=ORIGIN):
    """The axial frames of a RAS volume stored the DICOM way (LPS; columns towards the
    patient's left, rows towards posterior), each ``(pixels, frame attributes)``."""
    x, y, z = volume.shape
    frames = []
    for k in range(z):
        corner = origin + np.array([(x - 1) * SPACING[0], (y - 1) * SPACING[1], k * SPACING[2]])
        frames.append((volume[::-1, ::-1, k].T, dict(
            position=[-corner[0], -corner[1], corner[2]], orientation=AXIAL_LPS,
            spacing=[SPACING[1], SPACING[0]], stack=stack, number=k + 1)))
    return frames


def coronal_frames(volume, stack=None):
    """The coronal frames of a RAS volume (LPS; columns towards the left, rows down)."""
    x, y, z = volume.shape
    frames = []
    for j in range(y):
        corner = ORIGIN + np.array([(x - 1) * SPACING[0], j * SPACING[1], (z - 1) * SPACING[2]])
        frames.append((volume[::-1, j, ::-1].T, dict(
            position=[-corner[0], -corner[1], corner[2]], orientation=CORONAL_LPS,
            spacing=[SPACING[2], SPACING[0]], stack=stack, number=j + 1)))
    return frames


def write_enhanced(path, frames, *, order=None, patient="P01", sop_class=ENHANCED_MR,
                   shared=("orientation", "spacing"), description="T1 3D"):
    """Writes ``frames`` as one multi-frame MR file stored in ``order`` (a permutation of
    the frames, e.g. interleaved or shuffled), with each frame's position, and the
    attributes in ``shared`` in the shared functional groups when every frame has the same
    (per frame otherwise). Each frame gets its own rescale slope (0.5 or 0.25)."""
    order = range(len(frames)) if order is None else order
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.PatientID, ds.Modality = generate_uid(), patient, "MR"
    ds.SeriesDescription, ds.FrameOfReferenceUID = description, generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    rows, columns = frames[0][0].shape
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, len(order)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0

    def groups(info, slope):
        return {"position": _item(PlanePositionSequence=Sequence(
                    [_item(ImagePositionPatient=list(info["position"]))])),
                "orientation": _item(PlaneOrientationSequence=Sequence(
                    [_item(ImageOrientationPatient=list(info["orientation"]))])),
                "spacing": _item(PixelMeasuresSequence=Sequence(
                    [_item(PixelSpacing=list(info["spacing"]), SliceThickness=2.0)])),
                "rescale": _item(PixelValueTransformationSequence=Sequence([_item(
                    RescaleSlope=slope, RescaleIntercept=-100.0, RescaleType="US")]))}

    per_frame, stored = [], []
    for n, i in enumerate(order):
        pixels, attributes = frames[i]
        slope = 0.5 if n % 2 else 0.25
        item = Dataset()
        for name, group in groups(attributes, slope).items():
            if name not in shared:
                for element in group:
                    item.add(element)
        content = _item(InStackPositionNumber=attributes["number"])
        if attributes["stack"] is not None:
            content.StackID = attributes["stack"]
            content.DimensionIndexValues = [int(attributes["stack"]), attributes["number"]]
        item.FrameContentSequence = Sequence([content])
        per_frame.append(item)
        stored.append(np.round((pixels + 100.0) / slope).astype(np.uint16))
    shared_item = Dataset()
    for name, group in groups(frames[0][1], 1.0).items():
        if name in shared:
            for element in group:
                shared_item.add(element)
    ds.SharedFunctionalGroupsSequence = Sequence([shared_item])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    if any(attributes["stack"] is not None for _, attributes in frames):
        ds.DimensionIndexSequence = Sequence([
            _item(DimensionIndexPointer=STACK_ID, FunctionalGroupPointer=0x00209111),
            _item(DimensionIndexPointer=IN_STACK_POSITION, FunctionalGroupPointer=0x00209111)])
    ds.PixelData = np.stack(stored).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def shuffled(n, seed=0):
    return np.random.default_rng(seed).permutation(n)


# Slopes of 0.25 and 0.5 store every value within half a step.
ATOL = 0.25


@pytest.fixture
def shuffled_file_and_nifti(tmp_path):
    volume = ras_volume()
    file = write_enhanced(tmp_path / "dicom" / "enhanced", axial_frames(volume),
                          order=shuffled(20))
    nifti = save_nifti(tmp_path / "nifti" / "head.nii.gz", volume, nifti_affine())
    return file, nifti, volume


@pytest.mark.parametrize("sop_class, shared", [
    (ENHANCED_MR, ("orientation", "spacing")),
    (ENHANCED_MR, ()),  # Every attribute per frame.
    (LEGACY_ENHANCED_MR, ("orientation", "spacing")),
])
def test_shuffled_frames_read_like_the_equivalent_nifti(tmp_path, sop_class, shared):
    volume = ras_volume()
    write_enhanced(tmp_path / "d" / "IM1", axial_frames(volume), order=shuffled(20),
                   sop_class=sop_class, shared=shared)
    [series] = readers.find_files(tmp_path / "d")
    assert isinstance(series, DicomSeries) and series.kind == "volume"
    assert series.frames == tuple(range(20)) and series.part is None
    image = readers.volume_image(series)
    # The affine: 1.5 x 1.2 x 2 mm voxels (not an interleaved order's step); the stored
    # columns run to the patient's left and rows to posterior (LPS), in RAS millimetres.
    np.testing.assert_allclose(image.header.get_zooms(), SPACING, atol=1e-6)
    expected = np.array([[-SPACING[0], 0, 0, ORIGIN[0] + 23 * SPACING[0]],
                         [0, -SPACING[1], 0, ORIGIN[1] + 27 * SPACING[1]],
                         [0, 0, SPACING[2], ORIGIN[2]], [0, 0, 0, 1]])
    np.testing.assert_allclose(image.affine, expected, atol=1e-6)
    data = readers.read_volume(series)
    assert data.shape == (24, 28, 20)
    assert np.unravel_index(np.argmax(data), data.shape) == (5, 20, 12)
    np.testing.assert_allclose(data, volume, atol=ATOL)  # Each frame's own rescale.


def test_multiframe_slices_like_nifti_in_every_plane(shuffled_file_and_nifti):
    file, nifti, _ = shuffled_file_and_nifti
    for axis in ("axial", "coronal", "sagittal"):
        a = pipeline.load_slices(file.parent, 32, axis=axis, min_foreground=0.0)
        b = pipeline.load_slices(nifti, 32, axis=axis, min_foreground=0.0)
        np.testing.assert_allclose(a, b, atol=2e-3)


def test_two_stacks_by_stack_id_give_two_volumes(tmp_path):
    first, second = ras_volume(0), ras_volume(1)
    frames = (axial_frames(first, stack="1")
              + axial_frames(second, stack="2", origin=ORIGIN + [0.0, 0.0, 100.0]))
    write_enhanced(tmp_path / "d" / "two.dcm", frames, order=shuffled(40))
    found = readers.find_files(tmp_path / "d")
    assert [(s.part, s.kind, len(s.frames)) for s in found] == \
        [("stack 1", "volume", 20), ("stack 2", "volume", 20)]
    assert "stack 2" in str(found[1]) and "two.dcm, 20 frames" in str(found[1])
    np.testing.assert_allclose(readers.read_volume(found[0]), first, atol=ATOL)
    np.testing.assert_allclose(readers.read_volume(found[1]), second, atol=ATOL)
    assert readers.volume_image(found[1]).affine[2, 3] == pytest.approx(ORIGIN[2] + 100.0)
    assert [readers.subject_of(s) for s in found] == ["P01", "P01"]
    stacks = list(pipeline.iter_slice_stacks(tmp_path / "d", 16, min_foreground=0.0))
    assert [len(s) for _, s in stacks] == [20, 20]


def square_volume():
    """A head (X, Y, Z) = (24, 20, 20), so that its axial and coronal frames (the frames of
    one file) have one size, 20 x 24; its marker at (5, 12, 12)."""
    return np.ascontiguousarray(ras_volume()[:, 8:, :])


def test_two_orientations_without_stack_ids_give_two_volumes(tmp_path):
    volume = square_volume()
    frames = axial_frames(volume) + coronal_frames(volume)
    write_enhanced(tmp_path / "d" / "IM1", frames, order=shuffled(40), shared=())
    axial, coronal = readers.find_files(tmp_path / "d")
    assert (axial.part, coronal.part) == ("stack 1 of 2", "stack 2 of 2")
    assert (len(axial.frames), len(coronal.frames)) == (20, 20)
    for series in (axial, coronal):
        data = readers.read_volume(series)
        assert np.unravel_index(np.argmax(data), data.shape) == (5, 12, 12)
        np.testing.assert_allclose(data, volume, atol=ATOL)
    # Stored as (column, row, frame): columns to the left, rows down, frames to the back.
    assert nib.aff2axcodes(readers.volume_image(coronal).affine) == ("L", "I", "P")


def test_a_stack_of_two_frames_is_two_slices(tmp_path):
    volume = square_volume()
    frames = axial_frames(volume) + coronal_frames(volume)[10:12]
    write_enhanced(tmp_path / "d" / "IM1", frames, order=shuffled(22), shared=())
    found = readers.find_files(tmp_path / "d")
    assert [(s.kind, len(s.frames)) for s in found] == [("volume", 20), ("image", 1),
                                                        ("image", 1)]
    assert "DICOM frame" in str(found[1]) and "IM1, frame " in str(found[1])
    # Each frame is one 2-D image as stored (first row at the top), never cut into rows.
    images = sorted((read_dicom_image(s) for s in found[1:]),
                    key=lambda pair: pair[0].sum())
    expected = sorted((volume[::-1, j, ::-1].T for j in (10, 11)), key=np.sum)
    for (image, spacing), reference in zip(images, expected, strict=True):
        assert spacing == (SPACING[2], SPACING[0])
        np.testing.assert_allclose(image, reference, atol=ATOL)
    assert [len(readers.read_stack(s)) for s in found] == [20, 1, 1]


def _frame_item(path, frame_number):
    ds = pydicom.dcmread(path)
    return ds, ds.PerFrameFunctionalGroupsSequence[frame_number - 1]


def _stored_number(path, wanted):
    """The frame number (from 1) under which the frame of in-stack position ``wanted`` is
    stored."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    numbers = [item.FrameContentSequence[0].InStackPositionNumber
               for item in ds.PerFrameFunctionalGroupsSequence]
    return numbers.index(wanted) + 1


def test_a_frame_without_position_names_the_file_and_frame(tmp_path):
    file = write_enhanced(tmp_path / "d" / "IM1", axial_frames(ras_volume()),
                          order=shuffled(20))
    number = _stored_number(file, 8)
    ds, item = _frame_item(file, number)
    del item.PlanePositionSequence
    ds.save_as(file, enforce_file_format=True)
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError, match=f"IM1: frame {number} has no "
                       r"ImagePositionPatient \(3 numbers\) in a PlanePositionSequence "
                       r"\(per-frame or shared functional groups\), which a volume needs"):
        readers.read_volume(series)


def test_two_frames_at_one_position_name_the_file_and_frames(tmp_path):
    file = write_enhanced(tmp_path / "d" / "IM1", axial_frames(ras_volume()),
                          order=shuffled(20))
    a, b = _stored_number(file, 5), _stored_number(file, 6)
    ds, item = _frame_item(file, b)
    item.PlanePositionSequence[0].ImagePositionPatient = \
        ds.PerFrameFunctionalGroupsSequence[a - 1].PlanePositionSequence[0].ImagePositionPatient
    ds.save_as(file, enforce_file_format=True)
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError) as error:
        readers.read_volume(series)
    message = str(error.value)
    assert message.startswith(f"{file}: its frame ")
    assert "lies at the same position along the slice normal as frame" in message
    assert f"frame {a} " in message and f"frame {b} " in message
    assert "a duplicated slice in" in message and "IM1, 20 frames" in message


def test_a_missing_frame_is_a_gap_and_split_gaps_reads_both_sides(tmp_path):
    volume = ras_volume()
    frames = [f for k, f in enumerate(axial_frames(volume)) if k != 9]
    write_enhanced(tmp_path / "d" / "IM1", frames, order=shuffled(19))
    [series] = readers.find_files(tmp_path / "d")
    with pytest.raises(readers.DataError, match=r"its slices are unevenly spaced: frame \d+ "
                       r"and frame \d+ \(slices 9 and 10 of 19 along the normal, at 26.00 "
                       r"and 30.00 mm\) lie 4.00 mm apart where the series' step is 2.00 mm: "
                       r"1 missing slice"):
        readers.read_volume(series)
    below, above = readers.find_files(tmp_path / "d", split_gaps=True)
    assert (below.part, above.part) == ("part 1 of 2", "part 2 of 2")
    np.testing.assert_allclose(readers.read_volume(below), volume[..., :9], atol=ATOL)
    np.testing.assert_allclose(readers.read_volume(above), volume[..., 10:], atol=ATOL)


def test_data_info_shows_each_stack_as_a_volume_with_its_voxel_size(tmp_path):
    frames = (axial_frames(ras_volume(0), stack="1")
              + axial_frames(ras_volume(1), stack="2", origin=ORIGIN + [0.0, 0.0, 100.0]))
    write_enhanced(tmp_path / "d" / "two.dcm", frames, order=shuffled(40))
    rows = info.describe(tmp_path / "d", pipeline.SliceOptions(min_foreground=0.0))
    assert [(r.kind, r.shape, r.voxel_mm, r.orientation, r.slices, r.subject) for r in rows] \
        == [("dicom volume", (24, 28, 20), SPACING, "LPS", 20, "P01")] * 2
    assert "stack 1" in rows[0].source and "stack 2" in rows[1].source
    assert "two.dcm, 20 frames" in rows[0].source and rows[0].note == "'T1 3D'"


def test_stacks_from_dimension_index_values_alone(tmp_path):
    # Some files name the stack only in DimensionIndexValues (its dimension: StackID).
    frames = (axial_frames(ras_volume(0), stack="1")
              + axial_frames(ras_volume(1), stack="2", origin=ORIGIN + [0.0, 0.0, 100.0]))
    file = write_enhanced(tmp_path / "d" / "IM1", frames, order=shuffled(40))
    ds = pydicom.dcmread(file)
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.FrameContentSequence[0].StackID
    ds.save_as(file, enforce_file_format=True)
    found = readers.find_files(tmp_path / "d")
    assert [(s.part, len(s.frames)) for s in found] == [("stack 1", 20), ("stack 2", 20)]
    np.testing.assert_allclose(readers.read_volume(found[1]), ras_volume(1), atol=ATOL)


def test_multiframe_without_functional_groups_is_skipped(tmp_path):
    file = write_enhanced(tmp_path / "d" / "cine.dcm", axial_frames(ras_volume()))
    ds = pydicom.dcmread(file)
    del ds.PerFrameFunctionalGroupsSequence, ds.SharedFunctionalGroupsSequence
    ds.save_as(file, enforce_file_format=True)
    write_enhanced(tmp_path / "d" / "t1.dcm", axial_frames(ras_volume()), order=shuffled(20))
    with pytest.warns(UserWarning, match=r"Skipped 1 DICOM series .*\n  'T1 3D' .* \(1 file, "
                      r"in .*\): multi-frame images without functional groups"):
        [series] = readers.find_files(tmp_path / "d")
    assert series.files[0].name == "t1.dcm"
