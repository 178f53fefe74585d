import numpy as np
import pytest
from conftest import head_volume, save_nifti

from keras_mrigan.data import pipeline


@pytest.fixture
def volume_folder(tmp_path):
    for i in range(3):
        save_nifti(tmp_path / f"sub-{i}.nii.gz", head_volume(seed=i))
    return tmp_path  # 3 volumes x 14 non-empty slices = 42 slices.


def _batches(dataset):
    return [b.numpy() for b in dataset]


def test_batches_shape_range_and_drop_remainder(volume_folder):
    dataset = pipeline.build_dataset(volume_folder, 32, batch_size=8)
    batches = _batches(dataset)
    assert len(batches) == 42 // 8
    assert all(b.shape == (8, 32, 32, 1) and b.dtype == np.float32 for b in batches)
    stacked = np.concatenate(batches)
    assert stacked.min() >= -1.0 and stacked.max() <= 1.0


def test_every_slice_once_per_epoch_and_seeded_order(volume_folder):
    reference = pipeline.load_slices(volume_folder, 16)
    first = np.concatenate(_batches(pipeline.build_dataset(volume_folder, 16, 6, seed=3)))
    again = np.concatenate(_batches(pipeline.build_dataset(volume_folder, 16, 6, seed=3)))
    other = np.concatenate(_batches(pipeline.build_dataset(volume_folder, 16, 6, seed=4)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # 42 slices in batches of 6: all of them, each once, in shuffled order.
    order = lambda x: np.sort(x.reshape(len(x), -1).sum(axis=1))  # noqa: E731
    np.testing.assert_allclose(order(first), order(reference), rtol=1e-5)
    assert not np.array_equal(first, reference)


def test_cached_dataset_reads_files_once(volume_folder, monkeypatch):
    calls = []
    original = pipeline.readers.read_stack

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline.readers, "read_stack", counting)
    dataset = pipeline.build_dataset(volume_folder, 16, 7)
    first, second = _batches(dataset), _batches(dataset)
    assert len(calls) == 3
    assert len(first) == len(second) == 6
    uncached = pipeline.build_dataset(volume_folder, 16, 7, cache=False)
    _batches(uncached), _batches(uncached)
    assert len(calls) == 3 + 6


def test_file_cache(volume_folder, tmp_path):
    prefix = tmp_path / "cache" / "slices"
    dataset = pipeline.build_dataset(volume_folder, 16, 7, cache=prefix, shuffle=False)
    first = np.concatenate(_batches(dataset))
    assert list(prefix.parent.glob("slices*.index"))
    second = np.concatenate(_batches(dataset))
    np.testing.assert_array_equal(first, second)


def test_resolution_view_is_average_pooling(volume_folder):
    full = pipeline.build_dataset(volume_folder, 32, 6, shuffle=False)
    low = pipeline.resolution_view(full, 8)
    for big, small in zip(_batches(full), _batches(low), strict=True):
        expected = big.reshape(6, 8, 4, 8, 4, 1).mean(axis=(2, 4))
        np.testing.assert_allclose(small, expected, atol=1e-6)
    via_argument = pipeline.build_dataset(volume_folder, 32, 6, shuffle=False, view_resolution=4)
    assert via_argument.element_spec.shape.as_list() == [6, 4, 4, 1]
    with pytest.raises(ValueError, match="view_resolution=12"):
        pipeline.resolution_view(full, 12)
    with pytest.raises(ValueError, match="view_resolution=64"):
        pipeline.resolution_view(full, 64)


def test_numpy_source_dataset():
    x = np.random.default_rng(0).uniform(-1, 1, size=(10, 16, 16, 1)).astype(np.float32)
    batches = _batches(pipeline.build_dataset(x, 16, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate(batches), x[:8])


def test_fewer_slices_than_a_batch(volume_folder):
    import tensorflow as tf

    message = "holds 14 slice.*fewer than one batch of batch_size=64"
    with pytest.raises(ValueError, match=message):
        pipeline.build_dataset(volume_folder / "sub-0.nii.gz", 16, 64)
    # Without a cache nothing is read up front: the first pass reports it.
    dataset = pipeline.build_dataset(volume_folder / "sub-0.nii.gz", 16, 64, cache=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        _batches(dataset)


def test_array_source_with_fewer_slices_than_a_batch_fails_like_a_folder():
    x = np.zeros((5, 16, 16, 1), np.float32)
    message = r"The data holds 5 slice\(s\), fewer than one batch of batch_size=8"
    with pytest.raises(ValueError, match=message):
        pipeline.build_dataset(x, 16, 8)
    with pytest.raises(ValueError, match=message):
        pipeline.build_dataset(x, 16, 8, labels=np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=message.replace("8", "6")):
        pipeline.slice_dataset(x, 16, min_count=6)
    # Exactly one batch is enough.
    assert len(_batches(pipeline.build_dataset(x, 16, 5, shuffle=False))) == 1


def test_cached_dataset_knows_its_length(volume_folder):
    dataset = pipeline.build_dataset(volume_folder, 16, 8)
    assert int(dataset.cardinality()) == 42 // 8


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=4, shuffle_buffer=0), "shuffle_buffer"),
    (dict(batch_size=4, axiss="axial"), r"Unknown slice option\(s\) \['axiss'\]"),
])
def test_bad_arguments(volume_folder, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pipeline.build_dataset(volume_folder, 16, **kwargs)


def test_preview_writes_grid_and_counts(volume_folder, tmp_path):
    from PIL import Image

    out = tmp_path / "grid.png"
    summary = pipeline.preview(volume_folder, 16, out, n=9)
    assert summary.total == 42 and summary.shape == (16, 16, 1)
    assert sorted(summary.counts.values()) == [14, 14, 14]
    assert "42 slices of shape (16, 16, 1) from 3 file(s)" in str(summary)
    grid = np.asarray(Image.open(out))
    assert grid.shape == (3 * 18 + 2, 3 * 18 + 2)


def test_data_errors_surface_at_build_time_as_themselves(volume_folder):
    (volume_folder / "broken.nii.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(pipeline.readers.DataError, match="broken.nii.gz"):
        pipeline.build_dataset(volume_folder, 16, 8)


def test_batch_epochs_resume_at_any_epoch_and_lay_out_epochs_lazily():
    import tensorflow as tf

    from keras_mrigan.utils import random_scope

    slices = tf.data.Dataset.range(22).map(lambda i: tf.fill([2, 2, 1], tf.cast(i, tf.float32)))

    def epochs_of(**kwargs):
        with random_scope(0):
            batches = pipeline.batch_epochs(slices, 4, seed=5, epochs=4, **kwargs)
            return np.stack([b[:, 0, 0, 0] for b in _batches(batches)]).reshape(-1, 5, 4)

    whole = epochs_of()
    assert whole.shape == (4, 5, 4)  # 22 slices in batches of 4: 5 batches, 2 left each epoch.
    for epoch in whole:  # Each slice at most once an epoch, and a new order every epoch.
        assert len(np.unique(epoch)) == 20
    assert len({epoch.tobytes() for epoch in whole}) == 4
    np.testing.assert_array_equal(epochs_of(initial_epoch=2), whole[2:])
    np.testing.assert_array_equal(epochs_of(initial_epoch=3), whole[3:])
    with random_scope(1):  # Another global seed, another order.
        other = pipeline.batch_epochs(slices, 4, seed=5, epochs=4)
        assert not np.array_equal(_batches(other)[0][:, 0, 0, 0], whole[0, 0])
    # A million planned epochs are laid out lazily: building and starting them is immediate.
    many = pipeline.batch_epochs(slices, 4, seed=5, epochs=10**6, initial_epoch=1,
                                 prefetch=False)
    assert int(many.cardinality()) == (10**6 - 1) * 5
    assert next(iter(many)).shape == (4, 2, 2, 1)
    with pytest.raises(ValueError, match="initial_epoch=4, epochs=4"):
        pipeline.batch_epochs(slices, 4, epochs=4, initial_epoch=4)


def test_reading_lives_below_the_pipeline_and_keeps_its_old_names():
    import sys

    from keras_mrigan.data import pairing, slices, sources

    for name, module in [("SliceOptions", sources), ("source_files", sources),
                         ("resolve_source", sources), ("label_files", sources),
                         ("MaskPairs", pairing), ("mask_pairs", pairing),
                         ("iter_slice_stacks", slices), ("load_slices", slices),
                         ("data_files", slices), ("preview", slices),
                         ("DataSummary", slices)]:
        assert getattr(pipeline, name) is getattr(module, name), name
        assert name in pipeline.__all__
    # Reading slices does not need TensorFlow's data pipeline: none of the three imports it.
    for module in (sources, pairing, slices):
        text = open(module.__file__).read()
        assert "import tensorflow" not in text and "data.pipeline" not in text
    assert sys.modules["keras_mrigan.data.slices"] is slices


def test_slice_options_names_an_unknown_option():
    from keras_mrigan.data.sources import SliceOptions, slice_options

    assert slice_options(None, {"axis": "coronal"}) == SliceOptions(axis="coronal")
    with pytest.raises(TypeError, match=r"Unknown slice option\(s\) \['axes'\]"):
        slice_options(SliceOptions(), {"axes": "coronal"})
    with pytest.raises(TypeError, match="must be a SliceOptions"):
        slice_options({"axis": "coronal"}, {})
