"""Do synthetic slices help a downstream model? The train-on-synthetic utility study.

Medical image synthesis is judged, in the end, by what it adds to a task model trained on it
(the paper's purpose: "GANs can be used to increase MRI datasets and thus enable more advanced
training for neural networks"). This module trains one fixed, small Keras CNN classifier with
``model.fit`` on

* ``real``: the real training subjects' slices;
* ``real+classic``: the same with Keras' own preprocessing layers (flips, small rotations,
  translations, contrast), the baseline any reviewer asks for;
* ``real+synthetic 1:1`` and ``1:2``: plus as many (twice as many) generated slices, class by
  class in the real set's proportions;
* ``real+classic+synthetic 1:1``;
* ``synthetic only`` (train on synthetic, test on real);

and tests every one on the slices of held-out real subjects, over several seeds, reporting
accuracy, balanced accuracy and AUC as mean +- std, and each row's paired difference to
``real`` with a 95 % interval. Splits are by subject: no subject has slices on both sides,
and a generator that has seen a test subject is refused.

Scarce regimes keep a fraction of the training subjects (the generator is then trained on the
same fraction). The split (test subjects, and each fraction's subjects) is drawn once per
study; the seeds vary the classifiers' initialization and batch order and the synthetic
draws.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_mrigan.utils import Progress, atomic_path

ROWS = ("real", "real+classic", "real+synthetic 1:1", "real+synthetic 1:2",
        "real+classic+synthetic 1:1", "synthetic only")
# Row -> (real images?, classic augmentation?, synthetic images per real image).
RECIPES = {
    "real": (True, False, 0),
    "real+classic": (True, True, 0),
    "real+synthetic 1:1": (True, False, 1),
    "real+synthetic 1:2": (True, False, 2),
    "real+classic+synthetic 1:1": (True, True, 1),
    "synthetic only": (False, False, 1),
}
MEASURES = ("accuracy", "balanced_accuracy", "auc")
CLASSIFIER_EPOCHS = 15


CLASSIFIER_RESOLUTION = 32  # The classifier sees slices average-pooled to at most this.


def build_classifier(resolution, num_classes, name="utility_classifier"):
    """The study's fixed classifier: slices average-pooled to at most 32 x 32, three 3 x 3
    convolution blocks (16, 32, 64 filters, batch normalization, ReLU, 2 x 2 max pooling),
    global average pooling, dropout 0.3 and a softmax layer. Small on purpose: the regime of
    scarce data, trained in seconds on a CPU."""
    import keras

    inputs = keras.Input((resolution, resolution, 1), name="image")
    x = inputs
    if resolution > CLASSIFIER_RESOLUTION:
        x = keras.layers.AveragePooling2D(resolution // CLASSIFIER_RESOLUTION)(x)
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        # Momentum 0.9: a scarce regime trains for a few hundred steps only, too few for
        # Keras' 0.99 to bring the moving statistics to the data's (its predictions then
        # collapse to one class).
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


def classic_augmentation(seed=0):
    """Keras' preprocessing layers as a model: left-right flips, rotations up to +-10 degrees,
    translations up to 5 %, contrast +-20 %; the background (-1) fills what moves in."""
    import keras

    fill = dict(fill_mode="constant", fill_value=-1.0)
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(10 / 360, seed=seed + 1, **fill),
        keras.layers.RandomTranslation(0.05, 0.05, seed=seed + 2, **fill),
        # value_range: the layer clips to it (by default 0..255, which would erase every
        # value below 0 of our [-1, 1] slices).
        keras.layers.RandomContrast(0.2, value_range=(-1.0, 1.0), seed=seed + 3),
    ], name="classic_augmentation")


def train_classifier(images, labels, num_classes, seed=0, epochs=CLASSIFIER_EPOCHS,
                     classic=False, batch_size=32):
    """Trains ``build_classifier`` on ``images`` ``(N, r, r, 1)`` in ``[-1, 1]`` with
    ``model.fit`` (Adam 1e-3, sparse categorical cross-entropy); with ``classic``, every batch
    passes through ``classic_augmentation`` first. Returns the model."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = build_classifier(images.shape[1], num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    dataset = tf.data.Dataset.from_tensor_slices((images.astype(np.float32),
                                                  labels.astype(np.int32)))
    dataset = dataset.shuffle(len(images), seed=seed).batch(batch_size)
    if classic:
        augmentation = classic_augmentation(seed)
        dataset = dataset.map(lambda x, y: (tf.clip_by_value(augmentation(x, training=True),
                                                             -1.0, 1.0), y))
    model.fit(dataset.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=0, shuffle=False)
    return model


def scores(model, images, labels, num_classes):
    """Accuracy, balanced accuracy and AUC (one-vs-rest macro average for more than two
    classes) of a classifier on labelled images."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    probabilities = model.predict(images, batch_size=256, verbose=0)
    predicted = probabilities.argmax(axis=1)
    present = np.unique(labels)
    if len(present) < 2:
        auc = float("nan")
    elif num_classes == 2:
        auc = roc_auc_score(labels, probabilities[:, 1])
    else:
        auc = roc_auc_score(labels, probabilities, multi_class="ovr",
                            labels=list(range(num_classes)))
    return {"accuracy": float((predicted == labels).mean()),
            "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
            "auc": float(auc)}


def subject_split(subjects, labels, test_fraction=0.3, seed=0):
    """Splits subjects (each with one class) into training and test subjects, stratified by
    class: ``test_fraction`` of every class's subjects (at least one) are test subjects.

    Args:
        subjects, labels: per slice.

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
    """A stratified ``fraction`` of the training subjects (at least one per class)."""
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


def _subject_classes(subjects, labels):
    by_subject = {}
    for subject, label in zip(np.asarray(subjects).tolist(), np.asarray(labels).tolist(),
                              strict=True):
        if by_subject.setdefault(subject, label) != label:
            raise ValueError(f"Subject {subject!r} has slices of two classes; a subject split "
                             "needs one class per subject.")
    return by_subject


def check_leakage(generator_subjects, test_subjects, generator="the generator"):
    """Refuses a generator that was trained on any test subject, naming them."""
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
    from keras_mrigan.export import read_metadata, resolve_saved_model
    from keras_mrigan.training import read_split

    path = Path(path)
    try:
        return read_metadata(resolve_saved_model(path)).get("train_subjects")
    except FileNotFoundError:
        return read_split(path if path.is_dir() else path.parent)


@dataclasses.dataclass
class Regime:
    """One training regime of the study: its fraction of the training subjects, their
    slices, and a ``synthesize(n_per_class, seed) -> (images, labels)``."""

    fraction: float
    subjects: list
    images: np.ndarray
    labels: np.ndarray
    synthesize: object


def run_regime(regime, test_images, test_labels, num_classes, seeds, epochs=CLASSIFIER_EPOCHS,
               rows=ROWS, progress=True):
    """Trains and tests the classifier of every row on every seed.

    Returns:
        ``{row: {measure: [value per seed]}}``.
    """
    counts = np.bincount(regime.labels, minlength=num_classes)
    results = {row: {m: [] for m in MEASURES} for row in rows}
    bar = Progress(len(rows) * len(seeds), f"utility, {regime.fraction:g} of the subjects") \
        if progress else None
    for seed in seeds:
        synthetic = {}
        for row in rows:
            use_real, classic, ratio = RECIPES[row]
            parts_x, parts_y = ([regime.images], [regime.labels]) if use_real else ([], [])
            if ratio:
                if ratio not in synthetic:
                    synthetic[ratio] = regime.synthesize(counts * ratio, seed)
                parts_x.append(synthetic[ratio][0])
                parts_y.append(synthetic[ratio][1])
            model = train_classifier(np.concatenate(parts_x), np.concatenate(parts_y),
                                     num_classes, seed=seed, epochs=epochs, classic=classic)
            for name, value in scores(model, test_images, test_labels, num_classes).items():
                results[row][name].append(value)
            if bar:
                bar.update()
    return results


def summarize(results):
    """Mean +- std of every row and measure, and each row's paired difference to ``real``
    with a 95 % t-interval over the seeds."""
    from scipy import stats

    summary = {}
    base = results.get("real")
    for row, measures in results.items():
        summary[row] = {}
        for name, values in measures.items():
            values = np.asarray(values, np.float64)
            entry = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1))
                     if len(values) > 1 else 0.0, "values": values.tolist()}
            if base is not None and row != "real":
                diff = values - np.asarray(base[name], np.float64)
                half = (stats.t.ppf(0.975, len(diff) - 1) * np.std(diff, ddof=1)
                        / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
                entry["difference"] = {"mean": float(diff.mean()),
                                       "ci95": [float(diff.mean() - half),
                                                float(diff.mean() + half)]}
            summary[row][name] = entry
    return summary


def write_report(study, out):
    """``utility.json``, ``utility.md`` and ``utility.png`` of a whole study (a dict with
    ``regimes``: ``{fraction: summary}`` and the study's settings)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "utility.json") as tmp:
        Path(tmp).write_text(json.dumps(study, indent=1) + "\n")
    lines = [f"Classifier trained on each row, tested on the slices of "
             f"{len(study['test_subjects'])} held-out real subjects; mean ± std over "
             f"{len(study['seeds'])} seeds; Δ: paired difference to `real` (95 % interval).",
             ""]
    for fraction, summary in study["regimes"].items():
        info = study["regime_info"][fraction]
        lines += [f"### {float(fraction):.0%} of the training subjects ({info['subjects']} "
                  f"subjects, {info['slices']} slices)", "",
                  "| training data | accuracy | balanced accuracy | AUC | Δ balanced accuracy "
                  "| Δ AUC |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for row, measures in summary.items():
            cells = [f"{measures[m]['mean']:.3f} ± {measures[m]['std']:.3f}" for m in MEASURES]
            deltas = []
            for m in ("balanced_accuracy", "auc"):
                d = measures[m].get("difference")
                deltas.append("-" if d is None else
                              f"{d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
            lines.append(f"| {row} | " + " | ".join(cells + deltas) + " |")
        lines.append("")
    with atomic_path(out / "utility.md") as tmp:
        Path(tmp).write_text("\n".join(lines))
    plot(study, out / "utility.png")


def plot(study, path):
    """Bars of balanced accuracy (mean ± std) per row, one group per regime."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = list(study["regimes"])
    rows = list(next(iter(study["regimes"].values())))
    figure, axis = plt.subplots(figsize=(8, 4.8))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        means = [study["regimes"][r][row]["balanced_accuracy"]["mean"] for r in regimes]
        stds = [study["regimes"][r][row]["balanced_accuracy"]["std"] for r in regimes]
        axis.bar(np.arange(len(regimes)) + (i - (len(rows) - 1) / 2) * width, means, width,
                 yerr=stds, capsize=2, label=row, color=f"C{i}")
    axis.axhline(1 / len(study["class_names"]), color="gray", linestyle=":", label="chance")
    axis.set_xticks(np.arange(len(regimes)),
                    [f"{float(r):.0%} of training subjects" for r in regimes])
    axis.set_ylabel("balanced accuracy on held-out subjects")
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)


def gan_synthesizer(gan_or_sampler, class_names):
    """``synthesize(counts, seed)`` for a trained conditional GAN or a ``generate.Sampler``:
    ``counts[c]`` images of class ``c``, with seeds that differ per study seed and class."""
    def synthesize(counts, seed):
        images, labels = [], []
        for label, count in enumerate(np.asarray(counts).tolist()):
            if not count:
                continue
            first = 1_000_000 * (seed + 1) + 100_000 * label
            if hasattr(gan_or_sampler, "generate"):
                batch = gan_or_sampler.generate(int(count), seed=first, label=label)
            else:
                from keras_mrigan.generate import generate

                batch = generate(gan_or_sampler, int(count), seed=first, progress=False,
                                 label=class_names[label])
            images.append(batch)
            labels.append(np.full(int(count), label, np.int32))
        return np.concatenate(images), np.concatenate(labels)

    return synthesize


def _finished_generator(run, config, subjects):
    """The GAN of a finished regime run with the same settings and subjects (a study run
    again into the same folder keeps its generators), else ``None``."""
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig
    from keras_mrigan.export import load_run

    run = Path(run)
    if not (run / training.FINAL_MODEL).exists() or not (run / training.CONFIG).exists():
        return None
    if RunConfig.load(run / training.CONFIG) != config or training.read_split(run) != subjects:
        return None
    print(f"Reusing the finished generator of {run} (same settings, same subjects).")
    return load_run(run)[0]


def regime_config(config, fraction):
    """The generator settings of a regime: ``config`` with its epochs (a progressive run's
    phases) divided by ``fraction``, so that every regime's generator makes as many updates
    as the full one's."""
    import math

    from keras_mrigan import training
    from keras_mrigan.models import is_progressive

    if fraction >= 1:
        return config
    if is_progressive(config.model.arch):  # The growth schedule sets the epochs.
        config = config.replace(phase_epochs=math.ceil(config.schedule.phase_epochs / fraction))
        return dataclasses.replace(config, schedule=dataclasses.replace(config.schedule,
                                                                        epochs=None))
    return config.replace(epochs=math.ceil(training.run_epochs(config) / fraction))


def study(config, out, fractions=(0.25, 1.0), seeds=5, generator=None, test_fraction=0.3,
          classifier_epochs=CLASSIFIER_EPOCHS, split_seed=0, progress=True):
    """The whole utility study of a labelled ``RunConfig`` (``config.data.labels`` set).

    Reads the data with labels and subjects, splits the subjects (``test_fraction`` held out,
    stratified by class), and for every fraction of the training subjects trains a
    conditional GAN with ``config`` on them, as many updates as the full regime's
    (``regime_config``; into ``OUT/generator_<fraction>/``, kept and reused when the study
    runs again with the same settings, unless
    ``generator`` gives a trained run folder or SavedModel for a single fraction), then runs
    every row on every seed. Writes ``utility.json``, ``utility.md``, ``utility.png`` and
    ``split.json`` (the test subjects and each regime's training subjects) to ``out``.

    Returns:
        The study's dict (also in ``utility.json``).
    """
    from keras_mrigan import training
    from keras_mrigan.data.pipeline import load_slices

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
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if len(seeds) < 2:
        raise ValueError("The study needs at least 2 seeds for its intervals.")
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
            from keras_mrigan.generate import Sampler

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
                             classifier_epochs, progress=progress)
        report["regimes"][key] = summarize(results)
        report["regime_info"][key] = {"subjects": len(kept), "slices": int(mask.sum()),
                                      "train_subjects": kept}
        write_report(report, out)  # After every regime: a long study keeps what it did.
    return report
