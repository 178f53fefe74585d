import json

import nibabel as nib
import numpy as np
import pytest

from keras_mrigan.data import demo
from keras_mrigan.data.pipeline import load_slices, resolve_source

SMALL = demo.DemoSettings(n_subjects=2, slices=8)


def test_cohort_is_deterministic_and_cached(tmp_path):
    first = demo.demo_cohort(SMALL, tmp_path / "a", progress=False)
    second = demo.demo_cohort(SMALL, tmp_path / "b", progress=False)
    files = sorted(first.glob("*.nii.gz"))
    assert [f.name for f in files] == ["sub-000.nii.gz", "sub-001.nii.gz"]
    for f in files:
        np.testing.assert_array_equal(
            np.asarray(nib.load(f).dataobj), np.asarray(nib.load(second / f.name).dataobj)
        )
    # Subjects differ from each other.
    a, b = (np.asarray(nib.load(f).dataobj) for f in files)
    assert not np.array_equal(a, b)
    # A second call finds the cache: the same folder, files untouched.
    mtime = files[0].stat().st_mtime_ns
    assert demo.demo_cohort(SMALL, tmp_path / "a", progress=False) == first
    assert files[0].stat().st_mtime_ns == mtime
    assert not list((tmp_path / "a").glob(".*"))  # No temporary folder left behind.


def test_cohort_geometry(tmp_path):
    folder = demo.demo_cohort(SMALL, tmp_path, progress=False)
    image = nib.load(folder / "sub-000.nii.gz")
    assert image.shape[2] == 8
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    np.testing.assert_allclose(nib.affines.voxel_sizes(image.affine), [1, 1, 2])
    # The slab is centred on MNI z = slab_centre_mm.
    centre = image.affine @ [0, 0, 3.5, 1]
    assert centre[2] == pytest.approx(SMALL.slab_centre_mm)
    x = load_slices(folder, 32)
    assert x.shape == (16, 32, 32, 1)
    # Brain inside, zero background outside: both ends of the range are present.
    assert x.min() == -1.0 and x.max() > 0.95


def test_a_first_build_shows_keras_progress_and_logs_its_title(tmp_path, capsys, caplog):
    with caplog.at_level("INFO", logger="keras_mrigan"):
        demo.demo_cohort(SMALL, tmp_path, progress=True)
    assert caplog.messages == ["Building demo cohort"]
    shown = capsys.readouterr()
    assert "2/2" in shown.out and "/subject" in shown.out and shown.err == ""
    demo.demo_cohort(SMALL, tmp_path, progress=True)  # Cached: nothing to show.
    assert capsys.readouterr().out == "" and caplog.messages == ["Building demo cohort"]


def test_different_settings_use_different_caches(tmp_path):
    other = demo.DemoSettings(n_subjects=2, slices=8, seed=1)
    assert SMALL.key() != other.key()
    with pytest.raises(ValueError, match="n_subjects"):
        demo.demo_cohort(demo.DemoSettings(n_subjects=0), tmp_path)


def test_demo_sources_name_cohorts_whose_first_subjects_are_the_demos(tmp_path, monkeypatch):
    assert demo.demo_source_settings("demo") == demo.DemoSettings()
    assert demo.demo_source_settings("demo:256") == demo.DemoSettings(n_subjects=256)
    assert demo.demo_source_settings("demos") is None
    assert demo.demo_source_settings(tmp_path) is None
    for bad in ("demo:0", "demo:x", "demo:-3", "demo:2.5"):
        with pytest.raises(ValueError, match=f"'demo' or 'demo:N'.*Received: '{bad}'"):
            demo.demo_source_settings(bad)
    # "demo:N" is built where "demo" is, on first use, as a cohort of N subjects.
    monkeypatch.setenv("KERAS_MRIGAN_CACHE", str(tmp_path / "cache"))
    two = resolve_source("demo:2")
    assert two.parent == tmp_path / "cache"
    assert sorted(f.name for f in two.glob("*.nii.gz")) == ["sub-000.nii.gz", "sub-001.nii.gz"]
    assert json.loads((two / "cohort.json").read_text())["n_subjects"] == 2
    # Subject i depends on the seed and i only: a larger cohort starts with the same ones.
    three = demo.demo_cohort(demo.DemoSettings(n_subjects=3), tmp_path / "three",
                             progress=False)
    for name in ("sub-000.nii.gz", "sub-001.nii.gz"):
        np.testing.assert_array_equal(np.asarray(nib.load(two / name).dataobj),
                                      np.asarray(nib.load(three / name).dataobj))
    assert len(load_slices("demo:2", 16)) == 64
    # A cohort's folder tells its settings (what --labels demo and --masks demo read).
    assert demo.cohort_folder_settings([two]) == demo.DemoSettings(n_subjects=2)
    assert demo.cohort_folder_settings([three]) == demo.DemoSettings(n_subjects=3)
    assert demo.cohort_folder_settings([tmp_path]) is None
    assert demo.cohort_folder_settings([two, three]) is None


@pytest.mark.slow
def test_default_cohort_is_as_diverse_as_real_data():
    """The paper reports that 16 components explain 55 % of OASIS's variance; the demo must land
    between 45 % and 75 % (a template with brightness changes alone explains over 95 %)."""
    x = load_slices("demo", 64)
    assert x.shape == (2048, 64, 64, 1)
    sample = x[np.random.default_rng(0).choice(len(x), 2000, replace=False)]
    flat = sample.reshape(2000, -1).astype(np.float64)
    flat -= flat.mean(axis=0)
    eigenvalues = np.linalg.svd(flat, compute_uv=False) ** 2
    explained = eigenvalues[:16].sum() / eigenvalues.sum()
    assert 0.45 <= explained <= 0.75, explained
