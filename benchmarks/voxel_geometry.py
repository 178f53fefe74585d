"""Slices of one anatomy stored at different voxel sizes, before and after square-pixel
resampling.

The MNI152 T1 template that nilearn ships (1 mm isotropic) is resampled (linear) to
1 x 3 x 1 mm and 2 x 2 x 3 mm and written as NIfTI files. Each file is read as training
slices at 64 x 64 (axial, coronal and sagittal), once as the readers do now (every slice
resampled in its plane to square pixels) and once as the voxel grid stores it (the slice taken
as it is, then made square and resized: how slices came out before). For the slice through
the volume's middle, the brain's height / width and its outline's distance to the 1 mm
slice's outline (the largest distance in pixels from a boundary pixel of one to the other's
boundary) are reported.

    python benchmarks/voxel_geometry.py --out voxel_geometry/
"""

import argparse
import os
import platform
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from keras_mrigan.data import preprocess, readers
from keras_mrigan.utils import atomic_path

SIZES = {"1 x 1 x 1 mm": (1.0, 1.0, 1.0), "1 x 3 x 1 mm": (1.0, 3.0, 1.0),
         "2 x 2 x 3 mm": (2.0, 2.0, 3.0)}
RESOLUTION = 64


def write_volumes(out):
    from nilearn.datasets import load_mni152_template

    template = nib.as_closest_canonical(load_mni152_template(resolution=1))
    data = template.get_fdata(dtype=np.float32)
    paths = {}
    for name, size in SIZES.items():
        zoomed = ndimage.zoom(data, [1.0 / s for s in size], order=1)
        affine = template.affine @ np.diag([*size, 1.0])
        path = out / f"mni_{'x'.join(f'{s:g}' for s in size)}.nii.gz"
        nib.save(nib.Nifti1Image(zoomed, affine), path)
        paths[name] = path
    return paths


def middle_slice(path, axis, resample):
    if resample:
        stack = readers.read_stack(path, axis=axis)
    else:  # The voxel grid as it is stored: no resampling to square pixels.
        volume = preprocess.normalize_volume(readers.read_volume(path), name=str(path))
        stack = readers.slice_volume(volume, axis=axis)
    return preprocess.prepare_slices(stack[len(stack) // 2][None], RESOLUTION)[0]


def brain(image):
    return ndimage.binary_fill_holes(image > -0.9)


def aspect(mask):
    rows, cols = np.nonzero(mask)
    return (rows.max() - rows.min() + 1) / (cols.max() - cols.min() + 1)


def outline_distance(a, b):
    """The largest distance (pixels) from a boundary pixel of one mask to the other's."""
    def boundary(mask):
        return mask & ~ndimage.binary_erosion(mask)

    distance_to_b = ndimage.distance_transform_edt(~boundary(b))
    distance_to_a = ndimage.distance_transform_edt(~boundary(a))
    return float(max(distance_to_b[boundary(a)].max(), distance_to_a[boundary(b)].max()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    paths = write_volumes(out)
    lines = ["| plane | voxels | height / width, resampled | outline distance to 1 mm (px) "
             "| height / width, voxel grid as stored | outline distance (px) |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for axis in ("axial", "coronal", "sagittal"):
        reference = brain(middle_slice(paths["1 x 1 x 1 mm"], axis, True))
        for name, path in paths.items():
            now = brain(middle_slice(path, axis, True))
            before = brain(middle_slice(path, axis, False))
            lines.append(f"| {axis} | {name} | {aspect(now):.2f} | "
                         f"{outline_distance(now, reference):.1f} | {aspect(before):.2f} | "
                         f"{outline_distance(before, reference):.1f} |")
    text = "\n".join(lines) + "\n"
    with atomic_path(out / "voxel_geometry.md") as tmp:
        tmp.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
