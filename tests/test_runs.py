"""The run folder as a format: split, config, SavedModel lookup, reference statistics that
know what they were fitted on, and the old import paths of what moved here."""

import importlib
import json
import logging
import os

import numpy as np
import pytest
from conftest import head_volume, save_nifti

from keras_mrigan import runs
from keras_mrigan.data.pipeline import SliceOptions


def test_split_and_config_round_trip(tmp_path):
    assert runs.read_split(tmp_path) is None and runs.read_config(tmp_path) is None
    runs.write_split(tmp_path, ["b", "a", 3], in_memory=True)
    assert runs.read_split(tmp_path) == ["3", "a", "b"]
    assert json.loads((tmp_path / "split.json").read_text()) == {
        "train_subjects": ["3", "a", "b"], "in_memory": True}
    (tmp_path / runs.CONFIG).write_text(json.dumps({"data": {"resolution": 16}}))
    assert runs.read_config(tmp_path) == {"data": {"resolution": 16}}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_saved_model_lookup_and_metadata(tmp_path):
    base = tmp_path / "models" / "m"
    for version in ("1", "3", "10", "latest"):
        (base / version / "assets").mkdir(parents=True)
        (base / version / "saved_model.pb").write_bytes(b"")
        (base / version / "assets" / runs.METADATA).write_text(json.dumps({"v": version}))
    (base / "20").mkdir()  # A version folder without a SavedModel is not one.
    assert runs.resolve_saved_model(base) == base / "10"  # Numerically, not as text.
    assert runs.resolve_saved_model(base / "3") == base / "3"
    assert runs.read_metadata(base) == {"v": "10"}
    assert runs.is_saved_model(base) and not runs.is_saved_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="no SavedModel here"):
        runs.resolve_saved_model(tmp_path)


def test_load_run_and_sampler_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such run folder or model file"):
        runs.load_run(tmp_path / "nope")
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / runs.CONFIG).write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"has no finished model \(model.keras\)"):
        runs.load_run(tmp_path / "unfinished")
    with pytest.raises(FileNotFoundError, match="no such model folder, SavedModel or run"):
        runs.Sampler(tmp_path / "missing")
    assert runs.seed_range(3, 5).tolist() == [5, 6, 7]
    assert runs.seed_range(1, 2**63 - 1).tolist() == [2**63 - 1]
    with pytest.raises(ValueError, match=r"seed=9223372036854775807 with n=2"):
        runs.seed_range(2, 2**63 - 1)
    with pytest.raises(ValueError, match="`n` must be a positive integer. Received: n=True"):
        runs.seed_range(True, 0)


@pytest.fixture
def source(tmp_path):
    for i in range(3):
        save_nifti(tmp_path / "data" / f"s{i}.nii.gz", head_volume(seed=i))
    return tmp_path / "data"


def test_reference_statistics_are_refitted_when_fitted_on_something_else(source, tmp_path):
    path = tmp_path / "run" / runs.REFERENCE_STATS
    said = []
    first = runs.load_reference(source, 16, n=10, stats_path=path, progress=said.append)
    assert first.fitted_on == {
        "source": str(source.resolve()), "files": first.fitted_on["files"], "resolution": 16,
        "n": 10, "seed": 0, "options": json.loads(json.dumps(vars(SliceOptions())))}
    assert first.fitted_on["files"].startswith("3 files, sha256 ")
    assert first.row["n"] == 10 and path.exists()
    assert not any("fitting again" in message for message in said)
    # The same request reuses the file: loaded, not refitted (the file is not rewritten).
    stamp = path.stat().st_mtime_ns
    said.clear()
    again = runs.load_reference(source, 16, n=10, stats_path=path, progress=said.append)
    assert path.stat().st_mtime_ns == stamp and said == []
    np.testing.assert_array_equal(again.paper.components, first.paper.components)
    # The same folder through another path is the same source.
    (tmp_path / "other").mkdir()
    runs.load_reference(tmp_path / "other" / ".." / "data", 16, n=10, stats_path=path,
                        progress=said.append)
    assert said == []
    # Another seed, n, option or source: refitted, and the file replaced.
    for change, expected in ((dict(seed=1), ("seed", 1)), (dict(n=12), ("n", 12)),
                             (dict(options=SliceOptions(central_fraction=0.5)), None)):
        said.clear()
        settings = {"n": 10, "seed": 0, **change}
        refit = runs.load_reference(source, 16, stats_path=path, progress=said.append,
                                    **settings)
        assert any("fitting again" in message for message in said), change
        assert runs.load_reference(source, 16, stats_path=path, **settings).fitted_on == \
            refit.fitted_on
        if expected:
            assert refit.fitted_on[expected[0]] == expected[1]
    assert refit.fitted_on["options"]["central_fraction"] == 0.5
    assert refit.row["n"] == 10
    # The same folder with a file less is another source.
    os.remove(source / "s2.nii.gz")
    fewer = runs.load_reference(source, 16, n=10, stats_path=path, progress=said.append)
    assert any("fitting again" in message for message in said)
    assert fewer.fitted_on["files"].startswith("2 files, sha256 ")
    assert len(fewer.thumbnails) < len(first.thumbnails)


def test_statistics_without_a_record_are_refitted(source, tmp_path):
    path = tmp_path / "stats.npz"
    stats = runs.load_reference(source, 16, n=10)
    stats.fitted_on = None  # As written before statistics recorded their origin.
    stats.save(path)
    said = []
    refit = runs.load_reference(source, 16, n=10, stats_path=path, progress=said.append)
    assert refit.fitted_on["n"] == 10
    assert "was fitted on unrecorded data" in said[0]
    # A statistics file given as the reference is used as given, at its resolution only.
    assert runs.load_reference(path, 16).fitted_on == refit.fitted_on
    with pytest.raises(ValueError, match="statistics are for 16 x 16 images, the generated "
                                         "ones are 32 x 32"):
        runs.load_reference(path, 32)


def test_moved_names_stay_importable():
    from keras_mrigan import callbacks, evaluation, export, generate, layers, metrics
    from keras_mrigan.data import labels
    from keras_mrigan.layers import conditioning
    from keras_mrigan.models import gan, latents

    # Each old path warns, names the new place, and gives the object that lives there.
    moved = [(generate, runs, ["Sampler", "MAX_SEED"]),
             (export, runs, ["load_run", "read_metadata", "resolve_saved_model", "METADATA"]),
             (callbacks, runs, ["CHECKPOINT", "STATE", "HISTORY", "LOSS_CURVES"]),
             (evaluation, runs, ["load_reference"]),
             (metrics, evaluation, ["evaluate", "load_generated", "table"]),
             (metrics, runs, ["load_reference"]),
             (gan, latents, ["seed_latents", "sample_latents", "seed_labels", "MAX_SEED",
                             "LATENT_DISTRIBUTIONS", "check_latent_distribution"]),
             (gan, layers, ["WeightedSum"]),
             (labels, conditioning, ["class_index"])]
    for old, new, names in moved:
        for name in names:
            with pytest.warns(DeprecationWarning, match=rf"`{old.__name__}\.{name}` moved to "
                                                        rf"`{new.__name__}\.{name}`"):
                assert getattr(old, name) is getattr(new, name)
    assert runs.MAX_SEED == 2**63 - 1
    assert (runs.CHECKPOINT, runs.STATE, runs.HISTORY) == (
        "checkpoint.keras", "state.json", "history.csv")
    for old, _, _ in moved:
        with pytest.raises(AttributeError, match=f"'{old.__name__}' has no attribute 'nothing'"):
            old.nothing  # noqa: B018
    for module in ("keras_mrigan.metrics.evaluate", "keras_mrigan.metrics.classes"):
        with pytest.warns(DeprecationWarning, match="moved to `keras_mrigan.evaluation`"):
            importlib.reload(importlib.import_module(module))
    from keras_mrigan.metrics import classes
    from keras_mrigan.metrics import evaluate as old

    assert old.evaluate is evaluation.evaluate and old.ReferenceStats is metrics.ReferenceStats
    assert classes.evaluate_classes is evaluation.evaluate_classes


def test_run_clock_reports_through_logging(caplog):
    from keras_mrigan.callbacks import RunClock

    clock = RunClock(epochs=2, steps_per_epoch=3)
    clock.params = {"verbose": 0}
    with caplog.at_level(logging.INFO, logger="keras_mrigan.callbacks"):
        clock._say(125, "2.00 s per batch")
    assert caplog.messages == [
        "expected duration of the run: about 2 min 5 s (2.00 s per batch)"]


def test_run_clock_says_when_the_time_budget_ends_the_run_first(caplog):
    from keras_mrigan.callbacks import RunClock, TimeBudget

    now = [100.0]
    budget = TimeBudget(2, clock=lambda: now[0])  # 120 s from t = 100.
    now[0] = 130.0
    budget.seen = budget.elapsed  # As at a batch's end: 90 s left.
    clock = RunClock(epochs=40, steps_per_epoch=64, budget=budget)
    clock.params = {"verbose": 0}
    with caplog.at_level(logging.INFO, logger="keras_mrigan.callbacks"):
        clock._say(1280, "0.50 s per batch")
        clock._say(60, "0.50 s per batch")  # Within the budget: as without one.
    assert caplog.messages == [
        "expected duration of the run: about 21 min 20 s (0.50 s per batch); its time budget "
        "ends it in about 1 min 30 s",
        "expected duration of the run: about 1 min 0 s (0.50 s per batch)"]
