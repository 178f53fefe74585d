"""One seed mapping: image ``i`` of seed ``s`` is the same float32 image from ``GAN.generate``,
``keras-mrigan generate``, ``runs.Sampler``, evaluation of a run folder, the ``.keras`` file
and the exported SavedModel (the last two loaded in one fresh process)."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from conftest import by_blocks, head_volume, save_nifti

from keras_mrigan import evaluation, export, training
from keras_mrigan.cli import main
from keras_mrigan.config import RunConfig
from keras_mrigan.generate import generate
from keras_mrigan.models.latents import seed_latents
from keras_mrigan.runs import Sampler

SEED, N = 7, 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny unconditional DCGAN with a moving average, trained for one epoch."""
    root = tmp_path_factory.mktemp("seeds")
    for i in range(2):
        save_nifti(root / "data" / f"s{i}.nii.gz", head_volume(seed=i))
    config = RunConfig().replace(
        source=str(root / "data"), resolution=16, batch_size=8, latent_dim=8, width=1 / 16,
        loss="dragan", epochs=1, sample_count=4, jit_compile=False, ema_half_life_images=30)
    gan = training.train(config, root / "run", verbose=0)
    return root / "run", gan


# Loads the .keras file and the SavedModel in one process (one TensorFlow start-up) and saves
# image i of seed SEED from both.
FRESH = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    import keras
    import keras_mrigan  # Registers the package's classes for load_model.
    keras_file, saved_model, out, seed, n = sys.argv[1:6]
    seed, n = int(seed), int(n)
    gan = keras.models.load_model(keras_file)
    served = tf.saved_model.load(saved_model).signatures["generate_from_seed"]
    by_seed = served(seed=tf.constant(np.arange(seed, seed + n, dtype=np.int64)))["images"]
    np.savez(out, keras=gan.generate(n, seed=seed), savedmodel=by_seed.numpy())
""")


@pytest.mark.slow
def test_every_path_gives_the_same_images_for_a_seed(run, tmp_path, capsys):
    folder, gan = run
    api = gan.generate(N, seed=SEED)
    assert api.dtype == np.float32 and api.shape == (N, 16, 16, 1)
    # The mapping itself: image i is the sampling generator at seed_latents([SEED + i]),
    # run on blocks of 64 rows.
    by_hand = by_blocks(gan.sampling_generator(), seed_latents(np.arange(SEED, SEED + N), 8))
    np.testing.assert_array_equal(api, by_hand)
    np.testing.assert_array_equal(gan.generate(1, seed=SEED + 3), api[3:4])
    # The command line, run in this process.
    assert main(["generate", "--model", str(folder), "--n", str(N), "--seed", str(SEED),
                 "--format", "npy", "--out", str(tmp_path / "cli")]) == 0, \
        capsys.readouterr().err
    np.testing.assert_array_equal(np.load(tmp_path / "cli" / "generated.npy"), api)
    # The Sampler and generate() of the library, in batches that split the seeds unevenly.
    np.testing.assert_array_equal(generate(Sampler(folder), N, seed=SEED, batch_size=2,
                                           progress=False), api)
    # Evaluation of the run folder scores these very images.
    evaluated = evaluation.load_generated(folder, n=N, seed=SEED)
    np.testing.assert_array_equal(evaluated.images, api[..., 0])
    # The .keras file and the SavedModel in a fresh process.
    saved = export.export_generator(folder, "seeds", base=tmp_path / "models")
    out = tmp_path / "fresh.npz"
    done = subprocess.run([sys.executable, "-c", FRESH, str(folder / "model.keras"), str(saved),
                           str(out), str(SEED), str(N)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = np.load(out)
    np.testing.assert_array_equal(fresh["keras"], api)
    np.testing.assert_array_equal(fresh["savedmodel"], api)
    # The SavedModel through the library's Sampler, in this process.
    np.testing.assert_array_equal(generate(Sampler(saved), N, seed=SEED, progress=False), api)
    meta = json.loads((saved / "assets" / "metadata.json").read_text())
    assert "as GAN.generate and keras-mrigan generate do" in meta["signatures"][
        "generate_from_seed"]
    keras.backend.clear_session()


def test_the_raw_generator_differs_from_the_average_and_maps_seeds_alike(run):
    folder, gan = run
    raw = gan.generate(3, seed=SEED, raw=True)
    # One epoch moves the average little, but it is another generator.
    assert 0 < np.abs(raw - gan.generate(3, seed=SEED)).max() < 1e-3
    np.testing.assert_array_equal(
        generate(Sampler(folder, raw=True), 3, seed=SEED, progress=False), raw)


def test_seed_errors_are_the_same_on_every_path(run, tmp_path):
    folder, gan = run
    message = "Seeds must be integers from 0 to 2^63 - 1; seed=-1 with n=2"
    with pytest.raises(ValueError, match=message.replace("^", r"\^")):
        gan.generate(2, seed=-1)
    with pytest.raises(ValueError, match=message.replace("^", r"\^")):
        generate(Sampler(folder), 2, seed=-1, progress=False)
    with pytest.raises(ValueError, match="`n` must be a positive integer. Received: n=0"):
        generate(Sampler(folder), 0, progress=False)
