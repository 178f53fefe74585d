"""Splits by subject, and the check that a generator has not seen the test subjects."""

from pathlib import Path

import numpy as np

from keras_mrigan.runs import read_metadata, read_split, resolve_saved_model


def subject_split(subjects, labels, test_fraction=0.3, seed=0):
    """Splits subjects (each with one class) into training and test subjects, stratified by
    class: ``test_fraction`` of every class's subjects (at least one) are test subjects.

    Args:
        subjects: the subject of every slice.
        labels: the class index of every slice.
        test_fraction: the share of every class's subjects held out.
        seed: seed of the draw.

    Returns:
        ``(train_subjects, test_subjects)``: sorted lists.

    Raises:
        ValueError: a subject has slices of two classes, or a class has fewer than 2
            subjects.
    """
    by_subject = _subject_classes(subjects, labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted(set(by_subject.values())):
        members = sorted(s for s, c in by_subject.items() if c == label)
        if len(members) < 2:
            raise ValueError(f"Class {label} has {len(members)} subject(s): a subject split "
                             "needs at least 2 per class.")
        members = list(rng.permutation(members))
        k = min(max(1, int(round(test_fraction * len(members)))), len(members) - 1)
        test += members[:k]
        train += members[k:]
    return sorted(train), sorted(test)


def subset_subjects(train_subjects, subjects, labels, fraction, seed=0):
    """A stratified ``fraction`` of the training subjects (at least one per class).

    Args:
        train_subjects: the subjects to draw from.
        subjects, labels: per slice, as for ``subject_split``.
        fraction: in ``(0, 1]``.
        seed: seed of the draw (combined with the fraction).

    Returns:
        A sorted list of subjects.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"Fractions must be in (0, 1]. Received: {fraction}")
    by_subject = _subject_classes(subjects, labels)
    rng = np.random.default_rng([seed, int(round(fraction * 1e6))])
    kept = []
    for label in sorted({by_subject[s] for s in train_subjects}):
        members = sorted(s for s in train_subjects if by_subject[s] == label)
        k = max(1, int(round(fraction * len(members))))
        kept += list(rng.permutation(members)[:k])
    return sorted(kept)


def nested_subjects(train_subjects, counts, seed=0):
    """Subsets of the training subjects of the sizes asked for, each holding the smaller
    ones (2 subjects within 4 within 8): a larger regime adds subjects, it does not draw
    others, so the regimes differ by the amount of data only.

    Args:
        train_subjects: the subjects to draw from.
        counts: the subsets' sizes; ``None`` (or ``"all"``) means every training subject.
        seed: seed of the one order the subsets are taken from.

    Returns:
        ``{name: sorted subjects}``, the names ``str(count)`` or ``"all"``, in the order of
        ``counts``.

    Raises:
        ValueError: a size below 1 or above the number of training subjects.
    """
    order = [str(s) for s in np.random.default_rng(seed).permutation(sorted(map(str,
                                                                               train_subjects)))]
    subsets = {}
    for count in counts:
        if count is None or count == "all":
            subsets["all"] = sorted(order)
            continue
        if isinstance(count, bool) or int(count) != count or not 1 <= count <= len(order):
            raise ValueError(f"Regimes are numbers of training subjects from 1 to {len(order)} "
                             f"(or 'all'). Received: {count!r}")
        subsets[str(int(count))] = sorted(order[: int(count)])
    return subsets


def _subject_classes(subjects, labels):
    by_subject = {}
    for subject, label in zip(np.asarray(subjects).tolist(), np.asarray(labels).tolist(),
                              strict=True):
        if by_subject.setdefault(subject, label) != label:
            raise ValueError(f"Subject {subject!r} has slices of two classes; a subject split "
                             "needs one class per subject.")
    return by_subject


def check_leakage(generator_subjects, test_subjects, generator="the generator"):
    """Refuses a generator that was trained on any test subject, naming them.

    Raises:
        ValueError: ``generator_subjects`` is ``None`` (unknown) or holds a test subject.
    """
    if generator_subjects is None:
        raise ValueError(f"{generator} does not record its training subjects (split.json, or "
                         "train_subjects in an export's metadata): it cannot be checked for "
                         "test subjects, so it is refused.")
    overlap = sorted(set(map(str, generator_subjects)) & set(map(str, test_subjects)))
    if overlap:
        shown = ", ".join(overlap[:10]) + (f" and {len(overlap) - 10} more"
                                           if len(overlap) > 10 else "")
        raise ValueError(f"{generator} was trained on {len(overlap)} of the test subjects "
                         f"({shown}): its images would leak them into training. Train it on "
                         "the training subjects only.")


def generator_subjects(path):
    """The training subjects a run folder (``split.json``) or an exported SavedModel
    (``train_subjects`` in its metadata) records, or ``None``."""
    path = Path(path)
    try:
        return read_metadata(resolve_saved_model(path)).get("train_subjects")
    except FileNotFoundError:
        return read_split(path if path.is_dir() else path.parent)
