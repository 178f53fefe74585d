"""Do synthetic slices help a downstream model? The train-on-synthetic utility study.

Medical image synthesis is judged, in the end, by what it adds to a task model trained on it
(the paper's purpose: "GANs can be used to increase MRI datasets and thus enable more advanced
training for neural networks"). The study trains one fixed, small Keras CNN classifier
(``classifier``) with ``model.fit`` on

* ``real``: the real training subjects' slices;
* ``real+classic``: the same with Keras' own preprocessing layers (flips, small rotations,
  translations, contrast), the baseline any reviewer asks for;
* ``real+synthetic 1:1`` and ``1:2``: plus as many (twice as many) generated slices, class by
  class in the real set's proportions (``synthesis``);
* ``real+classic+synthetic 1:1``;
* ``synthetic only`` (train on synthetic, test on real);

and tests every one on the slices of held-out real subjects, over several seeds, reporting
accuracy, balanced accuracy and AUC as mean +- std, and each row's paired difference to
``real`` with a 95 % interval (``stats``, ``report``). Splits are by subject (``splits``): no
subject has slices on both sides, and a generator that has seen a test subject is refused.

Scarce regimes (``regime``) keep a fraction of the training subjects (the generator is then
trained on the same fraction). The split (test subjects, and each fraction's subjects) is
drawn once per study; the seeds vary the classifiers' initialization and batch order and the
synthetic draws (``study``).
"""

from keras_mrigan.utility.classifier import (
    CLASSIFIER_EPOCHS,
    CLASSIFIER_RESOLUTION,
    MEASURES,
    build_classifier,
    classic_augmentation,
    scores,
    train_classifier,
)
from keras_mrigan.utility.regime import RECIPES, ROWS, Regime, run_regime
from keras_mrigan.utility.report import plot, write_report
from keras_mrigan.utility.splits import (
    _subject_classes,  # noqa: F401 (private, kept importable)
    check_leakage,
    generator_subjects,
    subject_split,
    subset_subjects,
)
from keras_mrigan.utility.stats import summarize
from keras_mrigan.utility.study import (  # noqa: F401 (_finished_generator kept importable)
    _finished_generator,
    regime_config,
    study,
)
from keras_mrigan.utility.synthesis import gan_synthesizer

__all__ = [
    "CLASSIFIER_EPOCHS",
    "CLASSIFIER_RESOLUTION",
    "MEASURES",
    "RECIPES",
    "ROWS",
    "Regime",
    "build_classifier",
    "check_leakage",
    "classic_augmentation",
    "gan_synthesizer",
    "generator_subjects",
    "plot",
    "regime_config",
    "run_regime",
    "scores",
    "study",
    "subject_split",
    "subset_subjects",
    "summarize",
    "train_classifier",
    "write_report",
]
