import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import head_volume, save_nifti, save_png

from keras_mrigan.data import DataError, demo, pipeline
from keras_mrigan.data.masks import MaskClasses, parse_mask_classes, split_pair, to_pair

OASIS_CLASSES = "0=background,85=CSF,170=gray matter,255=white matter"


def _oasis_release(root, splits=(("train", 3), ("validate", 2)), size=(32, 32)):
    """The OASIS PNG layout: a square of 'tissue' (gray level 120, mask 170) and one marker
    pixel (255, mask 255) at a place that differs per slice."""
    for split, n in splits:
        for i in range(n):
            image = np.zeros(size, np.uint8)
            mask = np.zeros(size, np.uint8)
            image[8:24, 10:26] = 120
            mask[8:24, 10:26] = 170
            image[4 + i, 5 + 2 * i] = 255
            mask[4 + i, 5 + 2 * i] = 255
            save_png(root / f"keras_png_slices_{split}" / f"case_{i:03d}_slice_{i}.nii.png", image)
            save_png(root / f"keras_png_slices_seg_{split}" / f"seg_{i:03d}_slice_{i}.nii.png",
                     mask)
    return root


# -- Pairs as one tensor, and classes ---------------------------------------------------------


def test_to_pair_and_split_pair_round_trip():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(2, 3, 5, 4)).astype(np.float32)
    indices = rng.integers(0, 3, size=(2, 3, 5, 4))
    pairs = to_pair(images, indices, 3)
    assert pairs.shape == (2, 3, 5, 4, 4) and pairs.dtype == np.float32
    np.testing.assert_array_equal(pairs[..., 0], images)
    np.testing.assert_array_equal(pairs[..., 1:].sum(-1), 1.0)
    assert pairs[0, 0, 0, 0, 1 + indices[0, 0, 0, 0]] == 1.0
    back_images, back_indices = split_pair(pairs)
    assert back_images.shape == (2, 3, 5, 4, 1) and back_indices.dtype == np.int32
    np.testing.assert_array_equal(back_images[..., 0], images)
    np.testing.assert_array_equal(back_indices, indices)
    # Images with their channel axis give the same pairs.
    np.testing.assert_array_equal(to_pair(images[..., None], indices, 3), pairs)
    with pytest.raises(ValueError, match=r"`indices` must be in \[0, 3\)"):
        to_pair(images, indices + 1, 3)
    with pytest.raises(ValueError, match="num_classes"):
        to_pair(images, indices * 0, 1)
    with pytest.raises(ValueError, match="same pixels"):
        to_pair(images[:, :2], indices, 3)


def test_parse_mask_classes_and_its_errors():
    classes = parse_mask_classes(OASIS_CLASSES)
    assert classes.values == (0, 85, 170, 255)
    assert classes.names == ("background", "CSF", "gray matter", "white matter")
    assert classes.num_classes == 4 and classes.counts == (0, 0, 0, 0)
    assert parse_mask_classes("0, 1,2").names == ("0", "1", "2")
    for text, message in (("0=background", "at least two classes"),
                          ("0=a,x=b", "'x=b' is not VALUE=NAME"),
                          ("0=a,1.5=b", "'1.5=b' is not VALUE=NAME"),
                          ("0=a,1=", "empty name"),
                          ("0=a,0=b", "each value once; repeated: 0"),
                          ("0=a,1=a", "each name once; repeated: a")):
        with pytest.raises(ValueError, match=message):
            parse_mask_classes(text)


def test_mask_classes_values_and_json():
    classes = MaskClasses((0, 85, 170, 255), counts=(10, 2, 3, 5))
    mask = np.array([[0, 255], [170, 85]])
    indices = classes.to_indices(mask, "m.png")
    np.testing.assert_array_equal(indices, [[0, 3], [2, 1]])
    values = classes.to_values(indices)
    assert values.dtype == np.uint8
    np.testing.assert_array_equal(values, mask)
    assert MaskClasses((0, 1000)).to_values(np.array([1])).dtype == np.int32
    assert MaskClasses.from_json(classes.to_json()) == classes
    assert str(classes).startswith("4 mask classes: 0: 10 px (50.0 %), 85: 2 px (10.0 %)")
    with pytest.raises(DataError, match=r"m.png: mask value\(s\) 7 are not among"):
        classes.to_indices(np.array([0, 7]), "m.png")
    with pytest.raises(ValueError, match="at least two classes"):
        MaskClasses((3,))


# -- The OASIS PNG release ---------------------------------------------------------------------


def test_oasis_release_reaches_batches_as_aligned_pairs(tmp_path, caplog):
    root = _oasis_release(tmp_path / "release")
    with caplog.at_level(logging.INFO, logger="keras_mrigan.data"):
        dataset = pipeline.build_dataset(root, 32, batch_size=5, masks=str(root),
                                         mask_classes=OASIS_CLASSES)
    listed = [r.getMessage() for r in caplog.records if "mask classes" in r.getMessage()]
    assert len(listed) == 1  # The classes are listed once, with their pixel counts.
    assert "4 mask classes: 0 (background): 3835 px" in listed[0]
    assert "85 (CSF): 0 px" in listed[0] and "170 (gray matter): 1280 px" in listed[0]
    assert "255 (white matter): 5 px" in listed[0]
    classes = dataset.mask_classes
    assert classes.values == (0, 85, 170, 255) and classes.counts == (3835, 0, 1280, 5)
    (batch,) = [b.numpy() for b in dataset]  # 3 train + 2 validate slices, shuffled.
    assert batch.shape == (5, 32, 32, 5)
    images, indices = split_pair(batch)
    for image, index in zip(images[..., 0], indices, strict=True):
        marker = np.argwhere(image == 1.0)
        assert len(marker) == 1
        np.testing.assert_array_equal(np.argwhere(index == 3), marker)  # Its class: 255.
        np.testing.assert_array_equal(index[np.abs(image + 0.06) < 0.01], 2)  # 120 / 127.5 - 1
        np.testing.assert_array_equal(index[image == -1.0], 0)
    # Every marker place once: each of the five slices came with its own mask.
    places = sorted(tuple(np.argwhere(i == 3)[0]) for i in indices)
    assert places == [(4, 5), (4, 5), (5, 7), (5, 7), (6, 9)]


def test_folder_pairs_by_numbers_or_relative_path_with_subjects(tmp_path):
    root = _oasis_release(tmp_path / "release", splits=(("train", 3),), size=(40, 32))
    # Non-square slices: the mask is padded with class 0 and resized like its image.
    pairs, classes, subjects = pipeline.load_slices(
        root / "keras_png_slices_train", 16, masks=str(root / "keras_png_slices_seg_train"),
        return_subjects=True)
    assert pairs.shape == (3, 16, 16, 1 + 3) and classes.values == (0, 170, 255)
    assert [s.rsplit("/", 1)[-1] for s in subjects] == ["case_000", "case_001", "case_002"]
    _, indices = split_pair(pairs)
    assert set(np.unique(indices)) <= {0, 1, 2}
    np.testing.assert_array_equal(indices[:, :, :2], 0)  # Padded columns: the background.
    # The same relative path pairs first: a mask folder mirroring the image folder.
    other = tmp_path / "masks"
    for i in range(3):
        mask = np.zeros((40, 32), np.uint8)
        mask[20, 16] = 7 + i
        save_png(other / f"case_{i:03d}_slice_{i}.nii.png", mask)
    _, classes = pipeline.load_slices(root / "keras_png_slices_train", 16, masks=str(other))
    assert classes.values == (0, 7, 8, 9) and classes.counts == (3 * 1279, 1, 1, 1)


def test_unmatched_images_and_masks_are_listed(tmp_path):
    root = _oasis_release(tmp_path / "release", splits=(("train", 4),))
    (root / "keras_png_slices_seg_train" / "seg_001_slice_1.nii.png").unlink()
    save_png(root / "keras_png_slices_seg_train" / "seg_009_slice_9.nii.png",
             np.zeros((32, 32), np.uint8))
    with pytest.raises(DataError) as error:
        pipeline.load_slices(root, 16, masks=str(root))
    message = str(error.value)
    assert f"1 image(s) of {root} have no mask in {root}:\n  " in message
    assert "keras_png_slices_train/case_001_slice_1.nii.png" in message
    assert "1 mask(s) in" in message and "have no image" in message
    assert "keras_png_slices_seg_train/seg_009_slice_9.nii.png" in message
    # Many unmatched files: the first ten, then a count.
    with pytest.raises(DataError, match=r"(?s)4 image\(s\) of .* have no mask.*"
                       r"case_003_slice_3.nii.png\nMasks pair"):
        (tmp_path / "empty").mkdir()
        pipeline.load_slices(root / "keras_png_slices_train", 16, masks=str(tmp_path / "empty"))


def test_a_run_on_unmatched_pairs_fails_before_its_run_folder_is_made(tmp_path):
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig

    root = _oasis_release(tmp_path / "release", splits=(("train", 2),))
    (root / "keras_png_slices_seg_train" / "seg_001_slice_1.nii.png").unlink()
    config = RunConfig().replace(source=str(root / "keras_png_slices_train"), resolution=16,
                                 masks=str(root / "keras_png_slices_seg_train"), epochs=1)
    with pytest.raises(DataError, match="have no mask"):
        training.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_mask_of_another_size_and_a_value_not_listed(tmp_path):
    root = _oasis_release(tmp_path / "release", splits=(("train", 2),))
    images, masks = root / "keras_png_slices_train", root / "keras_png_slices_seg_train"
    with pytest.raises(DataError, match=r"seg_000_slice_0.nii.png: mask value\(s\) 170, 255 are "
                       r"not among the mask classes 0=background, 85=CSF"):
        pipeline.load_slices(images, 16, masks=str(masks), mask_classes="0=background,85=CSF")
    save_png(masks / "seg_001_slice_1.nii.png", np.zeros((32, 30), np.uint8))
    with pytest.raises(DataError) as error:
        pipeline.load_slices(images, 16, masks=str(masks))
    assert str(error.value) == (
        f"{masks / 'seg_001_slice_1.nii.png'}: mask of 32 x 30 pixels (H x W), but its image "
        f"{images / 'case_001_slice_1.nii.png'} has 32 x 32")
    with pytest.warns(UserWarning, match="Skipped 1 image"):
        pairs, _ = pipeline.load_slices(images, 16, masks=str(masks), skip_bad_files=True)
    assert len(pairs) == 1


def test_bad_mask_settings(tmp_path):
    root = _oasis_release(tmp_path / "release", splits=(("train", 2),))
    with pytest.raises(ValueError, match="neither an existing folder nor a pattern"):
        pipeline.load_slices(root, 16, masks=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \['\{subject\}'\]"):
        pipeline.load_slices(root, 16, masks="{subject}.png")
    with pytest.raises(ValueError, match="Use one or the other"):
        pipeline.load_slices(root, 16, masks=str(root), include_masks=True)
    with pytest.raises(ValueError, match="use it with --data demo"):
        pipeline.load_slices(root, 16, masks="demo")


# -- Label volumes -----------------------------------------------------------------------------


def _labelled_volume(shape=(12, 20, 6)):
    """Labels 0 (outside), 3 and 7 (two halves of a box) and the image, constant per label."""
    labels = np.zeros(shape, np.int16)
    labels[2:10, 3:17, :] = 3
    labels[2:10, 10:17, :] = 7
    image = np.select([labels == 3, labels == 7], [400.0, 900.0], 0.0).astype(np.float32)
    return image, labels


def test_labelled_nifti_with_anisotropic_voxels(tmp_path):
    image, labels = _labelled_volume()
    affine = np.diag([2.0, 1.0, 3.0, 1.0])  # 2 x 1 mm in the axial plane.
    for i in range(2):
        save_nifti(tmp_path / "data" / f"sub-{i}.nii.gz", image, affine)
        save_nifti(tmp_path / "data" / f"sub-{i}_seg.nii.gz", labels, affine)
    pairs, classes = pipeline.load_slices(tmp_path / "data", 32, masks="{stem}_seg.nii.gz",
                                          min_foreground=0.0)
    # The _seg volumes are masks, not images: 2 volumes x 6 slices.
    assert pairs.shape == (12, 32, 32, 4) and classes.values == (0, 3, 7)
    assert classes.counts == (2 * 6 * 128, 2 * 6 * 56, 2 * 6 * 56)
    np.testing.assert_array_equal(np.unique(pairs[..., 1:]), [0.0, 1.0])  # Nearest: one-hot.
    images, indices = split_pair(pairs)
    levels = {0: -1.0, 2: 1.0}
    for index, level in levels.items():
        exact = np.abs(images[..., 0] - level) < 1e-6
        assert exact.mean() > 0.1
        np.testing.assert_array_equal(indices[exact], index)
    # The 2 mm axis was resampled to 1 mm: the labelled box keeps its physical shape (16 mm
    # across, 14 mm up of a 24 x 20 mm field of view, padded square and resized to 32).
    box = np.argwhere(indices[0] > 0)
    height, width = box.max(0) - box.min(0) + 1
    assert abs(width / height - 16 / 14) < 0.15


def test_oasis1_label_volumes_through_a_relative_pattern(oasis_analyze_tree):
    pattern = "../../../FSL_SEG/{stem}_fseg.hdr"
    pairs, classes = pipeline.load_slices(oasis_analyze_tree, 16, masks=pattern)
    assert classes.values == (0, 3) and pairs.shape[-1] == 3
    images, indices = split_pair(pairs)
    assert (images[indices == 0] < -0.9).mean() > 0.9  # Background outside the head.
    missing = oasis_analyze_tree / "OAS1_0002_MR1" / "FSL_SEG"
    for file in missing.iterdir():
        file.unlink()
    with pytest.raises(DataError, match=r"(?s)1 image\(s\) of .*OAS1_0002_MR1.* have no mask "
                       r"at '\.\./\.\./\.\./FSL_SEG/\{stem\}_fseg.hdr'"):
        pipeline.load_slices(oasis_analyze_tree, 16, masks=pattern)


def test_label_volume_of_another_geometry(tmp_path):
    image, labels = _labelled_volume()
    save_nifti(tmp_path / "data" / "a.nii.gz", image, np.diag([2.0, 1.0, 3.0, 1.0]))
    save_nifti(tmp_path / "labels" / "a.nii.gz", labels, np.diag([1.0, 1.0, 3.0, 1.0]))
    with pytest.raises(DataError) as error:
        pipeline.load_slices(tmp_path / "data", 16, masks=str(tmp_path / "labels"))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'labels' / 'a.nii.gz'}: label volume of shape "
                              "(12, 20, 6) and affine")
    assert f"but its image {tmp_path / 'data' / 'a.nii.gz'} has shape (12, 20, 6)" in message
    assert "[[2. 0. 0. 0.]" in message and "[[1. 0. 0. 0.]" in message
    save_nifti(tmp_path / "labels" / "a.nii.gz", labels[:, :, :5], np.diag([2.0, 1.0, 3.0, 1.0]))
    with pytest.raises(DataError, match=r"label volume of shape \(12, 20, 5\)"):
        pipeline.load_slices(tmp_path / "data", 16, masks=str(tmp_path / "labels"))
    save_nifti(tmp_path / "labels" / "a.nii.gz", labels * 0.5, np.diag([2.0, 1.0, 3.0, 1.0]))
    with pytest.raises(DataError, match="whole-number labels"):
        pipeline.load_slices(tmp_path / "data", 16, masks=str(tmp_path / "labels"))


# -- The demo cohort's tissue masks -----------------------------------------------------------


def test_demo_masks_agree_with_the_images(tmp_path):
    settings = demo.DemoSettings(n_subjects=2, slices=8)
    cohort = demo.demo_cohort(settings, tmp_path, progress=False)
    folder = demo.demo_masks(settings, tmp_path, progress=False)
    assert sorted(f.name for f in folder.glob("*.nii.gz")) == ["sub-000.nii.gz",
                                                               "sub-001.nii.gz"]
    for name in ("sub-000.nii.gz", "sub-001.nii.gz"):
        image, mask = nib.load(cohort / name), nib.load(folder / name)
        np.testing.assert_array_equal(mask.affine, image.affine)
        tissue, counts = np.asarray(mask.dataobj), np.asarray(image.dataobj)
        assert tissue.dtype == np.uint8 and tissue.shape == counts.shape
        # Background exactly where the image is background, voxel for voxel.
        np.testing.assert_array_equal(tissue == 0, counts == 0)
        # Tissue classes in the image's contrast: CSF < gray < white matter.
        medians = [np.median(counts[tissue == c]) for c in (1, 2, 3)]
        assert medians[0] < medians[1] < medians[2]
        assert all((tissue == c).mean() > 0.02 for c in (1, 2, 3))
    # Cached: a second call builds nothing.
    mtime = (folder / "sub-000.nii.gz").stat().st_mtime_ns
    assert demo.demo_masks(settings, tmp_path, progress=False) == folder
    assert (folder / "sub-000.nii.gz").stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".*"))

    pairs, classes = pipeline.load_slices(cohort, 32, masks="demo")
    assert classes.values == (0, 1, 2, 3)
    assert classes.names == ("background", "CSF", "gray matter", "white matter")
    assert pairs.shape == (len(pipeline.load_slices(cohort, 32)), 32, 32, 5)
    images, indices = split_pair(pairs)
    assert {1, 2, 3} <= set(np.unique(indices))
    # Where a slice shows only background, its mask does too (the pixel under the centre of
    # the image's averaging filter is background); the brain's edge blurs in the image only.
    background = images[..., 0] == -1.0
    assert background.mean() > 0.3
    np.testing.assert_array_equal(indices[background], 0)
    assert (images[..., 0][indices == 0] < -0.95).mean() > 0.9
    assert np.median(images[indices == 3]) > np.median(images[indices == 2]) \
        > np.median(images[indices == 1])


# -- Augmentation moves the mask with its image -----------------------------------------------


def test_augmentation_keeps_pairs_aligned(tmp_path):
    import tensorflow as tf

    from keras_mrigan import augment

    root = _oasis_release(tmp_path / "release", splits=(("train", 3),))
    pairs, _ = pipeline.load_slices(root, 32, masks=str(root))
    generator = tf.random.Generator.from_seed(3)
    policy = augment.parse_policy("translation,flip,brightness")
    out = augment.augment(tf.constant(pairs), policy, 1.0, generator.uniform).numpy()
    images, indices = split_pair(out)
    moved = 0
    for source, image, index, probabilities in zip(pairs, images[..., 0], indices, out[..., 1:],
                                                   strict=True):
        np.testing.assert_array_equal(index[probabilities.sum(-1) == 1.0],
                                      np.argmax(probabilities, -1)[probabilities.sum(-1) == 1.0])
        marker = np.argwhere(image == image.max())
        assert len(marker) == 1
        np.testing.assert_array_equal(np.argwhere(probabilities[..., 2] == 1.0), marker)
        moved += not np.array_equal(marker, np.argwhere(source[..., 0] == 1.0))
        # The tissue square's class sits on the tissue, wherever it went.
        tissue = probabilities[..., 1] == 1.0
        assert tissue.sum() == 16 * 16  # Shifts of up to 4 pixels keep it in the frame.
        assert np.ptp(image[tissue]) < 1e-6
    assert moved == 3  # Every pair was flipped (and maybe shifted).


# -- Pairs with labels, subjects, arrays and pooled views ---------------------------------------


def test_demo_pairs_with_labels_subjects_and_a_pooled_view(tmp_path):
    settings = demo.DemoSettings(n_subjects=2, slices=8)
    cohort = demo.demo_cohort(settings, tmp_path, progress=False)
    pairs, classes, labels, names, subjects = pipeline.load_slices(
        cohort, 16, masks="demo", labels="demo", return_subjects=True)
    assert pairs.shape[1:] == (16, 16, 5) and classes.num_classes == 4
    assert names == ("control", "atrophy") and len(labels) == len(subjects) == len(pairs)
    assert sorted({s.rsplit("/", 1)[-1] for s in subjects}) == ["sub-000.nii.gz",
                                                                 "sub-001.nii.gz"]
    assert pipeline.data_files(cohort, pipeline.SliceOptions(masks="demo"), "demo") == \
        sorted(cohort.glob("*.nii.gz"))
    # Streamed without a cache: the same pairs, labels alongside, and the mask classes.
    dataset = pipeline.slice_dataset(cohort, 16, cache=False, masks="demo", labels="demo")
    assert dataset.mask_classes == classes and dataset.class_names == names
    streamed = list(dataset.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack([p for p, _ in streamed]), pairs)
    np.testing.assert_array_equal([label for _, label in streamed], labels)
    # A pooled view averages the one-hot mask into class fractions that still sum to 1.
    view = next(iter(pipeline.build_dataset(cohort, 16, 4, shuffle=False, view_resolution=8,
                                            masks="demo")))
    view = view.numpy()
    assert view.shape == (4, 8, 8, 5)
    np.testing.assert_allclose(view[..., 1:].sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(view, pairs[:4].reshape(4, 8, 2, 8, 2, 5).mean(axis=(2, 4)),
                               atol=1e-6)


def test_an_array_of_pairs_is_a_source():
    rng = np.random.default_rng(0)
    pairs = to_pair(rng.uniform(-1, 1, (6, 16, 16)), rng.integers(0, 3, (6, 16, 16)), 3)
    classes = MaskClasses((0, 85, 255), ("background", "CSF", "tissue"))
    dataset = pipeline.slice_dataset(pairs, 16, mask_classes=classes, min_count=4)
    assert dataset.mask_classes == classes
    np.testing.assert_array_equal(np.stack(list(dataset.as_numpy_iterator())), pairs)
    batches = pipeline.build_dataset(pairs, 16, 3, mask_classes="0,85,255")
    assert batches.mask_classes.values == (0, 85, 255)
    assert [b.shape for b in batches.as_numpy_iterator()] == [(3, 16, 16, 4)] * 2
    with pytest.raises(ValueError, match=r"must have shape \(N, 16, 16, 5\)"):
        pipeline.slice_dataset(pairs, 16, mask_classes="0,1,2,3")


def test_dicom_series_with_a_nifti_label_volume_stored_in_another_axis_order(tmp_path):
    from test_dicom import nifti_affine, ras_volume, write_axial_series

    volume = ras_volume()
    write_axial_series(tmp_path / "P01" / "t1", volume)
    labels = np.zeros(volume.shape, np.uint8)
    labels[volume > 0] = 1
    labels[5, 20, 12] = 2  # The series' bright marker voxel.
    # Stored LPS, as DICOM converters write: the same voxel grid in another axis order.
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[:2, 3] = np.array(volume.shape[:2]) - 1
    save_nifti(tmp_path / "P01" / "labels" / "t1.nii.gz", labels[::-1, ::-1],
               nifti_affine() @ flip)
    pairs, classes = pipeline.load_slices(tmp_path / "P01" / "t1", 32,
                                          masks="../labels/{stem}.nii.gz", min_foreground=0)
    assert classes.values == (0, 1, 2) and classes.counts[2] == 1
    assert len(pairs) == volume.shape[2]
    # The same as the equivalent NIfTI image with its labels stored in RAS order.
    save_nifti(tmp_path / "nifti" / "t1.nii.gz", volume, nifti_affine())
    save_nifti(tmp_path / "nifti" / "t1_seg.nii.gz", labels, nifti_affine())
    expected, _ = pipeline.load_slices(tmp_path / "nifti", 32, masks="{stem}_seg.nii.gz",
                                       min_foreground=0)
    np.testing.assert_array_equal(pairs[..., 1:], expected[..., 1:])
    np.testing.assert_allclose(pairs[..., 0], expected[..., 0], atol=2e-3)  # Rescale steps.
    # The marker voxel's class is in the marker's axial slice (z = 12) only.
    _, indices = split_pair(pairs)
    assert set(np.argwhere(indices == 2)[:, 0]) == {12}


def test_label_volumes_beside_their_images_are_neither_subjects_nor_reference(tmp_path):
    from keras_mrigan import runs, training
    from keras_mrigan.config import RunConfig

    for i, name in enumerate(("s0", "s1")):
        image = head_volume(seed=i)
        save_nifti(tmp_path / "data" / f"{name}.nii.gz", image)
        save_nifti(tmp_path / "data" / f"{name}_seg.nii.gz", (image > 0).astype(np.int16) * 3)
    config = RunConfig().replace(source=str(tmp_path / "data"), resolution=16,
                                 masks="{stem}_seg.nii.gz")
    subjects = training.training_subjects(config)
    assert [Path(s).name for s in subjects] == ["s0.nii.gz", "s1.nii.gz"]  # No label volume.
    # The reference statistics of paired data are those of its images (the first channel).
    options = training.slice_options(config)
    stats = runs.load_reference(config.data.source, 16, n=8, options=options)
    plain = runs.load_reference(config.data.source, 16, n=8,
                                options=training.slice_options(config.replace(
                                    masks=None, pattern="s?.nii.gz")))
    np.testing.assert_array_equal(stats.thumbnails, plain.thumbnails)
