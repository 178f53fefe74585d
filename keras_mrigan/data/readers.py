"""Finding and reading MRI slices: PNG/JPEG/TIFF slice folders and NIfTI/Analyze volumes.

A volume is reoriented to the closest canonical (RAS+) orientation before it is sliced, so that
``axis="axial"`` means axial whatever the orientation stored in the file. Slices are returned
the way radiologists' viewers draw them in neurological convention: axial slices with anterior
at the top and the subject's right on the image's right; coronal slices with superior at the
top and the right on the right; sagittal slices with superior at the top and anterior on the
right.
"""

import fnmatch
import re
import warnings
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_mrigan.data import geometry, preprocess
from keras_mrigan.data.dicom import (
    DicomSeries,
    is_dicom,
    read_dicom_image,
    read_series,
    scan_series,
)
from keras_mrigan.data.errors import DataError  # noqa: F401 (also importable from here)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
VOLUME_SUFFIXES = (".nii", ".nii.gz", ".hdr")
ANALYZE_DATA_SUFFIX = ".img"

# Which axis of a RAS+ volume each slicing plane holds fixed.
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
# An OASIS subject (all its sessions: OAS1_0001_MR1 and OAS1_0001_MR2 are one person).
OASIS_SUBJECT = re.compile(r"OAS\d_\d{4}")
# The slice index that ends a 2D slice's name: "case_001_slice_12.nii.png" is case_001's.
SLICE_INDEX = re.compile(r"[_-]*(slice|slc)[_-]*\d+$", re.IGNORECASE)


def subject_of(path, pattern=None):
    """The subject a file's slices belong to, so that splits keep each person on one side.

    Args:
        path: the file (a volume, or one 2D slice).
        pattern: a regular expression searched in the path; its first group (or whole match)
            is the subject. Without one: an OASIS ID in the path (``OAS1_0001``, sessions
            merged), else a DICOM series' PatientID, else a volume file (or series) itself,
            else a 2D slice's folder and name without its trailing slice index
            (``case_001_slice_12.nii.png`` -> ``case_001``).

    Raises:
        DataError: ``pattern`` does not occur in the path.
    """
    text = str(path)
    if pattern is None and isinstance(path, DicomSeries) and not OASIS_SUBJECT.search(text):
        # A series without a PatientID is its own subject, whatever its parts.
        return path.patient or f"{path.folder} (DICOM series {path.uid})"
    if pattern is not None:
        found = re.search(pattern, text)
        if found is None:
            raise DataError(path, f"the subject pattern {pattern!r} does not occur in its path")
        return found.group(1) if found.groups() else found.group(0)
    found = OASIS_SUBJECT.search(text)
    if found:
        return found.group(0)
    path = Path(path)
    if is_volume(path):
        return text
    return str(path.parent / SLICE_INDEX.sub("", path.name.split(".")[0]))


def _suffix(path):
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return Path(name).suffix


def is_volume(path):
    """Whether ``path`` names a NIfTI or Analyze volume (by its extension) or is a DICOM
    series of more than one 2-D image."""
    if isinstance(path, DicomSeries):
        return path.kind == "volume"
    return _suffix(Path(path)) in VOLUME_SUFFIXES


def _is_mask(path, root):
    """Segmentation masks live in folders whose names contain ``seg`` (below ``root``)."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = ()
    return any("seg" in part.lower() for part in parts)


def find_files(path, include_masks=False, pattern=None, series=None, split_gaps=False):
    """Lists the slice images and volumes under one or more paths, searched recursively.

    DICOM series that are not volumes (localizers, projections, screenshots, reports, ...)
    are left out with one warning that lists each of them and why (see ``scan_files``).

    Args:
        path: a file, a folder, or a list of them.
        include_masks: also return files inside folders whose name contains ``seg`` (the
            segmentation masks of the OASIS PNG release); excluded by default.
        pattern: optional shell pattern the file *name* must match, e.g.
            ``"*masked_gfc.hdr"`` to pick one volume per OASIS-1 subject.
        series: optional regular expression: only the DICOM series whose SeriesDescription
            or SeriesInstanceUID it matches are read (an error if such a series cannot be).
        split_gaps: read a DICOM series with a missing slice as the volumes on either side
            of the gap (otherwise reading it is an error that says where the gap is).

    Returns:
        Sorted list of ``Path``, and of ``DicomSeries`` for DICOM files (``.dcm``, or without
        an extension and marked as DICOM): one per SeriesInstanceUID (or part of one), or one
        per image of a series of 2-D images. Analyze pairs are listed by their ``.hdr``.

    Raises:
        FileNotFoundError: a path does not exist.
        ValueError: nothing readable was found.
        DataError: a series asked for by ``series`` cannot be read.
    """
    found, skipped = scan_files(path, include_masks, pattern, series, split_gaps)
    if skipped:
        listing = "\n  ".join(map(str, skipped))
        warnings.warn(f"Skipped {len(skipped)} DICOM series that are not volumes or "
                      f"images:\n  {listing}", stacklevel=2)
    return found


def scan_files(path, include_masks=False, pattern=None, series=None, split_gaps=False):
    """``find_files``' listing, with the DICOM series it leaves out: ``(found, skipped)``,
    ``skipped`` a list of ``dicom.SkippedSeries`` (folder, UID, description, file count and
    reason)."""
    roots = [path] if isinstance(path, (str, Path)) else list(path)
    if not roots:
        raise ValueError("`path` is empty: give at least one file or folder.")
    found, dicom = [], []
    for root in map(Path, roots):
        if not root.exists():
            raise FileNotFoundError(f"Data path does not exist: {root}")
        if root.is_file():
            if _suffix(root) == ANALYZE_DATA_SUFFIX:
                root = root.with_suffix(".hdr")
            if is_dicom(root):
                dicom.append(root)
                continue
            if _suffix(root) not in IMAGE_SUFFIXES + VOLUME_SUFFIXES:
                raise ValueError(
                    f"Unsupported file type: {root}. Expected one of "
                    f"{', '.join(IMAGE_SUFFIXES + VOLUME_SUFFIXES)}, or DICOM."
                )
            found.append(root)
            continue
        for file in root.rglob("*"):
            suffix = _suffix(file)
            # An orphan .img is listed so that reading it reports the missing header.
            orphan = suffix == ANALYZE_DATA_SUFFIX and not _has_sibling(file, ".hdr")
            if not file.is_file() or (not include_masks and _is_mask(file, root)):
                continue
            if orphan or suffix in IMAGE_SUFFIXES + VOLUME_SUFFIXES:
                found.append(file)
            elif is_dicom(file):
                dicom.append(file)
    if pattern is not None:
        found = [f for f in found if fnmatch.fnmatch(f.name, pattern)]
        dicom = [f for f in dicom if fnmatch.fnmatch(f.name, pattern)]
    readable, skipped = scan_series(set(dicom), series, split_gaps) if dicom else ([], [])
    found = sorted(set(found)) + readable
    if not found:
        where = ", ".join(str(r) for r in roots)
        extra = f" matching {pattern!r}" if pattern else ""
        if series is not None:
            extra += f" in DICOM series matching {series!r}"
        why = "".join(f"\n  skipped {entry}" for entry in skipped)
        raise ValueError(
            f"No images or volumes{extra} found under {where}. Expected files ending in "
            f"{', '.join(IMAGE_SUFFIXES + VOLUME_SUFFIXES)} (Analyze: .hdr with its .img), "
            f"or DICOM files.{why}"
        )
    return found, skipped


def _has_sibling(path, suffix):
    return any(path.with_suffix(s).exists() for s in (suffix, suffix.upper()))


def read_image(path):
    """Reads one 2-D slice image as float32 in ``[-1, 1]``.

    8-bit images are scaled from 0..255 and 16-bit ones from 0..65535; colour images are
    collapsed to gray (ITU-R 601 luma).
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L"):
                array = np.asarray(image, dtype=np.uint16)
            elif image.mode == "I":
                array = np.asarray(image)
                dtype = np.uint16 if array.min() >= 0 and array.max() <= 65535 else np.int32
                array = array.astype(dtype)
            elif image.mode == "F":
                array = np.asarray(image, dtype=np.float32)
            else:
                array = np.asarray(image.convert("L"))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"not a readable image ({exc})") from exc
    if array.ndim != 2:
        raise DataError(path, f"expected a 2-D grayscale image, got shape {array.shape}")
    return preprocess.scale_integer_image(array)


def read_volume(path, return_spacing=False):
    """Reads a NIfTI-1/2 or Analyze 7.5 volume, reoriented to RAS+, as float32.

    Args:
        path: a ``.nii``, ``.nii.gz`` or ``.hdr`` file (the ``.img`` must sit beside the
            ``.hdr``), or a ``DicomSeries`` (see ``data.dicom``).
        return_spacing: also return the voxel sizes.

    Returns:
        float32 array ``(X, Y, Z)`` of raw intensities: X runs left to right, Y posterior to
        anterior, Z inferior to superior. With ``return_spacing``, a pair of it and the voxel
        sizes along X, Y and Z in millimetres (a tuple of 3 floats, from the affine).

    Raises:
        DataError: the file is missing its pair, corrupt or truncated, or not 3-D.
    """
    return _canonical(volume_image(path), path, return_spacing)


def volume_image(path):
    """A volume file or ``DicomSeries`` as the ``nibabel`` image it is stored as (not
    reoriented; its affine maps voxels to RAS mm).

    Raises:
        DataError: as ``read_volume``, for a missing pair or an unreadable file.
    """
    if isinstance(path, DicomSeries):
        return read_series(path)
    path = Path(path)
    suffix = _suffix(path)
    if suffix == ".hdr" and not _has_sibling(path, ANALYZE_DATA_SUFFIX):
        raise DataError(
            path, f"Analyze header without its image file {path.with_suffix('.img').name}: "
            "the .hdr and .img of a pair must sit side by side"
        )
    if suffix == ANALYZE_DATA_SUFFIX:
        raise DataError(
            path, f"Analyze image without its header {path.with_suffix('.hdr').name}: "
            "the .hdr and .img of a pair must sit side by side"
        )
    try:
        image = nib.load(path)
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as exc:
        raise DataError(path, f"not a readable NIfTI/Analyze file ({exc})") from exc
    return image


def _canonical(image, path, return_spacing=False):
    """A 3-D image's data in RAS+ orientation, as float32 (and its voxel sizes)."""
    shape = image.shape
    if len(shape) == 4 and shape[3] == 1:
        image = nib.funcs.squeeze_image(image)
    elif len(shape) != 3:
        raise DataError(
            path, f"expected a 3-D volume or a 4-D volume whose 4th dimension is 1, "
            f"got shape {shape}"
        )
    try:
        canonical = nib.as_closest_canonical(image)
        data = canonical.get_fdata(dtype=np.float32)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise DataError(path, f"corrupt or truncated volume data ({exc})") from exc
    if return_spacing:
        return data, tuple(float(v) for v in geometry.voxel_sizes(canonical.affine))
    return data


def slice_volume(volume, axis="axial", central_fraction=1.0, voxel_spacing=None,
                 spacing=None, order=1):
    """Cuts a RAS+ volume into 2-D slices along one anatomical axis.

    Args:
        volume: array ``(X, Y, Z)`` in RAS+ orientation (as ``read_volume`` returns).
        axis: ``"axial"``, ``"coronal"`` or ``"sagittal"``.
        central_fraction: keep only this central fraction of the slices, in ``(0, 1]``.
        voxel_spacing: the voxel sizes along X, Y and Z in mm. With them, each slice is
            resampled to square pixels of ``spacing`` mm (see ``geometry.resample_slices``);
            without them, slices keep the voxel grid.
        spacing: the square pixels' side in mm; default the finer of the two voxel sizes in
            the slicing plane.
        order: the resampling's interpolation: 0 nearest neighbour (label masks), 1 linear
            (antialiased when shrinking), 3 cubic.

    Returns:
        float32 array ``(n, H, W)``, slices ordered inferior to superior (axial), posterior
        to anterior (coronal) or left to right (sagittal).
    """
    if axis not in AXES:
        raise ValueError(f"`axis` must be one of {sorted(AXES)}. Received: axis={axis!r}")
    if not 0.0 < central_fraction <= 1.0:
        raise ValueError(
            "`central_fraction` must be in (0, 1]. "
            f"Received: central_fraction={central_fraction!r}"
        )
    stack = np.moveaxis(np.asarray(volume), AXES[axis], 0)
    # (n, a, b) -> (n, b reversed, a): the later RAS axis points up, the earlier one right.
    stack = np.rot90(stack, k=1, axes=(1, 2))
    n = stack.shape[0]
    keep = max(1, int(round(n * central_fraction)))
    start = (n - keep) // 2
    stack = stack[start : start + keep]
    if voxel_spacing is not None:
        stack = geometry.resample_slices(stack, geometry.plane_spacing(voxel_spacing, axis),
                                         spacing, order)
    return np.ascontiguousarray(stack, dtype=np.float32)


def read_stack(
    path,
    axis="axial",
    central_fraction=1.0,
    clip_percentiles=preprocess.DEFAULT_CLIP_PERCENTILES,
    spacing=None,
):
    """Reads one file as a stack of slices in ``[-1, 1]``.

    Images give a stack of one, scaled from their integer range. Volumes are normalized per
    volume (percentile clipping, then linear scaling), sliced along ``axis`` and resampled to
    square pixels of ``spacing`` mm (default: the finer voxel size of the slicing plane).

    Returns:
        float32 array ``(n, H, W)``.
    """
    spacing = geometry.check_spacing(spacing)
    if isinstance(path, DicomSeries) and path.kind == "image":
        # Scanner units, like a volume's: normalized by the same percentiles.
        image, pixel_spacing = read_dicom_image(path)
        image = preprocess.normalize_volume(image, clip_percentiles=clip_percentiles,
                                            name=str(path))
        return geometry.resample_slices(image[None], pixel_spacing, spacing)
    if not is_volume(path) and _suffix(Path(path)) != ANALYZE_DATA_SUFFIX:
        return read_image(path)[None]
    data, voxel_spacing = read_volume(path, return_spacing=True)
    volume = preprocess.normalize_volume(data, clip_percentiles=clip_percentiles,
                                         name=str(path))
    return slice_volume(volume, axis=axis, central_fraction=central_fraction,
                        voxel_spacing=voxel_spacing, spacing=spacing)


def array_stack(array, name="array"):
    """Checks an in-memory array of slices and brings it to float32 ``(N, H, W)`` in [-1, 1].

    Integer arrays are scaled from their dtype's range like PNGs; float arrays must already be
    in ``[-1, 1]``.
    """
    array = np.asarray(array)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(
            f"`{name}` must have shape (N, H, W) or (N, H, W, 1). Received shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.integer):
        return preprocess.scale_integer_image(array)
    array = array.astype(np.float32, copy=False)
    if array.size and not np.isfinite(array).all():
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    if array.size and (array.min() < -1.0 - 1e-6 or array.max() > 1.0 + 1e-6):
        raise ValueError(
            f"Float `{name}` must already be scaled to [-1, 1]. Received values in "
            f"[{array.min():g}, {array.max():g}]; use "
            "keras_mrigan.data.preprocess.normalize_volume or pass integers."
        )
    return array


# -- Masks ------------------------------------------------------------------------------------


def _integer_labels(array, path):
    """A mask's values as int64, refusing values that are not whole numbers."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64, copy=False)
    if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
        bad = array[~np.isfinite(array) | (array != np.round(array))]
        raise DataError(path, f"a mask must hold whole-number labels; it holds {bad.size} "
                        f"other value(s), e.g. {float(bad.flat[0]):g} (a probability map? "
                        "threshold it first)")
    return array.astype(np.int64)


def read_mask_image(path):
    """Reads a 2-D mask image's own integer values (no scaling): ``(H, W)`` int64."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I", "L", "P", "1", "F"):
                array = np.asarray(image.convert("I") if image.mode == "1" else image)
            else:
                array = np.asarray(image.convert("L"))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"not a readable mask image ({exc})") from exc
    if array.ndim != 2:
        raise DataError(path, f"expected a 2-D mask image, got shape {array.shape}")
    return _integer_labels(array, path)


def _image_size(path):
    """``(H, W)`` of a 2-D image file, from its header."""
    try:
        with Image.open(path) as image:
            return image.size[::-1]
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"not a readable image ({exc})") from exc


def _geometry(image):
    """The voxel grid a volume's data take once reoriented to RAS+ (``_canonical``):
    ``(shape, affine)``, from the header alone. Two files store the same grid in different
    axis orders (a DICOM series and its labels converted to NIfTI) compare equal."""
    affine = np.asarray(image.affine, dtype=np.float64)
    shape = image.shape[:3]
    orientation = nib.orientations.io_orientation(affine)
    canonical = affine @ nib.orientations.inv_ornt_aff(orientation, shape)
    reordered = [0, 0, 0]
    for axis, (target, _) in enumerate(orientation):
        reordered[int(target)] = int(shape[axis])
    return tuple(reordered), canonical


def check_mask(image_path, mask_path):
    """Reads a mask after checking that it covers its image: the same size (2-D images) or
    the same voxel grid (volumes: shape and affine).

    Returns:
        The mask's values as stored (int64, ``(H, W)`` or ``(X, Y, Z)``).

    Raises:
        DataError: naming both files: sizes or geometries differ, one is a volume and the
            other is not, or the mask is unreadable or not whole numbers.
    """
    if isinstance(image_path, DicomSeries) and image_path.kind == "image":
        raise DataError(image_path, "masks go with image files and volumes; a single DICOM "
                        f"image cannot take the mask {mask_path}")
    if is_volume(image_path) != is_volume(mask_path):
        kinds = ("volume" if is_volume(image_path) else "2-D image",
                 "volume" if is_volume(mask_path) else "2-D image")
        raise DataError(mask_path, f"a {kinds[1]} cannot be the mask of the {kinds[0]} "
                        f"{image_path}")
    if not is_volume(image_path):
        mask = read_mask_image(mask_path)
        size = _image_size(image_path)
        if mask.shape != tuple(size):
            raise DataError(mask_path, f"mask of {mask.shape[0]} x {mask.shape[1]} pixels "
                            f"(H x W), but its image {image_path} has {size[0]} x {size[1]}")
        return mask
    image, labels = volume_image(image_path), volume_image(mask_path)
    (shape, affine), (label_shape, label_affine) = _geometry(image), _geometry(labels)
    if shape != label_shape or not np.allclose(affine, label_affine, atol=1e-3):
        with np.printoptions(precision=3, suppress=True):
            raise DataError(
                mask_path, f"label volume of shape {label_shape} and affine (RAS+)\n"
                f"{label_affine}\nbut its image {image_path} has shape {shape} and affine\n"
                f"{affine}\nA label volume must share its image's voxel grid (resample it "
                "to the image with nearest-neighbour interpolation first)")
    try:
        data = np.asanyarray(labels.dataobj)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise DataError(mask_path, f"corrupt or truncated label volume ({exc})") from exc
    return _integer_labels(data, mask_path)


def read_mask_stack(image_path, mask_path, classes, axis="axial", central_fraction=1.0,
                    spacing=None):
    """Reads a mask as class indices, sliced and resampled as ``read_stack`` does its image.

    Label volumes are reoriented like their image, sliced along ``axis`` and resampled to
    the same square pixels with nearest-neighbour interpolation (no new labels).

    Args:
        image_path: the image the mask belongs to (its geometry is checked).
        mask_path: the mask file.
        classes: a ``masks.MaskClasses``: the source values of the classes.

    Returns:
        int32 class indices ``(n, H, W)``, aligned with ``read_stack(image_path, ...)``.
    """
    spacing = geometry.check_spacing(spacing)
    values = check_mask(image_path, mask_path)
    if not is_volume(image_path):
        return classes.to_indices(values, mask_path)[None]
    labels = volume_image(mask_path)
    if len(labels.shape) == 4:
        values = values[..., 0]
    reoriented = nib.as_closest_canonical(nib.Nifti1Image(
        values.astype(np.int32), labels.affine))
    data = np.asarray(reoriented.dataobj)
    voxel_spacing = geometry.voxel_sizes(reoriented.affine)
    stack = slice_volume(data.astype(np.float32), axis=axis,
                         central_fraction=central_fraction, voxel_spacing=voxel_spacing,
                         spacing=spacing, order=0)
    return classes.to_indices(np.rint(stack).astype(np.int64), mask_path)
