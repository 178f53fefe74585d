"""Per-class evaluation of a conditional generator, and class fidelity.

Every measure of ``evaluate`` is computed for each class against that class's real slices,
and a classifier trained on real slices (``utility.build_classifier``, trained on a subject
split of the reference) labels the generated slices of each class: its accuracy on them, set
beside its accuracy on the real slices of subjects it never saw, shows whether the label is
in the image.
"""

import json
from pathlib import Path

import numpy as np

from keras_mrigan.utils import atomic_path


def class_fidelity(real_images, real_labels, real_subjects, generated, class_names, seed=0,
                   epochs=15, test_fraction=0.3):
    """How often a classifier trained on real slices recognizes the class asked for.

    Args:
        real_images, real_labels, real_subjects: the labelled reference slices.
        generated: ``{class index: images}``.
        test_fraction: subjects held out to measure the classifier on real slices.

    Returns:
        ``{"real_held_out": accuracy on held-out real subjects, "generated": {class name:
        accuracy}, "generated_mean": mean over classes}``.
    """
    from keras_mrigan import utility

    train, test = utility.subject_split(real_subjects, real_labels, test_fraction, seed)
    fit = np.isin(real_subjects, train)
    model = utility.train_classifier(real_images[fit], real_labels[fit], len(class_names),
                                     seed=seed, epochs=epochs)
    held_out = ~fit
    real = utility.scores(model, real_images[held_out], real_labels[held_out],
                          len(class_names))["balanced_accuracy"]
    per_class = {}
    for label, images in generated.items():
        predicted = model.predict(images, batch_size=256, verbose=0).argmax(axis=1)
        per_class[class_names[label]] = float((predicted == label).mean())
    return {"real_held_out": real, "generated": per_class,
            "generated_mean": float(np.mean(list(per_class.values())))}


def evaluate_classes(sampler, reference, labels, n=1000, seed=0, out=None, options=None,
                     classifier_epochs=15, progress=print):
    """Evaluates a conditional generator class by class, with class fidelity.

    Args:
        sampler: a ``generate.Sampler`` of a conditional generator.
        reference: the labelled real data (path or ``"demo"``).
        labels: its labels (``data.labels.LabelOptions``, ``"folders"``, ``"demo"``, ...);
            their class names must be the generator's.
        n: generated images per class.
        out: folder for ``classes.json``, ``classes.md`` and one ``evaluate`` report per
            class (``out/<class>/``).

    Returns:
        ``{"classes": {name: metrics}, "fidelity": class_fidelity(...)}``.
    """
    from keras_mrigan.data.pipeline import load_slices
    from keras_mrigan.generate import generate
    from keras_mrigan.metrics.evaluate import ReferenceStats, evaluate, table

    if not sampler.class_names:
        raise ValueError(f"{sampler.path} is unconditional: per-class evaluation needs a "
                         "conditional generator (trained with --labels).")
    first = generate(sampler, 1, seed=seed, progress=False, label=sampler.class_names[0])
    resolution = first.shape[1]
    real, real_labels, names, subjects = load_slices(reference, resolution, options,
                                                     labels=labels, return_subjects=True)
    if sorted(names) != sorted(sampler.class_names):
        raise ValueError(f"The reference's classes {list(names)} are not the generator's "
                         f"{list(sampler.class_names)}.")
    results, generated = {}, {}
    for label, name in enumerate(names):
        progress(f"class {name}: {n} generated images against "
                 f"{int((real_labels == label).sum())} real slices")
        images = generate(sampler, n, seed=seed, progress=False, label=name)
        generated[label] = images
        mine = real_labels == label
        stats = ReferenceStats.fit(real[mine][..., 0], n=n, seed=seed, subjects=subjects[mine])
        results[name] = evaluate(images[..., 0], stats, out=None if out is None else
                                 Path(out) / name, name=name, seed=seed)
    progress("class fidelity: a classifier trained on real slices labels the generated ones")
    fidelity = class_fidelity(real, real_labels, subjects, generated, names, seed=seed,
                              epochs=classifier_epochs)
    report = {"classes": results, "fidelity": fidelity}
    if out is not None:
        out = Path(out)
        with atomic_path(out / "classes.json") as tmp:
            Path(tmp).write_text(json.dumps(report, indent=2) + "\n")
        text = [f"## {name}\n\n{table(result, name)}" for name, result in results.items()]
        text.append(fidelity_table(fidelity))
        with atomic_path(out / "classes.md") as tmp:
            Path(tmp).write_text("\n".join(text))
    return report


def fidelity_table(fidelity):
    """Markdown: the classifier's accuracy on held-out real subjects and on each generated
    class."""
    rows = ["## Class fidelity", "",
            "| slices | classifier accuracy |", "| --- | ---: |",
            f"| real, held-out subjects (balanced) | {fidelity['real_held_out']:.3f} |"]
    rows += [f"| generated as {name} | {accuracy:.3f} |"
             for name, accuracy in fidelity["generated"].items()]
    return "\n".join(rows) + "\n"
