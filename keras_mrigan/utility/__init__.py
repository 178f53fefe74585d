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

The segmentation study (``study(..., task="segmentation")``) asks the same of image + mask
pairs: a fixed small U-Net (``segmenter``) trained on real pairs, with classic geometric
augmentation of image and mask alike, with generated pairs at 1:1 and 1:2, and on generated
pairs only, tested on held-out real subjects by Dice per class, in regimes of a few training
subjects (2, 4, 8) and all of them; each regime's generator of pairs trains on exactly its
subjects.
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
from keras_mrigan.utility.regime import (
    RECIPES,
    ROWS,
    SEGMENTATION_ROWS,
    PairRegime,
    Regime,
    run_regime,
    run_segmentation_regime,
)
from keras_mrigan.utility.report import plot, segmentation_table, write_report
from keras_mrigan.utility.segmenter import (
    SEGMENTER_FILTERS,
    SEGMENTER_STEPS,
    build_segmenter,
    pair_augmentation,
    predict_masks,
    segmentation_scores,
    soft_dice_loss,
    train_segmenter,
)
from keras_mrigan.utility.splits import (
    _subject_classes,  # noqa: F401 (private, kept importable)
    check_leakage,
    generator_subjects,
    nested_subjects,
    subject_split,
    subset_subjects,
)
from keras_mrigan.utility.stats import summarize
from keras_mrigan.utility.study import (  # noqa: F401 (_finished_generator kept importable)
    SEGMENTATION_SUBJECTS,
    TASKS,
    _finished_generator,
    regime_config,
    segmentation_study,
    study,
)
from keras_mrigan.utility.synthesis import gan_synthesizer, pair_synthesizer

__all__ = [
    "CLASSIFIER_EPOCHS",
    "CLASSIFIER_RESOLUTION",
    "MEASURES",
    "RECIPES",
    "ROWS",
    "SEGMENTATION_ROWS",
    "SEGMENTATION_SUBJECTS",
    "SEGMENTER_FILTERS",
    "SEGMENTER_STEPS",
    "TASKS",
    "PairRegime",
    "Regime",
    "build_classifier",
    "build_segmenter",
    "check_leakage",
    "classic_augmentation",
    "gan_synthesizer",
    "generator_subjects",
    "nested_subjects",
    "pair_augmentation",
    "pair_synthesizer",
    "plot",
    "predict_masks",
    "regime_config",
    "run_regime",
    "run_segmentation_regime",
    "scores",
    "segmentation_scores",
    "segmentation_study",
    "segmentation_table",
    "soft_dice_loss",
    "study",
    "subject_split",
    "subset_subjects",
    "summarize",
    "train_classifier",
    "train_segmenter",
    "write_report",
]
