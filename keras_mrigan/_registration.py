"""Registers the package's Keras objects as soon as Keras is loaded.

``keras.saving.load_model`` finds custom classes only in Keras' registry, which is filled when
the modules that define them are imported. Importing those modules means importing Keras and
TensorFlow (seconds), which ``import keras_mrigan`` and ``keras-mrigan --help`` must not pay.
So the package registers its classes at the moment Keras itself finishes loading: at once if
Keras is already imported, else right after the first ``import keras`` of the process, however
it comes (the user's, TensorFlow's own, or the package's).
"""

import importlib
import importlib.abc
import sys

# Importing these defines, and so registers, every Keras object of the package.
MODULES = ("keras_mrigan.layers", "keras_mrigan.models", "keras_mrigan.models.gan")


def register():
    """Imports the modules that register the package's Keras objects."""
    for name in MODULES:
        importlib.import_module(name)


def register_when_keras_loads():
    """``register()`` now if Keras is loaded, else once ``import keras`` has finished."""
    keras = sys.modules.get("keras")
    if keras is not None and not _initializing(keras):
        register()
    elif not any(isinstance(finder, _KerasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasFinder())


def _initializing(module):
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


class _KerasFinder(importlib.abc.MetaPathFinder):
    """Finds ``keras`` as the other finders do, and runs ``register()`` after it executes.

    It stays in place until Keras is executed: a ``find_spec`` probe (TensorFlow makes one
    before importing Keras) imports nothing."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _ThenRegister(spec.loader, self)
                return spec
        return None


class _ThenRegister(importlib.abc.Loader):
    """Keras' own loader, followed by ``register()``; Keras keeps its own loader."""

    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        register()
