"""The benchmark scripts' own arithmetic, and a tiny throughput measurement end to end."""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name):
    """Imports ``benchmarks/NAME.py`` as a script run from its folder would (its sibling
    ``common`` importable), leaving ``sys.path`` as it was."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_short_run_breakdown_adds_up_to_the_run():
    throughput = load_script("throughput")
    clock = throughput.PhaseClock()
    # Two fits (two resolutions) of one epoch; each fit's first step traces.
    clock.events.extend([
        ("fit_begin", 1.0), ("epoch_begin", 1.0),
        ("batch_begin", 1.0), ("batch_end", 4.0),
        ("batch_begin", 4.1), ("batch_end", 4.6),
        ("batch_begin", 4.7), ("batch_end", 5.2),
        ("epoch_end", 5.2), ("fit_end", 6.0),
        ("fit_begin", 7.0), ("epoch_begin", 7.0),
        ("batch_begin", 7.0), ("batch_end", 9.0),
        ("batch_begin", 9.0), ("batch_end", 9.5),
        ("epoch_end", 9.5), ("fit_end", 10.0),
    ])
    found = clock.breakdown(started=0.0, finished=11.0)
    expected = {
        "set-up": 1.0,
        "rebuild between phases": 1.0,
        "tracing (first steps)": (3.0 - 0.5) + (2.0 - 0.5),
        "training steps": 3 * 0.5 + 2 * 0.5,
        "between steps (data, callbacks)": 0.2,
        "grids and checkpoints": 0.8 + 0.5,
        "final model": 1.0,
        "other": 0.0,
    }
    assert found["parts"] == pytest.approx(expected, abs=1e-9)
    assert (found["total"], found["steps"], found["fits"], found["epochs"]) == (11.0, 5, 2, 2)
    assert found["warm_step"] == pytest.approx(0.5)


def test_throughput_rows_cover_each_architecture_kernel_and_preset():
    throughput = load_script("throughput")
    spec = {"archs": ["dcgan", "srresnet"], "kernels": [5, 3],
            "presets": ["demo-dcgan-thin", "demo-stylegan2"]}
    found = [(name, config.model.arch, config.model.width, kernels)
             for name, config, kernels in throughput.configurations(spec)]
    # dcgan is rebuilt with each kernel size; srresnet has none to set; a preset keeps its own
    # (demo-dcgan-thin: 3 x 3, its generator half as wide as demo-dcgan's).
    assert found == [("demo-dcgan", "dcgan", 0.125, [5, 3]),
                     ("demo-srresnet", "srresnet", 0.25, [None]),
                     ("demo-dcgan-thin", "dcgan", 0.0625, [3]),
                     ("demo-stylegan2", "stylegan2", 0.125, [None])]


def load_averages(monkeypatch):
    # The script turns oneDNN on for its own process; the test's environment is restored.
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    return load_script("averages")


def test_side_averages_follow_the_runs_arithmetic(monkeypatch):
    averages = load_averages(monkeypatch)
    import keras

    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    side = averages.SideAverages({"flat": (64, 0.0), "ramped": (64, 0.5)}, batch=16)
    side.set_model(types.SimpleNamespace(generator=generator))
    for step in (1, 2, 3):  # The weights after each update: all equal to the step's number.
        for weight in generator.trainable_weights:
            weight.assign(np.full(weight.shape, float(step)))
        side.on_train_batch_end(step - 1)
    assert side.seen == 48
    # Half-life 64 images, 16 a batch: beta = 0.5 ** 0.25 at each update after the first.
    beta = 0.5**0.25
    flat = (1 * beta + 2 * (1 - beta)) * beta + 3 * (1 - beta)
    # Ramp-up 0.5: the half-life is at most half the images seen, 16 then 24.
    first, second = 0.5 ** (16 / 16), 0.5 ** (16 / 24)
    ramped = (1 * first + 2 * (1 - first)) * second + 3 * (1 - second)
    for name, expected in (("flat", flat), ("ramped", ramped)):
        for average in side.averages[name]:
            np.testing.assert_allclose(average, expected, rtol=1e-6)


def test_averages_table_and_arguments(monkeypatch):
    averages = load_averages(monkeypatch)
    record = {"machine": "test CPU", "preset": "demo-dcgan-thin", "settings": {},
              "minutes": 9.0, "seeds": [0, 1], "names": ["trained weights", "half-life 500"],
              "images": {"0": 76064, "1": 76224},
              "ratios": {"0": {"trained weights": 3.13, "half-life 500": 3.0},
                         "1": {"trained weights": 3.01, "half-life 500": 2.5}}}
    lines = averages.table(record).splitlines()
    assert lines[4] == "| images | 76,064 | 76,224 | |"
    assert lines[5] == "| trained weights | 3.13 | 3.01 | 3.07 |"
    assert lines[6] == "| half-life 500 | 3.00 | 2.50 | 2.75 |"
    assert averages.parse_half_life("2000:0.05") == (2000.0, 0.05)
    assert averages.parse_half_life("500") == (500.0, 0.0)
    with pytest.raises(argparse.ArgumentTypeError, match="IMAGES"):
        averages.parse_half_life("long")
    record.update(minutes=None, epochs=39)
    assert "39 epochs per seed" in averages.table(record).splitlines()[0]


def test_common_settings_and_ratio():
    common = load_script("common")
    assert common.parse_setting("upsample=bilinear") == ("upsample", "bilinear")
    assert common.parse_setting("width=0.0625") == ("width", 0.0625)
    assert common.parse_setting("minutes=null") == ("minutes", None)
    assert common.parse_setting("augment=[\"translation\"]") == ("augment", ["translation"])
    for bad in ("bilinear", "=3"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE"):
            common.parse_setting(bad)
    metrics = {"swd": {"mean": 13.0}, "reference": {"swd": {"mean": 5.2}}}
    assert common.swd_ratio(metrics) == pytest.approx(2.5)


def test_peer_table_reads_each_point():
    peers = load_script("peers")
    record = {"machine": "test CPU", "date": "2026-01-01", "n": 64, "runs": {"ours": {
        "name": "keras-mrigan demo-dcgan",
        "points": [peers.point(2.0, 3200, 12.0, 4.0, {"sigma_per_image": 0.1, "rho": 0.78,
                                                      "delta": 14})]}}}
    lines = peers.table(record).splitlines()
    assert lines[0] == "Machine: test CPU; 2026-01-01; n = 64 samples."
    assert lines[-1] == "| keras-mrigan demo-dcgan | 2.0 | 3200 | 12.00 | 3.00 | 0.1 | 0.78 | 14 |"


@pytest.mark.slow
def test_throughput_counts_flops_in_proportion_to_the_batch(tmp_path):
    """One fresh worker process: the demo DCGAN's step at batches 8 and 16. Every counted
    convolution and matrix product scales with the batch, so the count doubles exactly."""
    spec = {"isa": "native", "threads": [0, 0], "archs": ["dcgan"], "steps": 1,
            "batches": [8, 16], "kernels": [5], "jit": ["off"], "data": ["memory"],
            "short_run": False, "rate_repeats": 1}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, str(BENCHMARKS / "throughput.py"), "--worker",
                    str(tmp_path / "spec.json"), str(tmp_path / "result.json")],
                   check=True, env=env, capture_output=True, timeout=300)
    result = json.loads((tmp_path / "result.json").read_text())
    small, large = result["rows"]
    assert (small["batch"], large["batch"]) == (8, 16)
    assert large["gflop_per_step"] == pytest.approx(2 * small["gflop_per_step"], rel=1e-9)
    assert small["gflop_per_step_all_ops"] > small["gflop_per_step"] > 0
    conv5 = max(shape["rate"] for shape in result["rates"]["conv5"])
    for row in (small, large):
        assert (row["preset"], row["kernel"], row["jit"]) == ("demo-dcgan", 5, "off")
        assert row["images_per_s"] == pytest.approx(row["batch"] / row["step_s"])
        assert row["of_conv"] == pytest.approx(row["gflop_per_s"] * 1e9 / conv5)
        assert row["trace_s"] > 0


def test_new_subjects_writes_real_slices_that_read_back_and_tables_its_draws(tmp_path):
    new_subjects = load_script("new_subjects")
    from keras_mrigan.data.readers import read_image

    images = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16)).astype(np.float32)
    new_subjects.write_pngs(images, tmp_path / "set")
    back = np.stack([read_image(tmp_path / "set" / f"slice_{i:05d}.png") for i in range(3)])
    # Half a 16-bit step (and float32 rounding): not the 8-bit step of 2 / 255.
    np.testing.assert_allclose(back, images, atol=1.1 / 65535)
    row = {"swd_over_floor": 2.0, "levels_over_floor": [1.5, 1.5, 3.0], "sigma_per_image": 0.1,
           "rho": 0.76, "delta": 15, "memorized": 0.02}
    record = {"sets": {"64 other subjects": [row, {**row, "swd_over_floor": 2.2,
                                                    "levels_over_floor": [1.7, 1.5, 3.4]}]}}
    lines = new_subjects.table(record).splitlines()
    assert lines[2] == ("| 64 other subjects | 2.00 / 2.20 | 2.10 | 1.6 / 1.5 / 3.2 | 0.100 "
                        "| 0.760 | 15 | 2.0% |")


def test_refit_data_and_table():
    refit = load_script("refit")
    images, masks, labels = refit.data(16, 8)
    assert images.shape == (8, 16, 16, 1) and masks.shape == (8, 16, 16)
    assert set(np.unique(masks)) == {0, 1} and set(labels) <= {0, 1}
    # The disc is the bright part of each image.
    assert images[masks == 1].mean() > 0.5 and images[masks == 0].mean() < -0.5
    made = {"sizes": {"tiny": {"U-Net": {"kept": [0.2, 0.4, 0.3],
                                          "cleared": [1.5, 1.2, 1.8]}}}}
    assert refit.table(made).splitlines()[2] == "| tiny | U-Net | 0.30 | 1.50 | 5.0x |"
