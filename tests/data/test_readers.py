import gzip

import nibabel as nib
import numpy as np
import pytest
from conftest import head_volume, save_analyze, save_nifti, save_png

from keras_mrigan.data import readers
from keras_mrigan.data.pipeline import iter_slice_stacks, load_slices


def test_png_tree_excludes_seg_masks_by_default(oasis_png_tree):
    files = readers.find_files(oasis_png_tree)
    assert len(files) == 8
    assert all("seg" not in f.parent.name for f in files)
    with_masks = readers.find_files(oasis_png_tree, include_masks=True)
    assert len(with_masks) == 16


def test_png_slices_scaled_from_integer_range(tmp_path):
    image = np.array([[0, 255], [127, 128]], dtype=np.uint8)
    values = readers.read_image(save_png(tmp_path / "a.png", image))
    np.testing.assert_allclose(values, image / 127.5 - 1.0, atol=1e-6)
    deep = np.array([[0, 65535], [32767, 1000]], dtype=np.uint16)
    values = readers.read_image(save_png(tmp_path / "b.png", deep))
    np.testing.assert_allclose(values, deep / 32767.5 - 1.0, atol=1e-5)


def test_rgb_png_collapsed_to_gray(tmp_path):
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # Pure red: luma 0.299 * 200 = 59.8
    values = readers.read_image(save_png(tmp_path / "rgb.png", rgb))
    assert values.shape == (4, 4)
    np.testing.assert_allclose(values, 60 / 127.5 - 1.0, atol=1e-6)


def test_png_pipeline_counts_and_range(oasis_png_tree):
    stacks = list(iter_slice_stacks(oasis_png_tree, 16))
    assert len(stacks) == 8
    assert all(stack.shape == (1, 16, 16) for _, stack in stacks)
    x = load_slices(oasis_png_tree / "keras_png_slices_train", 16)
    assert x.shape == (5, 16, 16, 1)
    assert -1.0 <= x.min() and x.max() <= 1.0


@pytest.mark.parametrize("name", ["vol.nii", "vol.nii.gz"])
def test_nifti_volume_slices(tmp_path, name):
    volume = head_volume()
    path = save_nifti(tmp_path / name, volume)
    data = readers.read_volume(path)
    np.testing.assert_allclose(data, volume, rtol=1e-6)
    stacks = list(iter_slice_stacks(path, 32))
    (got_name, stack), = stacks
    assert got_name == str(path)
    # 20 axial slices, 3 empty at each end are dropped.
    assert stack.shape == (14, 32, 32)
    assert stack.min() >= -1.0 and stack.max() <= 1.0
    assert stack.max() > 0.99  # The 99.5th percentile maps to 1.


def test_four_d_volume_with_singleton_time(tmp_path):
    path = save_nifti(tmp_path / "v4.nii.gz", head_volume()[..., None])
    assert readers.read_volume(path).shape == (24, 28, 20)


def test_analyze_pairs_in_oasis_layout(oasis_analyze_tree):
    files = readers.find_files(oasis_analyze_tree)
    assert [f.name for f in files] == [
        "OAS1_0001_MR1_mpr_n4_anon_111_t88_masked_gfc.hdr",
        "OAS1_0002_MR1_mpr_n4_anon_111_t88_masked_gfc.hdr",
    ]
    x = load_slices(oasis_analyze_tree, 16)
    assert x.shape == (28, 16, 16, 1)


def test_pattern_selects_files(oasis_analyze_tree):
    files = readers.find_files(oasis_analyze_tree, include_masks=True, pattern="*_fseg.hdr")
    assert len(files) == 2 and all("FSL_SEG" in str(f) for f in files)


def test_non_ras_file_is_reoriented(tmp_path):
    """A marker stored in an LPS file lands anterior-right-superior after slicing."""
    shape = (20, 24, 16)
    volume = np.zeros(shape, np.float32)
    # Voxel i runs right-to-left and j anterior-to-posterior in an LPS file.
    volume[2, 3, 12] = 1.0
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    path = save_nifti(tmp_path / "lps.nii.gz", volume, affine)
    assert nib.aff2axcodes(nib.load(path).affine) == ("L", "P", "S")

    ras = readers.read_volume(path)
    assert ras.shape == shape
    assert tuple(np.argwhere(ras == 1.0)[0]) == (17, 20, 12)

    axial = readers.slice_volume(ras, "axial")
    assert axial.shape == (16, 24, 20)
    # Slice 12 (superior); row 3 (anterior at the top); column 17 (right on the right).
    assert tuple(np.argwhere(axial == 1.0)[0]) == (12, 3, 17)
    coronal = readers.slice_volume(ras, "coronal")
    assert coronal.shape == (24, 16, 20)
    assert tuple(np.argwhere(coronal == 1.0)[0]) == (20, 3, 17)
    sagittal = readers.slice_volume(ras, "sagittal")
    assert sagittal.shape == (20, 16, 24)
    assert tuple(np.argwhere(sagittal == 1.0)[0]) == (17, 3, 20)


def test_central_fraction():
    volume = np.arange(10, dtype=np.float32)[None, None, :] * np.ones((4, 4, 1))
    stack = readers.slice_volume(volume, "axial", central_fraction=0.4)
    assert stack[:, 0, 0].tolist() == [3.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="central_fraction"):
        readers.slice_volume(volume, "axial", central_fraction=0.0)
    with pytest.raises(ValueError, match="axis"):
        readers.slice_volume(volume, "transverse")


def test_numpy_sources():
    x = np.random.default_rng(0).integers(0, 256, size=(6, 20, 20, 1), dtype=np.uint8)
    out = load_slices(x, 16)
    assert out.shape == (6, 16, 16, 1)
    floats = np.zeros((3, 16, 16), np.float32)
    assert load_slices(floats, 16).shape == (3, 16, 16, 1)
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\]"):
        load_slices(floats + 5, 16)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        load_slices(np.zeros((16, 16)), 16)


# ---- bad input ---------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist: .*nowhere"):
        readers.find_files(tmp_path / "nowhere")


def test_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"No images or volumes found under .*\.png"):
        readers.find_files(tmp_path)


def test_truncated_nifti(tmp_path):
    path = save_nifti(tmp_path / "good.nii.gz", head_volume())
    raw = gzip.decompress(path.read_bytes())
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(gzip.compress(raw)[: len(raw) // 20])
    with pytest.raises(readers.DataError, match="broken.nii.gz: .*(corrupt|truncated|readable)"):
        readers.read_volume(broken)
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(b"not a volume at all")
    with pytest.raises(readers.DataError, match="garbage.nii.gz"):
        readers.read_volume(garbage)


def test_hdr_without_img(tmp_path):
    hdr = save_analyze(tmp_path / "subject.hdr", head_volume())
    hdr.with_suffix(".img").unlink()
    message = r"subject.hdr: Analyze header without .*subject.img"
    with pytest.raises(readers.DataError, match=message):
        list(iter_slice_stacks(tmp_path, 16))


def test_img_without_hdr(tmp_path):
    hdr = save_analyze(tmp_path / "subject.hdr", head_volume())
    hdr.unlink()
    with pytest.raises(readers.DataError, match=r"subject.img: Analyze image without its header"):
        list(iter_slice_stacks(tmp_path, 16))


def test_five_d_volume(tmp_path):
    path = save_nifti(tmp_path / "five.nii.gz", np.zeros((4, 4, 4, 2, 2), np.float32))
    message = r"five.nii.gz: expected a 3-D volume .*\(4, 4, 4, 2, 2\)"
    with pytest.raises(readers.DataError, match=message):
        readers.read_volume(path)


def test_all_empty_volume(tmp_path):
    path = save_nifti(tmp_path / "empty.nii.gz", np.zeros((10, 10, 10), np.float32))
    with pytest.raises(readers.DataError, match="empty.nii.gz: every slice is empty"):
        list(iter_slice_stacks(path, 16))


def test_bad_resolution(tmp_path):
    path = save_nifti(tmp_path / "v.nii.gz", head_volume())
    for bad in (100, 8, 2048, 64.0, True):
        with pytest.raises(ValueError, match=rf"power of two .* Received: resolution={bad!r}"):
            list(iter_slice_stacks(path, bad))


def test_skip_bad_files_warns_once_and_loads_the_rest(tmp_path):
    for i in range(3):
        save_nifti(tmp_path / f"good{i}.nii.gz", head_volume(seed=i))
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b garbage")
    save_nifti(tmp_path / "blank.nii.gz", np.zeros((8, 8, 8), np.float32))
    with pytest.raises(readers.DataError, match="bad.nii.gz"):
        load_slices(tmp_path, 16)
    with pytest.warns(UserWarning, match=r"Skipped 2 unreadable file\(s\)") as record:
        x = load_slices(tmp_path, 16, skip_bad_files=True)
    assert len(record) == 1
    message = str(record[0].message)
    assert "bad.nii.gz" in message and "blank.nii.gz" in message
    assert x.shape == (3 * 14, 16, 16, 1)


def test_non_finite_voxels_replaced_with_warning(tmp_path):
    volume = head_volume()
    volume[5, 5, 5] = np.nan
    volume[6, 6, 6] = np.inf
    path = save_nifti(tmp_path / "nan.nii.gz", volume)
    with pytest.warns(UserWarning, match=r"nan.nii.gz: replaced 2 non-finite voxel"):
        x = load_slices(path, 16)
    assert np.isfinite(x).all()


def test_data_error_is_one_class_wherever_it_is_imported_from(tmp_path):
    import keras_mrigan
    from keras_mrigan import data
    from keras_mrigan.data import dicom, errors, labels

    assert readers.DataError is errors.DataError is dicom.DataError is labels.DataError
    assert data.DataError is keras_mrigan.DataError is errors.DataError
    error = errors.DataError(tmp_path / "a.nii", "broken")
    assert isinstance(error, ValueError)
    assert error.path == str(tmp_path / "a.nii")
    assert str(error) == f"{tmp_path / 'a.nii'}: broken"
    # The DICOM reader raises the same class the other readers do.
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\1\2\3")
    with pytest.raises(readers.DataError, match=r"bad.dcm: a DICOM file without an image"):
        dicom.read_series(dicom.DicomSeries(tmp_path, "x", (bad,)))
