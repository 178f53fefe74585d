"""``python -m keras_mrigan``: the ``keras-mrigan`` command (``keras_mrigan_cli``)."""

import sys

from keras_mrigan_cli import main

sys.exit(main())
