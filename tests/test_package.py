import sys

import numpy as np
import pytest

import keras_mrigan
from tests.conftest import finish, start_process


def test_public_names_resolve():
    for name in keras_mrigan.__all__:
        assert getattr(keras_mrigan, name) is not None


REGISTERED = """
import json, sys
import keras
import keras_mrigan
print(json.dumps({
    "registered": sorted(name for name in keras.saving.get_custom_objects()
                         if name.startswith("keras_mrigan>")),
    "hooks": [type(finder).__module__ for finder in sys.meta_path
              if type(finder).__module__.startswith("keras_mrigan")],
}))
"""

# Every Keras object the package defines, as Keras' registry names it.
EXPECTED_REGISTERED = {
    "keras_mrigan>GAN", "keras_mrigan>MinibatchStdDev", "keras_mrigan>PixelNorm",
    "keras_mrigan>EqualizedConv2D", "keras_mrigan>EqualizedDense", "keras_mrigan>WeightedSum",
    "keras_mrigan>PixelShuffle", "keras_mrigan>ICNR", "keras_mrigan>Projection",
}


def test_a_plain_import_registers_every_keras_object_without_an_import_hook(processes):
    import json

    out = finish(processes["registered"])
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert EXPECTED_REGISTERED <= set(found["registered"])
    assert found["hooks"] == []


def test_registered_names_are_the_classes():
    import keras

    for name in EXPECTED_REGISTERED:
        cls = keras.saving.get_registered_object(name)
        assert cls is getattr(keras_mrigan, name.split(">")[1], cls)
        assert keras.saving.get_registered_name(cls) == name


def test_a_former_path_read_inside_the_package_fails_the_tests():
    # pyproject's filterwarnings turns the package's own use of a deprecated path into an
    # error (the warning is attributed to the module that reads the name); a user's code only
    # gets the warning.
    code = compile("from keras_mrigan import export\nexport.load_run\n", "reader", "exec")
    with pytest.raises(DeprecationWarning, match="`keras_mrigan.export.load_run` moved to"):
        exec(code, {"__name__": "keras_mrigan.reader"})
    with pytest.warns(DeprecationWarning, match="`keras_mrigan.runs.load_run`"):
        exec(code, {"__name__": "users_notebook"})


def test_old_import_paths_keep_working():
    from keras_mrigan import data, utility
    from keras_mrigan.data import errors, labels, readers
    from keras_mrigan.layers import conditioning

    assert readers.DataError is data.DataError is errors.DataError is keras_mrigan.DataError
    with pytest.warns(DeprecationWarning, match="keras_mrigan.layers.conditioning.class_index"):
        assert labels.class_index is conditioning.class_index
    for name in ("study", "train_classifier", "scores", "subject_split", "subset_subjects",
                 "check_leakage", "generator_subjects", "summarize", "write_report", "plot",
                 "gan_synthesizer", "regime_config", "run_regime", "Regime", "ROWS", "RECIPES",
                 "MEASURES", "CLASSIFIER_EPOCHS", "CLASSIFIER_RESOLUTION", "build_classifier",
                 "classic_augmentation", "_finished_generator", "_subject_classes"):
        assert getattr(utility, name) is not None, name
    assert utility.MEASURES == ("accuracy", "balanced_accuracy", "auc")
    assert utility.CLASSIFIER_EPOCHS == 15


# Packages whose import may stay inside the function that needs them: optional, heavy, or
# needed by one rarely used path.
LAZY_OK = {"pydicom", "nilearn", "PIL", "matplotlib", "scipy", "sklearn", "keras_tuner",
           "tensorflow_serving"}


def _function_imports(path):
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    names = [alias.name for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    names = [inner.module or ""]
                else:
                    continue
                found += [(path.name, node.name, name) for name in names
                          if name.split(".")[0] not in LAZY_OK]
    return found


def test_no_imports_inside_functions_of_the_lower_layers():
    from pathlib import Path

    root = Path(keras_mrigan.__file__).parent
    files = [root / "__init__.py", root / "utils.py", root / "plotting.py",
             root / "augment.py", *sorted((root / "data").glob("*.py")),
             *sorted((root / "utility").glob("*.py"))]
    assert [found for path in files for found in _function_imports(path)] == []


LOAD_WITH_KERAS = """
import sys
import numpy as np
{imports}
assert "keras_mrigan.models.gan" in sys.modules  # Registered as Keras loaded.
latents = np.load(sys.argv[1])
for path in sys.argv[3:]:
    gan = keras.saving.load_model(path, safe_mode=True)
    np.save(path + "." + sys.argv[2] + ".npy",
            keras.ops.convert_to_numpy(gan.generator(latents)))
"""


@pytest.fixture(scope="module")
def saved_gans(tmp_path_factory):
    """A tiny compiled GAN of each architecture saved as ``.keras``, with the generator's
    images for fixed latents."""
    from keras_mrigan import builders
    from keras_mrigan.config import RunConfig

    root = tmp_path_factory.mktemp("registration")
    latents = np.random.default_rng(0).uniform(-1, 1, (3, 8)).astype(np.float32)
    np.save(root / "latents.npy", latents)
    saved = {}
    for arch in ("dcgan", "srresnet", "progan"):
        config = RunConfig().replace(arch=arch, resolution=16, batch_size=8, latent_dim=8,
                                     width=1 / 16, loss="wgan-gp", jit_compile=False)
        gan = builders.compile_gan(builders.build_gan(config, resolution=16), config)
        gan.save(root / f"{arch}.keras")
        saved[arch] = np.asarray(gan.generator(latents))
    return root, saved


IMPORTS = {
    "package-first": "import keras_mrigan\nimport keras",
    "tensorflow-between": "import keras_mrigan\nimport tensorflow\nimport keras",
    "keras-first": "import keras\nimport keras_mrigan",
}
WITHOUT_THE_PACKAGE = "import keras, sys; keras.saving.load_model(sys.argv[1])"


@pytest.fixture(scope="module")
def processes(saved_gans):
    """Every fresh process of this module, started at once (each pays TensorFlow's start-up;
    two cores run two at a time): ``{name: Popen}``."""
    root, expected = saved_gans
    paths = [str(root / f"{arch}.keras") for arch in expected]
    started = {"registered": start_process([sys.executable, "-c", REGISTERED]),
               "without": start_process([sys.executable, "-c", WITHOUT_THE_PACKAGE,
                                         str(root / "dcgan.keras")])}
    for tag, imports in IMPORTS.items():
        started[tag] = start_process([sys.executable, "-c", LOAD_WITH_KERAS.format(
            imports=imports), str(root / "latents.npy"), tag, *paths])
    yield started
    for process in started.values():
        process.kill()
        process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("imports", list(IMPORTS))
def test_keras_load_model_after_importing_the_package(saved_gans, processes, imports):
    root, expected = saved_gans
    done = finish(processes[imports])
    assert done.returncode == 0, done.stderr[-3000:]
    for arch, images in expected.items():
        np.testing.assert_array_equal(np.load(root / f"{arch}.keras.{imports}.npy"), images)


def test_without_the_package_keras_cannot_find_the_classes(processes):
    done = finish(processes["without"])
    assert done.returncode != 0 and "Could not locate class 'GAN'" in done.stderr
