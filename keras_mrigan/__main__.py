import sys

from keras_mrigan.cli import main

sys.exit(main())
