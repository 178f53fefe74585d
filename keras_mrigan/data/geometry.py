"""Voxel geometry: the physical size of a volume's voxels and square pixels for its slices.

Scanners store voxels of many shapes: 1 mm isotropic research T1s, 0.9 x 0.9 x 5 mm clinical
T2s, 2 x 2 x 3 mm fast scans. Slicing such a volume along its voxel grid gives images whose
pixels are not square, so that anatomy is squashed along one image axis. Here every slice is
resampled in its own plane to square pixels of one physical size before it is made square and
resized; shrinking an axis goes through an antialiasing filter whose support grows with the
shrink factor (as Pillow's resampling filters do), so thin structures average out instead of
aliasing.

Reference:
    Parker, Kenyon and Troxel, "Comparison of interpolating methods for image resampling",
    IEEE Transactions on Medical Imaging 2(1), 1983 (linear and cubic interpolation kernels).
"""

import numpy as np
from PIL import Image

# Which axis of a RAS+ volume each slicing plane holds fixed (as in ``readers.AXES``).
PLANE_AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
# The interpolation ``order`` of a resampling and the Pillow filter that does it: nearest
# neighbour (for label masks), linear, cubic. Pillow widens the linear and cubic kernels by
# the shrink factor when it downsamples, which is the antialiasing.
ORDERS = {0: Image.Resampling.NEAREST, 1: Image.Resampling.BILINEAR,
          3: Image.Resampling.BICUBIC}


def voxel_sizes(affine):
    """The voxel sizes in millimetres along a volume's three array axes.

    Args:
        affine: a 4 x 4 voxel-to-world matrix (NIfTI's, or one built from a DICOM series).

    Returns:
        float64 array of 3 lengths: the norm of each column of the affine's 3 x 3 part.
    """
    affine = np.asarray(affine, dtype=np.float64)
    return np.sqrt((affine[:3, :3] ** 2).sum(axis=0))


def plane_spacing(voxel_spacing, axis):
    """The pixel size ``(between rows, between columns)`` of ``readers.slice_volume``'s slices.

    A slice of a RAS+ volume along ``axis`` shows the two other axes: the later one runs up
    the image (its rows), the earlier one across it (its columns).

    Args:
        voxel_spacing: the volume's voxel sizes along x, y and z (RAS+ order), in mm.
        axis: ``"axial"``, ``"coronal"`` or ``"sagittal"``.
    """
    if axis not in PLANE_AXES:
        raise ValueError(f"`axis` must be one of {sorted(PLANE_AXES)}. Received: axis={axis!r}")
    across, up = (i for i in range(3) if i != PLANE_AXES[axis])
    return float(voxel_spacing[up]), float(voxel_spacing[across])


def check_spacing(spacing):
    """Validates a pixel size: ``None`` (each volume's finest in-plane spacing) or a positive
    number of millimetres. Returns it as a float (or ``None``)."""
    if spacing is None:
        return None
    valid = isinstance(spacing, (int, float, np.floating, np.integer)) \
        and not isinstance(spacing, bool) and np.isfinite(spacing) and spacing > 0
    if not valid:
        raise ValueError("`spacing` must be a positive number of millimetres, or None for the "
                         f"finest in-plane voxel size. Received: spacing={spacing!r}")
    return float(spacing)


def check_order(order):
    if order not in ORDERS:
        raise ValueError(f"`order` must be one of {sorted(ORDERS)} (nearest, linear, cubic). "
                         f"Received: order={order!r}")
    return order


def square_pixel_shape(shape, pixel_spacing, spacing=None):
    """The ``(rows, columns)`` of slices of ``shape`` resampled to square pixels.

    Args:
        shape: ``(rows, columns)`` of the slices.
        pixel_spacing: their pixel size ``(between rows, between columns)`` in mm.
        spacing: the square pixels' side in mm; default the finer of the two.
    """
    spacing = check_spacing(spacing)
    rows_mm, columns_mm = (float(s) for s in pixel_spacing)
    if spacing is None:
        spacing = min(rows_mm, columns_mm)
    # Each side keeps its physical length (pixels x size) to the nearest whole pixel.
    return (max(1, int(round(shape[0] * rows_mm / spacing))),
            max(1, int(round(shape[1] * columns_mm / spacing))))


def resample_slices(stack, pixel_spacing, spacing=None, order=1):
    """Resamples slices to square pixels of ``spacing`` millimetres.

    Args:
        stack: array ``(n, H, W)``.
        pixel_spacing: the slices' pixel size ``(between rows, between columns)`` in mm.
        spacing: the output pixels' side in mm; default the finer of the two sizes, so that
            nothing is lost along the finer axis.
        order: 0 nearest neighbour (label masks: no new values), 1 linear, 3 cubic; the
            linear and cubic filters average over the pixels an output pixel covers when an
            axis shrinks. Cubic values may overshoot the input's range.

    Returns:
        float32 array ``(n, H', W')`` covering the same field of view; ``stack`` itself when
        its pixels already have that size.
    """
    order = check_order(order)
    stack = np.asarray(stack)
    n, h, w = stack.shape
    rows, columns = square_pixel_shape((h, w), pixel_spacing, spacing)
    if (rows, columns) == (h, w):
        return stack.astype(np.float32, copy=False)
    out = np.empty((n, rows, columns), dtype=np.float32)
    for i in range(n):
        image = Image.fromarray(np.ascontiguousarray(stack[i], dtype=np.float32))
        out[i] = np.asarray(image.resize((columns, rows), ORDERS[order]))
    return out
