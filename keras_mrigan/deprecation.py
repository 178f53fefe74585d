"""Former import paths of names that moved: they keep working, with a ``DeprecationWarning``
that names the new place."""

import importlib
import warnings


def moved(module, names, target=None):
    """A module ``__getattr__`` (PEP 562) for ``names`` that moved from ``module`` to the
    module ``target``: reading one warns and returns it from ``target``, imported when first
    read (so that a lower module can name a higher one without importing it).

    ``names`` may also map each name to its own target module, ``target`` then ``None``. At
    the end of the old module: ``__getattr__ = moved(__name__, ("old",), "new.place")``.
    """
    targets = dict(names) if target is None else dict.fromkeys(names, target)

    def __getattr__(name):
        if name in targets:
            warnings.warn(f"`{module}.{name}` moved to `{targets[name]}.{name}`; import it "
                          "from there.", DeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(targets[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
