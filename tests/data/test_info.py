"""``data.info``: what a source holds, per file or DICOM series, before training."""

import json

import numpy as np
from conftest import head_volume, save_nifti, save_png
from test_dicom import study  # noqa: F401  (a fixture)

from keras_mrigan.data import info, pipeline


def test_study_rows_say_kind_shape_geometry_slices_and_why_skipped(study):  # noqa: F811
    root, _ = study
    rows = info.describe(root, pipeline.SliceOptions(min_foreground=0.0))
    kinds = [(row.kind, row.note) for row in rows]
    assert kinds[:2] == [("dicom image", "'Cor Diffusion'"), ("dicom volume", "'T1 MPRAGE'")]
    assert [kind for kind, _ in kinds[2:]] == ["skipped"] * 3
    assert sorted(note.split(":")[0] for _, note in kinds[2:]) == \
        ["'Localizer 3-plane'", "'Report'", "'TOF MIP'"]
    image, volume = rows[:2]
    assert (image.shape, image.voxel_mm, image.slices, image.subject) == \
        ((24, 16, 1), (1.0, 1.0, 1.0), 1, "P01")
    # The T1 series is stored LPS (columns to the left, rows to posterior, slices up).
    assert (volume.shape, volume.voxel_mm, volume.orientation, volume.slices) == \
        ((24, 28, 20), (1.5, 1.2, 2.0), "LPS", 20)
    table = info.format_table(rows)
    assert table.splitlines()[0].split() == ["source", "kind", "shape", "voxel", "mm",
                                             "orientation", "slices", "subject", "note"]
    assert "24 x 28 x 20" in table and "1.5 x 1.2 x 2" in table
    assert table.splitlines()[-1] == "21 slices from 2 file(s) or series; 3 skipped or " \
        "unreadable"


def test_files_rows_and_json(tmp_path):
    affine = np.diag([-2.0, 2.0, 3.0, 1.0])  # LAS at 2 x 2 x 3 mm.
    save_nifti(tmp_path / "a" / "head.nii.gz", head_volume(), affine)
    save_png(tmp_path / "a" / "slice.png", np.zeros((8, 12), np.uint8))
    (tmp_path / "a" / "broken.nii").write_bytes(b"not a nifti")
    rows = info.describe(tmp_path / "a", pipeline.SliceOptions())
    by_kind = {row.kind: row for row in rows}
    assert set(by_kind) == {"nifti", "image", "unreadable"}
    head = by_kind["nifti"]
    assert (head.shape, head.voxel_mm, head.orientation) == ((24, 28, 20), (2.0, 2.0, 3.0),
                                                             "LAS")
    # The axial slices of the training pass: 14 of 20 are not empty.
    stacks = dict(pipeline.iter_slice_stacks(tmp_path / "a" / "head.nii.gz", 16))
    assert head.slices == len(stacks[head.source]) == 14
    assert by_kind["image"].shape == (8, 12) and by_kind["image"].slices == 1
    assert "broken.nii: not a readable NIfTI/Analyze file" in by_kind["unreadable"].note
    parsed = json.loads(info.to_json(rows))
    assert [set(row) for row in parsed] == [set(info.COLUMNS)] * 3
    assert {row["kind"]: row["voxel_mm"] for row in parsed}["nifti"] == [2.0, 2.0, 3.0]
