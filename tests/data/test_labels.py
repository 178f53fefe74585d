"""Class labels from folders, an OASIS-style table and the demo cohort, through the pipeline."""

import csv

import numpy as np
import pytest

from keras_mrigan.data import labels as labels_module
from keras_mrigan.data.labels import LabelOptions
from keras_mrigan.data.pipeline import build_dataset, load_slices, slice_dataset
from keras_mrigan.data.readers import DataError
from keras_mrigan.layers import conditioning
from tests.conftest import head_volume, save_analyze, save_nifti, save_png


def _marked_png(path, value):
    """A 16 x 16 slice whose every pixel is ``value``: its label can be read off the image."""
    return save_png(path, np.full((16, 16), value, np.uint8))


@pytest.fixture
def class_tree(tmp_path):
    """Class folders of PNG slices (AD: bright, CN: dark) and a NIfTI volume below CN."""
    root = tmp_path / "classes"
    for i in range(3):
        _marked_png(root / "AD" / f"a{i}.png", 250)
    for i in range(2):
        _marked_png(root / "CN" / "deeper" / f"c{i}.png", 10)
    save_nifti(root / "CN" / "vol.nii.gz", head_volume())
    return root


def test_class_folders_reach_the_batches(class_tree):
    images, classes, names = load_slices(class_tree, 16, labels="folders")
    assert names == ("AD", "CN")
    assert list(classes[:5]) == [0, 0, 0, 1, 1] and (classes[5:] == 1).all()
    assert len(classes) == 5 + 14  # The volume's 14 non-empty slices are CN's.
    # The PNG slices carry their class in their intensity.
    assert np.allclose(images[:3], 250 / 127.5 - 1) and np.allclose(images[3:5], 10 / 127.5 - 1)

    dataset = build_dataset(class_tree, 16, 4, labels="folders", seed=3)
    assert dataset.class_names == ("AD", "CN")
    assert list(dataset.class_counts) == [3, 16]
    seen = 0
    for batch, batch_labels in dataset:
        assert batch.shape == (4, 16, 16, 1) and batch_labels.dtype == "int32"
        for image, label in zip(batch.numpy(), batch_labels.numpy(), strict=True):
            if np.ptp(image) == 0 and image.flat[0] > 0.5:  # A bright AD slice.
                assert label == 0
            elif np.ptp(image) == 0:  # A dark CN slice.
                assert label == 1
            seen += 1
    assert seen == 16  # 19 slices, batches of 4.


def test_class_folder_errors(class_tree, tmp_path):
    (class_tree / "MCI").mkdir()
    with pytest.raises(DataError, match=r"MCI: class folder without any image"):
        load_slices(class_tree, 16, labels="folders")
    flat = tmp_path / "flat"
    _marked_png(flat / "a.png", 1)
    _marked_png(flat / "only" / "b.png", 1)
    with pytest.raises(DataError, match=r"a.png: not inside a class folder"):
        load_slices(flat, 16, labels="folders")
    (flat / "a.png").unlink()
    with pytest.raises(DataError, match=r"at least two class folders"):
        load_slices(flat, 16, labels="folders")


def _oasis_table(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "M/F", "Age", "CDR"])
        writer.writerows(rows)
    return path


@pytest.fixture
def oasis_tree(tmp_path):
    """Four OASIS-1 sessions as Analyze volumes, and the clinical table (one young subject
    with an empty CDR, one ID without images)."""
    root = tmp_path / "oasis1"
    for k in (1, 2, 3, 4):
        name = f"OAS1_{k:04d}_MR1"
        save_analyze(root / name / "PROCESSED" / f"{name}_masked_gfc.hdr", head_volume(seed=k))
    table = _oasis_table(tmp_path / "oasis_cross-sectional.csv", [
        ["OAS1_0001_MR1", "F", 74, "0"], ["OAS1_0002_MR1", "F", 55, "0.5"],
        ["OAS1_0003_MR1", "F", 73, "1"], ["OAS1_0004_MR1", "M", 28, ""],
        ["OAS1_0099_MR1", "M", 80, "2"],
    ])
    return root, table


DEMENTIA = "0=control,0.5=dementia,1=dementia,2=dementia"


def test_oasis_table_with_a_label_map(oasis_tree):
    root, table = oasis_tree
    options = LabelOptions(str(table), label_column="CDR", label_map=DEMENTIA)
    with pytest.raises(ValueError, match=r"1 of 4 file\(s\) have no label(.|\n)*OAS1_0004_MR1"
                       r"(.|\n)*--drop-unlabelled"):
        load_slices(root, 16, labels=options)
    options = LabelOptions(str(table), label_column="CDR", label_map=DEMENTIA,
                           drop_unlabelled=True)
    with pytest.warns(UserWarning, match=r"Dropped 1 of 4 file\(s\) without a label"):
        images, classes, names, subjects = load_slices(root, 16, labels=options,
                                                       return_subjects=True)
    assert names == ("control", "dementia")
    per_subject = {s: set(classes[subjects == s]) for s in np.unique(subjects)}
    assert per_subject == {"OAS1_0001": {0}, "OAS1_0002": {1}, "OAS1_0003": {1}}


def test_oasis_table_without_a_map_and_its_errors(oasis_tree, tmp_path):
    root, table = oasis_tree
    with pytest.warns(UserWarning, match="Dropped 1 of 4"):
        labelled = labels_module.assign(
            sorted(root.rglob("*.hdr")), root,
            LabelOptions(str(table), label_column="CDR", drop_unlabelled=True))
    # The files' values (not OAS1_0099's 2), in numeric order.
    assert labelled.class_names == ("0", "0.5", "1")
    assert labelled.classes == [0, 1, 2]
    with pytest.raises(DataError, match=r"no column 'Diagnosis' \(--label-column\); its "
                       r"columns are \['ID', 'M/F', 'Age', 'CDR'\]"):
        load_slices(root, 16, labels=LabelOptions(str(table), label_column="Diagnosis"))
    with pytest.raises(DataError, match=r"value '1' of column 'CDR' \(row OAS1_0003_MR1\) has "
                       r"no class in the label map '0=control,0.5=dementia'"):
        load_slices(root, 16, labels=LabelOptions(str(table), label_column="CDR",
                                                  label_map="0=control,0.5=dementia",
                                                  drop_unlabelled=True))
    stranger = _oasis_table(tmp_path / "other.csv", [["OAS1_0777_MR1", "F", 70, "0"]])
    with pytest.raises(DataError, match=r"other.csv: none of its 1 IDs .* occurs in the path"):
        load_slices(root, 16, labels=LabelOptions(str(stranger), label_column="CDR"))
    with pytest.raises(ValueError, match=r"'0:control' is not VALUE=CLASS"):
        labels_module.parse_label_map("0:control")


def test_demo_labels_are_balanced_over_subjects_and_reach_the_batches(class_tree):
    from keras_mrigan.data import demo

    classes = demo.subject_classes()
    assert sum(classes.values()) == len(classes) // 2  # 32 "atrophy" of 64 subjects.
    scores = demo.atrophy_scores()
    assert min(s for s, c in zip(scores, classes.values(), strict=True) if c) > max(
        s for s, c in zip(scores, classes.values(), strict=True) if not c)
    images, labels, names, subjects = load_slices("demo", 16, labels="demo",
                                                  return_subjects=True)
    assert names == ("control", "atrophy")
    for subject in np.unique(subjects)[:8]:
        expected = classes[subject.rsplit("/", 1)[-1]]
        assert set(labels[subjects == subject]) == {expected}
    with pytest.raises(ValueError, match="--labels demo labels the demo cohort only"):
        load_slices(class_tree, 16, labels="demo")
    with pytest.raises(ValueError, match="an array source has none"):
        load_slices(np.zeros((4, 16, 16)), 16, labels="demo")


def test_array_labels_and_the_slice_dataset():
    images = np.zeros((6, 16, 16), np.float32)
    dataset = slice_dataset(images, 16, labels=np.array([0, 1, 1, 0, 1, 1]))
    assert dataset.class_names == ("0", "1") and list(dataset.class_counts) == [2, 4]
    assert [int(label) for _, label in dataset] == [0, 1, 1, 0, 1, 1]
    with pytest.raises(ValueError, match=r"6 class indices >= 0"):
        slice_dataset(images, 16, labels=np.array([0.5] * 6))


def test_class_index_by_name_or_index_and_its_errors():
    names = ("control", "atrophy")
    assert conditioning.class_index("atrophy", names) == 1
    assert conditioning.class_index(np.int64(0), names) == 0
    for bad in ("dementia", 2, -1, True, 0.0):
        with pytest.raises(ValueError, match=r"Unknown class .*\['control', 'atrophy'\] or "
                                             r"an index in \[0, 2\) was expected \(run/x\)"):
            conditioning.class_index(bad, names, "run/x")
    with pytest.raises(ValueError, match="run/x is unconditional: it takes no label"):
        conditioning.class_index("control", (), "run/x")


def test_class_index_is_the_conditioning_helper():
    with pytest.warns(DeprecationWarning, match="keras_mrigan.layers.conditioning.class_index"):
        assert labels_module.class_index is conditioning.class_index
