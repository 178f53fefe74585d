import numpy as np
import pytest

from keras_mrigan.layers.conditioning import class_index

NAMES = ("control", "atrophy")


def test_class_index_by_name_or_index():
    assert class_index("atrophy", NAMES) == 1
    assert class_index("control", list(NAMES)) == 0
    assert class_index(np.int64(1), NAMES) == 1 and isinstance(class_index(np.int64(1), NAMES),
                                                               int)
    assert class_index(0, NAMES, "run/x") == 0


@pytest.mark.parametrize("bad", ["dementia", 2, -1, True, 1.0, None])
def test_class_index_lists_the_classes_when_the_label_is_unknown(bad):
    with pytest.raises(ValueError, match=rf"Unknown class {bad!r}: a class name in "
                                         r"\['control', 'atrophy'\] or an index in \[0, 2\) "
                                         r"was expected \(run/x\)\."):
        class_index(bad, NAMES, "run/x")


def test_class_index_of_an_unconditional_model():
    with pytest.raises(ValueError, match="^This generator is unconditional: it takes no label. "
                                         "Received: label='control'$"):
        class_index("control", ())
