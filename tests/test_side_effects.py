"""Library calls leave the process as they found it: random generators, op determinism,
matplotlib's backend, standard output."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.common import global_state
from keras.src.random import seed_generator
from keras.src.utils import rng_utils
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config
from tensorflow.python.framework import random_seed

from keras_mrigan.utils import op_determinism, random_scope


@pytest.fixture(autouse=True)
def _keep_global_state():
    """These tests set global seeds on purpose; put everything back for the other tests."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    ctx = context.context()
    tf_seed, tf_rng = ctx._seed, ctx.__dict__.get("_rng")
    keras_seed = global_state.get_global_attribute(rng_utils.GLOBAL_RANDOM_SEED)
    keras_generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    determinism = tf_config.is_op_determinism_enabled()
    yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)
    ctx._seed = tf_seed
    if tf_rng is None:
        ctx.__dict__.pop("_rng", None)
    else:
        ctx._rng = tf_rng
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, keras_seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, keras_generator)
    (tf_config.enable_op_determinism if determinism else tf_config.disable_op_determinism)()


def _draws():
    """One draw from each generator a library might touch."""
    return (
        random.random(),
        float(np.random.random()),
        float(tf.random.uniform([])),
        float(keras.random.uniform([])),
    )


def _tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def test_random_scope_seeds_like_set_random_seed():
    keras.utils.set_random_seed(5)
    expected_weights = _tiny_model().get_weights()
    expected = _draws()[:2], random_seed.get_seed(None), random_seed.get_seed(7)
    with random_scope(5) as seed:
        assert seed == 5 and isinstance(seed, int)
        weights = _tiny_model().get_weights()
        inside = _draws()[:2], random_seed.get_seed(None), random_seed.get_seed(7)
    # Python's and numpy's draws as under set_random_seed, and the seeds TensorFlow gives its
    # random ops (a tf.data shuffle's, with or without a seed of its own); Keras' unseeded
    # draw comes from its global SeedGenerator, which the scope leaves to the caller.
    assert inside == expected and expected[2][0] == 5
    for got, want in zip(weights, expected_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    # A different seed gives different weights.
    with random_scope(6):
        other = _tiny_model().get_weights()
    assert not np.array_equal(other[0], expected_weights[0])


def test_random_scope_keeps_tensorflows_compiled_kernels(monkeypatch):
    # tf.random.set_seed clears TensorFlow's kernel cache, and every compiled function then
    # optimizes its graph again on its next call; the scope sets the same seed and keeps it.
    cleared = []
    monkeypatch.setattr(context.pywrap_tfe, "TFE_ContextClearCaches",
                        lambda handle: cleared.append(handle))
    tf.random.set_seed(1)
    assert len(cleared) == 1
    with random_scope(2):
        assert context.global_seed() == 2
    assert len(cleared) == 1 and context.global_seed() == 1


def test_random_scope_restores_every_generator():
    keras.utils.set_random_seed(11)
    random.random()  # Advance each generator so its state is not the fresh one.
    np.random.random()
    tf.random.uniform([])
    keras.random.uniform([])
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    keras_generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    keras_state = keras.ops.convert_to_numpy(keras_generator.state.value).copy()
    expected = (random.random(), float(np.random.random()))
    random.setstate(python_state)
    np.random.set_state(numpy_state)

    with random_scope(3):
        # What a run does: Python's, numpy's and TensorFlow's generators, and Keras' initializers
        # (whose seeds come from Python's); never an unseeded keras.random call.
        random.random(), np.random.random(), tf.random.uniform([])
        _tiny_model()

    assert random.getstate() == python_state
    restored = np.random.get_state()
    assert restored[0] == numpy_state[0] and restored[2:] == numpy_state[2:]
    np.testing.assert_array_equal(restored[1], numpy_state[1])
    assert (random.random(), float(np.random.random())) == expected
    assert context.global_seed() == 11
    assert rng_utils.get_random_seed() == 11
    # Keras' global generator is the same object, its state untouched.
    after = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    assert after is keras_generator
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(after.state.value), keras_state)


def test_random_scope_continues_the_outer_tf_op_seed_sequence():
    # With global seed 21, unseeded TF ops draw their operation seeds from one sequence;
    # a scope in between must not shift that sequence.
    tf.random.set_seed(21)
    first = context.internal_operation_seed()
    expected_next = context.internal_operation_seed()
    tf.random.set_seed(21)
    assert context.internal_operation_seed() == first
    with random_scope(4):
        context.internal_operation_seed()
        context.internal_operation_seed()
    assert context.internal_operation_seed() == expected_next


def test_random_scope_restores_an_unset_seed():
    context.context()._seed = None
    context.context().__dict__.pop("_rng", None)
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, None)
    with random_scope(8):
        assert context.global_seed() == 8
        # Keras' own global seed serves only its unseeded calls, which the package does not
        # make: the scope leaves it alone.
        assert rng_utils.get_random_seed() is None
    assert context.global_seed() is None
    assert rng_utils.get_random_seed() is None


def test_random_scope_restores_after_an_error():
    random.seed(1)
    state = random.getstate()
    with pytest.raises(RuntimeError, match="boom"), random_scope(2):
        random.random()
        raise RuntimeError("boom")
    assert random.getstate() == state


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None])
def test_random_scope_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer. Received: seed="):
        with random_scope(seed):
            pass


def test_random_scope_accepts_numpy_integers():
    with random_scope(np.int64(5)) as seed:
        assert seed == 5 and type(seed) is int


@pytest.mark.parametrize("before", [False, True])
def test_op_determinism_restores_the_previous_setting(before):
    (tf_config.enable_op_determinism if before else tf_config.disable_op_determinism)()
    with op_determinism(True) as inside:
        assert inside is True
        assert tf_config.is_op_determinism_enabled()
    assert tf_config.is_op_determinism_enabled() is before
    with op_determinism(False) as inside:
        assert inside is before
    assert tf_config.is_op_determinism_enabled() is before
    with pytest.raises(RuntimeError), op_determinism(True):
        raise RuntimeError
    assert tf_config.is_op_determinism_enabled() is before


# One process: the caller seeds its generators, then calls the library; after each call the
# process's state is recorded, with whatever the call wrote to standard output.
LIBRARY_CALLS = r"""
import contextlib, io, json, random, sys
from pathlib import Path

import numpy as np

random.seed(123)
np.random.seed(456)

import matplotlib
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config
from tensorflow.python.framework import random_seed

tf.random.set_seed(789)
from conftest import head_volume, save_nifti

from keras_mrigan import evaluation, plotting, training, utility
from keras_mrigan.config import RunConfig
from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.metrics import ReferenceStats

root = Path(sys.argv[1])


def state():
    numpy_state = np.random.get_state()
    return {
        "python random": list(map(repr, random.getstate())),
        "numpy global generator": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "tensorflow global seed": context.global_seed(),
        "matplotlib backend": repr(dict.__getitem__(matplotlib.rcParams, "backend")),
        "pyplot loaded": "matplotlib.pyplot" in sys.modules,
        "op determinism": bool(tf_config.is_op_determinism_enabled()),
    }


steps = {"start": {"state": state(), "stdout": ""}}


def step(name, call):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = call()
    steps[name] = {"state": state(), "stdout": out.getvalue()}
    return value


for i in range(2):
    save_nifti(root / "data" / f"s{i}.nii.gz", head_volume(seed=i))
config = RunConfig().replace(
    source=str(root / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
    loss="dragan", epochs=1, sample_count=4, jit_compile=False, deterministic=True)
gan = step("train", lambda: training.train(config, root / "run", verbose=0))
generated = step("generate", lambda: gan.generate(16, seed=0))
real, subjects = load_slices(config.data.source, 16, return_subjects=True)


def evaluate():
    stats = ReferenceStats.fit(real, n=16, subjects=subjects)
    return evaluation.evaluate(generated, stats, out=root / "evaluation")


step("evaluate", evaluate)
labels = (np.arange(len(real)) % 2).astype(np.int32)


def classify():
    model = utility.train_classifier(real, labels, 2, seed=0, epochs=1)
    return utility.scores(model, real, labels, 2)


step("utility classifier", classify)
summary = utility.summarize({row: {m: [0.5, 0.6] for m in utility.MEASURES}
                             for row in utility.ROWS})
study = {"regimes": {"1": summary}, "regime_info": {"1": {"subjects": 2, "slices": 28}},
         "test_subjects": ["a"], "seeds": [0, 1], "class_names": ["x", "y"]}
step("utility report", lambda: utility.write_report(study, root / "utility"))
step("plot", lambda: plotting.plot_history({"d_loss": [1.0, 0.5], "g_loss": [0.5, 1.0]},
                                           root / "curves.png"))
print(json.dumps(steps))
"""


@pytest.mark.slow
def test_library_calls_leave_the_process_as_they_found_it(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tests), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", LIBRARY_CALLS, str(tmp_path)], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    start = steps.pop("start")["state"]
    assert start["op determinism"] is False and start["tensorflow global seed"] == 789
    changed = {name: sorted(key for key in start if step["state"][key] != start[key])
               for name, step in steps.items()}
    printed = {name: step["stdout"] for name, step in steps.items() if step["stdout"]}
    assert list(steps) == ["train", "generate", "evaluate", "utility classifier",
                           "utility report", "plot"]
    assert changed == {name: [] for name in steps}, f"global state changed by: {changed}"
    assert printed == {}, f"printed to stdout by: {printed}"
    assert (tmp_path / "evaluation" / "metrics.json").exists()
    assert (tmp_path / "utility" / "utility.png").exists() and (tmp_path / "curves.png").exists()
