import subprocess
import sys

import keras_mrigan


def test_public_names_resolve():
    for name in keras_mrigan.__all__:
        assert getattr(keras_mrigan, name) is not None


def test_import_does_not_load_tensorflow():
    code = "import sys, keras_mrigan; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
