"""Voxel geometry: the same anatomy written at different voxel sizes gives the same slices."""

import numpy as np
import pytest
from conftest import save_nifti
from scipy import ndimage

from keras_mrigan.data import geometry, preprocess, readers

FIELD_MM = np.array([96.0, 120.0, 84.0])  # Field of view along x, y, z (RAS).
CENTRE_MM = np.array([46.0, 62.0, 42.0])
RADII_MM = np.array([34.0, 48.0, 30.0])
HOLE_MM = ((24.0, 32.0), (82.0, 90.0), (38.0, 46.0))  # A dark 8 mm cube: where left/front is.


def phantom(spacing):
    """A head-like ellipsoid (500) with a dark cube (100) in it, sampled at the centres of
    voxels of ``spacing`` mm; returns ``(volume, affine)``."""
    spacing = np.asarray(spacing, dtype=np.float64)
    shape = tuple(int(n) for n in np.round(FIELD_MM / spacing))
    centres = [(np.arange(n) + 0.5) * s for n, s in zip(shape, spacing, strict=True)]
    x, y, z = np.meshgrid(*centres, indexing="ij")
    inside = ((x - CENTRE_MM[0]) / RADII_MM[0]) ** 2 + ((y - CENTRE_MM[1]) / RADII_MM[1]) ** 2 \
        + ((z - CENTRE_MM[2]) / RADII_MM[2]) ** 2 <= 1
    volume = np.where(inside, 500.0, 0.0)
    hole = np.ones(shape, bool)
    for c, (lo, hi) in zip((x, y, z), HOLE_MM, strict=True):
        hole &= (c >= lo) & (c < hi)
    volume[hole] = 100.0
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = spacing / 2
    return volume.astype(np.float32), affine


def slice_through_hole(path, axis, resolution=64):
    """The slice through the dark cube's centre, in [-1, 1] (resized to ``resolution``)."""
    stack = readers.read_stack(path, axis=axis)
    _, spacing = readers.read_volume(path, return_spacing=True)
    along = readers.AXES[axis]
    index = int(np.mean(HOLE_MM[along]) // spacing[along])
    if resolution is None:
        return stack[index]
    return preprocess.prepare_slices(stack[index : index + 1], resolution)[0]


def outline_agrees(a, b):
    """Each image's tissue lies within one pixel (8-neighbourhood) of the other's."""
    mask_a, mask_b = a > -0.5, b > -0.5
    grow = np.ones((3, 3), bool)
    return bool(np.all(mask_a <= ndimage.binary_dilation(mask_b, grow))
                and np.all(mask_b <= ndimage.binary_dilation(mask_a, grow)))


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    return {spacing: save_nifti(root / f"{'x'.join(map(str, spacing))}.nii.gz",
                                *phantom(spacing))
            for spacing in ((1, 1, 1), (1, 3, 1), (2, 2, 3))}


def test_voxel_sizes_come_from_the_affine(phantoms):
    for spacing, path in phantoms.items():
        volume, found = readers.read_volume(path, return_spacing=True)
        assert found == tuple(float(s) for s in spacing)
        assert volume.shape == tuple(int(n) for n in FIELD_MM / np.array(spacing))


@pytest.mark.parametrize("axis", ["axial", "coronal", "sagittal"])
def test_slices_agree_whatever_the_voxel_size(phantoms, axis):
    reference = slice_through_hole(phantoms[(1, 1, 1)], axis)
    for spacing in ((1, 3, 1), (2, 2, 3)):
        other = slice_through_hole(phantoms[spacing], axis)
        assert outline_agrees(reference, other), (axis, spacing)
    # The dark cube (in every central slice) lands on the same pixels, within one.
    def hole_centre(image):
        brain = ndimage.binary_erosion(ndimage.binary_fill_holes(image > -0.5), iterations=2)
        return np.argwhere(brain & (image < 0.1)).mean(axis=0)

    for spacing in ((1, 3, 1), (2, 2, 3)):
        np.testing.assert_allclose(hole_centre(slice_through_hole(phantoms[spacing], axis)),
                                   hole_centre(reference), atol=1.0)


def test_brain_aspect_ratio_is_kept(phantoms):
    # The axial slice of the 1 x 3 x 1 volume was 96 x 40 voxels: without resampling, the
    # brain's height / width was 0.56 instead of 96 / 68 = 1.41.
    for path in phantoms.values():
        image = slice_through_hole(path, "axial", resolution=None)
        rows, columns = np.nonzero(image > -0.5)
        height, width = np.ptp(rows) + 1, np.ptp(columns) + 1
        assert height / width == pytest.approx(2 * RADII_MM[1] / (2 * RADII_MM[0]), rel=0.08)
    stack = readers.slice_volume(readers.read_volume(phantoms[(1, 3, 1)]))
    assert stack.shape == (84, 40, 96)  # The voxel grid, without voxel sizes.


def test_asked_spacing_sets_the_pixel_count(phantoms):
    path = phantoms[(2, 2, 3)]  # 48 x 60 x 28 voxels.
    assert readers.read_stack(path, axis="coronal").shape == (60, 42, 48)  # 2 mm pixels.
    assert readers.read_stack(path, axis="coronal", spacing=4).shape == (60, 21, 24)
    assert readers.read_stack(path, axis="sagittal", spacing=1.5).shape == (48, 56, 80)


def test_resampling_orders_and_antialiasing():
    stripes = np.tile(np.array([-1.0, 1.0], np.float32), (1, 8, 4))  # 1 mm columns, 8 x 8.
    # Shrinking 2:1 averages the stripes out under a triangle twice as wide (no aliasing into
    # stripes of one sign); at the border, where the triangle is cut, input columns 0, 1, 2
    # weigh 0.75, 0.75, 0.25: (-0.75 + 0.75 - 0.25) / 1.75 = -1/7.
    smooth = geometry.resample_slices(stripes, (1.0, 1.0), spacing=2.0)
    np.testing.assert_allclose(smooth[0, :, 1:3], 0.0, atol=1e-6)
    np.testing.assert_allclose(smooth[0, :, [0, 3]], [[-1 / 7] * 4, [1 / 7] * 4], atol=1e-6)
    nearest = geometry.resample_slices(stripes, (1.0, 1.0), spacing=2.0, order=0)
    assert set(np.unique(nearest)) <= {-1.0, 1.0}  # Label masks keep their values.
    assert nearest.shape == smooth.shape == (1, 4, 4)
    # Pixels 1 mm high and 3 mm wide become 1 mm squares: three times as many columns.
    wide = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    assert geometry.resample_slices(wide, (1.0, 3.0)).shape == (1, 2, 9)
    assert geometry.resample_slices(wide, (1.0, 3.0), order=0)[0, 0].tolist() == \
        [0, 0, 0, 1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("bad, message", [
    ({"spacing": 0}, "`spacing` must be a positive number of millimetres"),
    ({"spacing": "1"}, "Received: spacing='1'"),
    ({"order": 2}, "`order` must be one of \\[0, 1, 3\\]"),
])
def test_bad_resampling_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        geometry.resample_slices(np.zeros((1, 4, 4)), (1.0, 1.0), **bad)
