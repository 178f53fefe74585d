"""The whole utility study: split the subjects, train a generator per regime, run the rows;
for a classifier on labelled slices, or for a segmenter on image + mask pairs."""

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np

from keras_mrigan import training
from keras_mrigan.config import RunConfig
from keras_mrigan.data.masks import split_pair
from keras_mrigan.data.pipeline import load_slices
from keras_mrigan.models import is_progressive
from keras_mrigan.runs import CONFIG, FINAL_MODEL, Sampler, load_run, read_split
from keras_mrigan.utility.classifier import CLASSIFIER_EPOCHS
from keras_mrigan.utility.regime import (
    RECIPES,
    ROWS,
    SEGMENTATION_ROWS,
    PairRegime,
    Regime,
    run_regime,
    run_segmentation_regime,
)
from keras_mrigan.utility.report import write_report
from keras_mrigan.utility.segmenter import SEGMENTER_STEPS
from keras_mrigan.utility.splits import (
    check_leakage,
    generator_subjects,
    nested_subjects,
    subject_split,
    subset_subjects,
)
from keras_mrigan.utility.stats import summarize
from keras_mrigan.utility.synthesis import gan_synthesizer, pair_synthesizer

logger = logging.getLogger(__name__)
TASKS = ("classification", "segmentation")
# The segmentation study's regimes: numbers of training subjects, scarce ones (where the
# literature finds synthetic pairs help most) and every training subject.
SEGMENTATION_SUBJECTS = (2, 4, 8, "all")


def _finished_generator(run, config, subjects):
    """The GAN of a finished regime run with the same settings and subjects (a study run
    again into the same folder keeps its generators), else ``None``."""
    run = Path(run)
    if not (run / FINAL_MODEL).exists() or not (run / CONFIG).exists():
        return None
    if RunConfig.load(run / CONFIG) != config or read_split(run) != subjects:
        return None
    logger.info("Reusing the finished generator of %s (same settings, same subjects).", run)
    return load_run(run)[0]


def _seeds_and_rows(seeds, rows):
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if len(seeds) < 2:
        raise ValueError("The study needs at least 2 seeds for its intervals.")
    unknown = [row for row in rows if row not in RECIPES]
    if unknown or not rows:
        raise ValueError(f"`rows` must be a non-empty selection of {ROWS}. "
                         f"Received: rows={tuple(rows)!r}")
    return seeds, tuple(row for row in ROWS if row in rows)


def regime_config(config, fraction):
    """The generator settings of a regime: ``config`` with its epochs (a progressive run's
    phases) divided by ``fraction``, so that every regime's generator makes as many updates
    as the full one's."""
    if fraction >= 1:
        return config
    if is_progressive(config.model.arch):  # The growth schedule sets the epochs.
        config = config.replace(phase_epochs=math.ceil(config.schedule.phase_epochs / fraction))
        return dataclasses.replace(config, schedule=dataclasses.replace(config.schedule,
                                                                        epochs=None))
    return config.replace(epochs=math.ceil(training.run_epochs(config) / fraction))


def study(config, out, fractions=None, seeds=5, generator=None, test_fraction=0.3,
          classifier_epochs=CLASSIFIER_EPOCHS, split_seed=0, progress=True, rows=None,
          task="classification", subjects=SEGMENTATION_SUBJECTS,
          segmenter_steps=SEGMENTER_STEPS):
    """The whole utility study of a labelled ``RunConfig`` (``config.data.labels`` set), or
    with ``task="segmentation"`` of a ``RunConfig`` with masks (``segmentation_study``).

    Reads the data with labels and subjects, splits the subjects (``test_fraction`` held out,
    stratified by class), and for every fraction of the training subjects trains a
    conditional GAN with ``config`` on them, as many updates as the full regime's
    (``regime_config``; into ``OUT/generator_<fraction>/``, kept and reused when the study
    runs again with the same settings, unless ``generator`` gives a trained run folder or
    SavedModel for a single fraction), then runs every row (or the ``rows`` asked for) on
    every seed. Writes
    ``utility.json``, ``utility.md``, ``utility.png`` and ``split.json`` (the test subjects
    and each regime's training subjects) to ``out``.

    Args:
        config: a labelled ``RunConfig``.
        out: the study's folder.
        fractions: the regimes' fractions of the training subjects, each in ``(0, 1]``
            (default ``(0.25, 1)``).
        seeds: a number of seeds (``0 ... seeds - 1``) or the seeds, at least 2.
        generator: a trained run folder or SavedModel to use instead of training one (a
            single fraction only).
        test_fraction: the share of every class's subjects held out for testing.
        classifier_epochs: the classifiers' epochs.
        split_seed: seed of the subject split and of the regimes' subsets.
        progress: show a progress bar (Keras' ``Progbar``).
        rows: the rows to run, names of ``ROWS``, in the report in ``ROWS``' order (a row's
            difference to ``real`` is reported when ``real`` is among them); default all
            (``SEGMENTATION_ROWS`` for segmentation).
        task: ``"classification"`` or ``"segmentation"``.
        subjects: the segmentation study's regimes (numbers of training subjects, or
            ``"all"``).
        segmenter_steps: updates of every segmenter.

    Returns:
        The study's dict (also in ``utility.json``).
    """
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
    if task == "segmentation":
        if fractions is not None:
            raise ValueError("The segmentation study's regimes are numbers of training "
                             "subjects: give `subjects` (--subjects 2,4,8,all), not fractions.")
        return segmentation_study(config, out, subjects=subjects, seeds=seeds,
                                  generator=generator, test_fraction=test_fraction,
                                  steps=segmenter_steps, split_seed=split_seed,
                                  progress=progress,
                                  rows=SEGMENTATION_ROWS if rows is None else rows)
    fractions = (0.25, 1.0) if fractions is None else fractions
    rows = ROWS if rows is None else rows
    if not config.data.labels:
        raise ValueError("The utility study needs labelled data: set --labels (folders, demo "
                         "or a table).")
    fractions = [float(f) for f in fractions]
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"--fractions must be in (0, 1]. Received: {f}")
    if generator is not None and len(fractions) != 1:
        raise ValueError("--generator reuses one trained generator for a single regime: give "
                         "one fraction (the one it was trained on).")
    seeds, rows = _seeds_and_rows(seeds, rows)
    out = Path(out)
    images, labels, class_names, subjects = load_slices(
        config.data.source, config.data.resolution, training.slice_options(config),
        labels=training.run_labels(config), return_subjects=True)
    train_subjects, test_subjects = subject_split(subjects, labels, test_fraction, split_seed)
    test = np.isin(subjects, test_subjects)
    report = {"class_names": list(class_names), "seeds": seeds,
              "test_subjects": test_subjects, "test_slices": int(test.sum()),
              "resolution": config.data.resolution, "classifier_epochs": classifier_epochs,
              "regimes": {}, "regime_info": {}}
    for fraction in fractions:
        kept = subset_subjects(train_subjects, subjects, labels, fraction, split_seed)
        check_leakage(kept, test_subjects, "the regime's training subjects")
        mask = np.isin(subjects, kept)
        key = f"{fraction:g}"
        if generator is not None:
            check_leakage(generator_subjects(generator), test_subjects, str(generator))
            sampler = Sampler(generator)
            if list(sampler.class_names) != list(class_names):
                raise ValueError(f"{generator} has the classes {list(sampler.class_names)}, "
                                 f"the data {list(class_names)}.")
            synthesize = gan_synthesizer(sampler, class_names)
        else:
            run = out / f"generator_{key}"
            gan = _finished_generator(run, regime_config(config, fraction), kept)
            if gan is None:
                gan = training.train(regime_config(config, fraction), run, overwrite=True,
                                     data={"images": images[mask], "labels": labels[mask],
                                           "class_names": class_names,
                                           "subjects": subjects[mask]})
            synthesize = gan_synthesizer(gan, class_names)
        regime = Regime(fraction, kept, images[mask], labels[mask], synthesize)
        results = run_regime(regime, images[test], labels[test], len(class_names), seeds,
                             classifier_epochs, rows=rows, progress=progress)
        report["regimes"][key] = summarize(results)
        report["regime_info"][key] = {"subjects": len(kept), "slices": int(mask.sum()),
                                      "train_subjects": kept}
        write_report(report, out)  # After every regime: a long study keeps what it did.
    return report


def segmentation_study(config, out, subjects=SEGMENTATION_SUBJECTS, seeds=5, generator=None,
                       test_fraction=0.3, steps=SEGMENTER_STEPS, split_seed=0, progress=True,
                       rows=SEGMENTATION_ROWS):
    """The segmentation utility study of a ``RunConfig`` with masks (``config.data.masks``).

    Reads the image + mask pairs with their subjects and holds out ``test_fraction`` of the
    subjects. Each regime keeps a number of the training subjects (nested: the 2 subjects of
    the smallest regime are among the 4 of the next, ``splits.nested_subjects``) and trains
    a generator of pairs with ``config`` (without labels) on exactly them, as many updates
    as on every training subject (``regime_config``; into ``OUT/generator_<regime>/``, kept
    and reused when the study runs again with the same settings), unless ``generator`` gives
    a trained run folder or SavedModel for a single regime (refused if it records a test
    subject, or no subjects). Then the fixed U-Net (``segmenter``) is trained on every row
    (``real``; ``real+classic``: geometric transforms of image and mask alike; ``real+synthetic
    1:1`` and ``1:2``: as many, twice as many, generated pairs as real slices; ``synthetic
    only``) on every seed and tested on the held-out subjects' slices: Dice per class and
    its mean over the foreground classes, with each row's paired difference to ``real`` and
    its 95 % interval. Writes ``utility.json``, ``utility.md`` and ``utility.png`` to ``out``.

    Reference:
        Bowles et al., "GAN Augmentation: Augmenting Training Data using Generative
        Adversarial Networks", arXiv:1810.10863, 2018 (gains largest with few subjects).

    Args:
        config: a ``RunConfig`` whose data carry masks.
        out: the study's folder.
        subjects: the regimes: numbers of training subjects, or ``"all"``.
        seeds: a number of seeds (``0 ... seeds - 1``) or the seeds, at least 2.
        generator: a trained pair generator (run folder or SavedModel) for a single regime.
        test_fraction: the share of the subjects held out for testing (at least one).
        steps: updates of every segmenter.
        split_seed: seed of the subject split and of the regimes' subsets.
        progress: show a progress bar (Keras' ``Progbar``).
        rows: the rows to run, names of ``ROWS``.

    Returns:
        The study's dict (also in ``utility.json``).
    """
    if not getattr(config.data, "masks", None):
        raise ValueError("The segmentation study needs image + mask pairs: set --masks (a "
                         "folder of masks, a pattern, or demo).")
    subjects = list(subjects)
    if not subjects:
        raise ValueError("`subjects` must name at least one regime. Received: subjects=[]")
    if generator is not None and len(subjects) != 1:
        raise ValueError("--generator reuses one trained generator for a single regime: give "
                         "one number of subjects (the one it was trained on).")
    seeds, rows = _seeds_and_rows(seeds, rows)
    if config.data.labels:  # The generators make pairs; classes play no part here.
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, labels=None))
    out = Path(out)
    pairs, mask_classes, slice_subjects = load_slices(
        config.data.source, config.data.resolution, training.slice_options(config),
        return_subjects=True)
    images, masks = split_pair(pairs)
    slice_subjects = np.asarray(slice_subjects).astype(str)
    class_names = list(mask_classes.names)
    train_subjects, test_subjects = subject_split(
        slice_subjects, np.zeros(len(slice_subjects), np.int32), test_fraction, split_seed)
    regimes = nested_subjects(train_subjects, subjects, split_seed)
    test = np.isin(slice_subjects, test_subjects)
    report = {"task": "segmentation", "class_names": class_names,
              "mask_classes": mask_classes.to_json(), "seeds": seeds,
              "test_subjects": test_subjects, "test_slices": int(test.sum()),
              "resolution": config.data.resolution, "segmenter_steps": steps,
              "regimes": {}, "regime_info": {}}
    for key, kept in regimes.items():
        check_leakage(kept, test_subjects, "the regime's training subjects")
        mask = np.isin(slice_subjects, kept)
        if generator is not None:
            check_leakage(generator_subjects(generator), test_subjects, str(generator))
            sampler = Sampler(generator)
            if getattr(sampler, "mask_classes", None) is None:
                raise ValueError(f"{generator} makes images without masks: the segmentation "
                                 "study needs a generator trained on image + mask pairs.")
            synthesize = pair_synthesizer(sampler)
        else:
            run = out / f"generator_{key}"
            settings = regime_config(config, len(kept) / len(train_subjects))
            gan = _finished_generator(run, settings, kept)
            if gan is None:
                gan = training.train(settings, run, overwrite=True,
                                     data={"images": pairs[mask], "mask_classes": mask_classes,
                                           "subjects": slice_subjects[mask]})
            synthesize = pair_synthesizer(gan)
        regime = PairRegime(key, kept, images[mask], masks[mask], synthesize)
        results = run_segmentation_regime(regime, images[test], masks[test], class_names, seeds,
                                          steps, rows=rows, progress=progress)
        report["regimes"][key] = summarize(results)
        report["regime_info"][key] = {"subjects": len(kept), "slices": int(mask.sum()),
                                      "train_subjects": kept}
        write_report(report, out)  # After every regime: a long study keeps what it did.
    return report
