import subprocess
import sys

import numpy as np
import pytest

import keras_mrigan


def test_public_names_resolve():
    for name in keras_mrigan.__all__:
        assert getattr(keras_mrigan, name) is not None


def test_import_does_not_load_tensorflow():
    code = "import sys, keras_mrigan; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


LOAD_WITH_KERAS = """
import sys
import numpy as np
{imports}
assert "keras_mrigan.models.gan" in sys.modules  # Registered as Keras loaded.
latents = np.load(sys.argv[1])
for path in sys.argv[2:]:
    gan = keras.saving.load_model(path, safe_mode=True)
    np.save(path + ".out.npy", keras.ops.convert_to_numpy(gan.generator(latents)))
"""


@pytest.fixture(scope="module")
def saved_gans(tmp_path_factory):
    """A tiny compiled GAN of each architecture saved as ``.keras``, with the generator's
    images for fixed latents."""
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig

    root = tmp_path_factory.mktemp("registration")
    latents = np.random.default_rng(0).uniform(-1, 1, (3, 8)).astype(np.float32)
    np.save(root / "latents.npy", latents)
    saved = {}
    for arch in ("dcgan", "srresnet", "progan"):
        config = RunConfig().replace(arch=arch, resolution=16, batch_size=8, latent_dim=8,
                                     width=1 / 16, loss="wgan-gp", jit_compile=False)
        gan = training.compile_gan(training.build_gan(config, resolution=16), config)
        gan.save(root / f"{arch}.keras")
        saved[arch] = np.asarray(gan.generator(latents))
    return root, saved


@pytest.mark.slow
@pytest.mark.parametrize("imports", [
    "import keras_mrigan\nimport keras",
    "import keras_mrigan\nimport tensorflow\nimport keras",
    "import keras\nimport keras_mrigan",
], ids=["package-first", "tensorflow-between", "keras-first"])
def test_keras_load_model_after_importing_the_package(saved_gans, imports):
    root, expected = saved_gans
    paths = [str(root / f"{arch}.keras") for arch in expected]
    subprocess.run([sys.executable, "-c", LOAD_WITH_KERAS.format(imports=imports),
                    str(root / "latents.npy"), *paths], check=True, capture_output=True)
    for arch, images in expected.items():
        np.testing.assert_array_equal(np.load(root / f"{arch}.keras.out.npy"), images)


def test_without_the_package_keras_cannot_find_the_classes(saved_gans):
    root, _ = saved_gans
    code = "import keras, sys; keras.saving.load_model(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(root / "dcgan.keras")],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "Could not locate class 'GAN'" in done.stderr
