"""Shared fixtures. TensorFlow is imported at most once per session, by the tests that need it."""

import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's oneDNN kernels on every CPU, as the keras-mrigan command runs them.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

# Seconds each test file took (setup, call and teardown), written by `--store-durations`.
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser):
    parser.addoption("--store-durations", action="store_true",
                     help=f"write each test file's seconds to {DURATIONS.name}, the order "
                          "in which files are handed to parallel workers")


def pytest_collection_modifyitems(config, items):
    """Puts the files that take longest first. Parallel workers (`-n 2 --dist loadfile
    --no-loadscope-reorder`) take whole files in collection order: a long file left for the
    end keeps one worker busy while the other has nothing to do. A file not yet timed counts
    as the median file."""
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    default = statistics.median(seconds.values()) if seconds else 0.0
    first_seen = {}
    for item in items:
        first_seen.setdefault(_file_of(item.nodeid), len(first_seen))
    items.sort(key=lambda item: (-seconds.get(_file_of(item.nodeid), default),
                                 first_seen[_file_of(item.nodeid)]))


def _file_of(nodeid):
    return nodeid.split("::", 1)[0]


class _DurationStore:
    """Adds up each file's test durations (reports reach the main process from every
    worker). At the end of the session it prints each worker's busy time (how evenly the
    files were shared) and, with `--store-durations`, writes the files' seconds."""

    def __init__(self, store):
        self.store = store
        self.files, self.workers = defaultdict(float), defaultdict(float)

    def pytest_runtest_logreport(self, report):
        self.files[_file_of(report.nodeid)] += report.duration
        node = getattr(report, "node", None)
        self.workers[getattr(getattr(node, "gateway", None), "id", "main")] += report.duration

    def pytest_terminal_summary(self, terminalreporter):
        if not self.files:
            return
        busy = ", ".join(f"{worker} {s:.0f} s" for worker, s in sorted(self.workers.items()))
        terminalreporter.write_line(f"busy time per worker: {busy}")
        if self.store:
            previous = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
            merged = {**previous, **{name: round(s, 2) for name, s in self.files.items()}}
            DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
            terminalreporter.write_line(f"wrote {DURATIONS.name} ({len(self.files)} files)")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # The main process: workers' reports reach it.
        config.pluginmanager.register(_DurationStore(config.getoption("store_durations")),
                                      "keras_mrigan_durations")


@pytest.fixture(autouse=True, scope="module")
def _fresh_keras_state_per_module():
    """Clears Keras' global state (and collects garbage) after each test module: a session
    that keeps every earlier module's graphs and objects makes later ones slower."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


def head_volume(shape=(24, 28, 20), empty=3, seed=0):
    """A synthetic 'head': a noisy ellipsoid of tissue with ``empty`` blank slices at both ends
    of the last (axial) axis. Intensities in arbitrary scanner units (0..1000)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape, dtype=np.float32)
    centre = (np.array(shape, dtype=np.float32) - 1) / 2
    radii = np.array([shape[0] / 2.2, shape[1] / 2.2, (shape[2] - 2 * empty) / 2])
    r2 = sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(3))
    volume = np.where(r2 <= 1.0, 600.0 + 300.0 * np.cos(3 * r2), 0.0)
    volume += rng.normal(0, 5, size=shape) * (r2 <= 1.0)
    volume[..., :empty] = 0
    volume[..., shape[2] - empty :] = 0
    return volume.astype(np.float32)


def save_nifti(path, volume, affine=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(volume, np.eye(4) if affine is None else affine), path)
    return path


def save_analyze(hdr_path, volume):
    hdr_path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.AnalyzeImage(volume.astype(np.int16), np.eye(4)), hdr_path)
    return hdr_path


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def oasis_png_tree(tmp_path):
    """The OASIS PNG release layout: slice folders plus ``seg`` mask siblings."""
    rng = np.random.default_rng(1)
    root = tmp_path / "keras_png_slices_data"
    for split, n in (("train", 5), ("validate", 2), ("test", 1)):
        for i in range(n):
            image = rng.integers(0, 256, size=(40, 32), dtype=np.uint8)
            save_png(root / f"keras_png_slices_{split}" / f"case_{i:03d}_slice_0.nii.png", image)
            mask = (image > 128).astype(np.uint8) * 85
            save_png(root / f"keras_png_slices_seg_{split}" / f"seg_{i:03d}_slice_0.nii.png", mask)
    return root


@pytest.fixture
def oasis_analyze_tree(tmp_path):
    """Two OASIS-1 subjects in the release layout, with FSL_SEG masks beside the images."""
    root = tmp_path / "oasis1"
    for subject in (1, 2):
        name = f"OAS1_{subject:04d}_MR1"
        t88 = root / name / "PROCESSED" / "MPRAGE" / "T88_111"
        save_analyze(t88 / f"{name}_mpr_n4_anon_111_t88_masked_gfc.hdr", head_volume(seed=subject))
        seg = root / name / "FSL_SEG"
        save_analyze(seg / f"{name}_mpr_n4_anon_111_t88_masked_gfc_fseg.hdr",
                     (head_volume(seed=subject) > 0).astype(np.int16) * 3)
    return root


@pytest.fixture
def tiny_config(tmp_path):
    """A RunConfig of a tiny 16 x 16 DCGAN on two synthetic NIfTI heads (28 slices), 2 epochs."""
    from keras_mrigan.config import RunConfig

    for i in range(2):
        save_nifti(tmp_path / "data" / f"s{i}.nii.gz", head_volume(seed=i))
    return RunConfig().replace(
        source=str(tmp_path / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
        loss="dragan", epochs=2, sample_count=4, jit_compile=False,
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished run shared by the tests that only read it: a 16 x 16 DCGAN (DRAGAN, normal
    latents, a moving average of the generator) trained for one epoch on two synthetic heads
    (``ROOT/data``). Returns ``(run folder, GAN)``; a test that writes into the folder copies
    it first."""
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig

    root = tmp_path_factory.mktemp("tiny_run")
    for i in range(2):
        save_nifti(root / "data" / f"s{i}.nii.gz", head_volume(seed=i))
    config = RunConfig().replace(
        source=str(root / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
        loss="dragan", epochs=1, sample_count=4, jit_compile=False,
        latent_distribution="normal", ema_half_life_images=30)
    gan = training.train(config, root / "run", verbose=0)
    return root / "run", gan


def free_ports(n):
    """``n`` distinct free TCP ports on 127.0.0.1."""
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_process(argv, env=None, stdout=None, stderr=None):
    """Starts ``argv`` as a process with TensorFlow's logs quiet (``env`` adds to or, with a
    value ``None``, removes variables of this process's environment); its output goes to
    pipes unless ``stdout``/``stderr`` say otherwise."""
    merged = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    merged = {k: v for k, v in merged.items() if v is not None}
    return subprocess.Popen(argv, env=merged, text=True,
                            stdout=subprocess.PIPE if stdout is None else stdout,
                            stderr=subprocess.PIPE if stderr is None else stderr)


def finish(process, timeout=300):
    """Waits for a process of ``start_process``: ``subprocess.CompletedProcess`` with its
    output (the process is killed if it outlives ``timeout``)."""
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def run_concurrently(commands, timeout=300):
    """Runs ``[argv or (argv, extra_env), ...]`` at the same time (each pays TensorFlow's
    start-up; two cores do two at once) and returns their ``CompletedProcess`` in order."""
    processes = [start_process(*([c, None] if isinstance(c[0], str) else c)) for c in commands]
    return [finish(p, timeout) for p in processes]


def run_together(commands, timeout):
    """Runs ``[(argv, extra_env), ...]`` as concurrent processes (TF logs quiet) and returns
    their outputs once all have exited; fails showing the output of any that failed."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    processes = [subprocess.Popen(argv, env={**env, **extra}, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for argv, extra in commands]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, output in zip(processes, outputs, strict=True):
        assert p.returncode == 0, output[-3000:]
    return outputs


def poison_discriminator(epoch, batch):
    """A callback that turns a discriminator weight into NaN before one batch, once."""
    import keras

    class PoisonDiscriminator(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch, self.done = None, False

        def on_epoch_begin(self, epoch_, logs=None):
            self.epoch = epoch_

        def on_train_batch_begin(self, batch_, logs=None):
            if (self.epoch, batch_) == (epoch, batch) and not self.done:
                kernel = self.model.discriminator.trainable_weights[0]
                kernel.assign(np.full(kernel.shape, np.nan, "float32"))
                self.done = True

    return PoisonDiscriminator()


def by_blocks(generator, latents, labels=None, block=64):
    """A generator's images in inference mode, clipped, computed as every sampling path
    computes them: on blocks of exactly ``block`` rows, the last padded with copies of its
    last row (CPU kernels may round differently for another batch size)."""
    latents = np.asarray(latents, np.float32)
    pad = -len(latents) % block
    latents = np.concatenate([latents, np.repeat(latents[-1:], pad, axis=0)])
    if labels is not None:
        labels = np.asarray(labels, np.int32)
        labels = np.concatenate([labels, np.repeat(labels[-1:], pad)])
    outputs = []
    for start in range(0, len(latents), block):
        inputs = latents[start : start + block]
        if labels is not None:
            inputs = [inputs, labels[start : start + block]]
        outputs.append(np.asarray(generator(inputs, training=False), np.float32))
    return np.clip(np.concatenate(outputs)[: len(latents) - pad], -1.0, 1.0)


class StepClock:
    """A clock that advances one second each time it is read: a time budget reads it once
    when it starts and once after every batch, so a budget of k seconds lasts k batches."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def assert_same_weights(a, b):
    """Two GANs' generator, discriminator and moving-average weights are bit-equal."""
    import keras

    def weights(gan):
        networks = [gan.generator, gan.discriminator]
        if gan.ema_generator is not None:
            networks.append(gan.ema_generator)
        return {w.path: keras.ops.convert_to_numpy(w) for net in networks for w in net.weights}

    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for path in wa:
        np.testing.assert_array_equal(wa[path], wb[path], err_msg=path)
