"""Class fidelity of a conditional generator: how often a classifier trained on real slices
recognizes, in the generated images of each class, the class they were asked for.

The measure takes the classifier's answers, not the classifier: training it is the business
of ``keras_mrigan.evaluation``.
"""

import numpy as np


def fidelity_scores(predicted, class_names, real_held_out=None):
    """The fraction of each class's generated images that a classifier assigns to that class.

    Args:
        predicted: ``{class index: the classifier's output for that class's generated
            images}``, either class indices ``(n,)`` or scores ``(n, num_classes)`` (the
            highest score is the class).
        class_names: the generator's classes, in index order.
        real_held_out: the classifier's (balanced) accuracy on real slices of subjects it
            never saw, set beside the generated accuracies; ``None`` if not measured.

    Returns:
        ``{"real_held_out": real_held_out, "generated": {class name: accuracy},
        "generated_mean": the mean over classes}``.
    """
    if not predicted:
        raise ValueError("`predicted` must hold the predictions of at least one class. "
                         f"Received: predicted={predicted!r}")
    per_class = {}
    for label, output in predicted.items():
        if not 0 <= int(label) < len(class_names):
            raise ValueError(f"Class index {label!r} is not one of the {len(class_names)} "
                             f"classes {list(class_names)}.")
        output = np.asarray(output)
        classes = output.argmax(axis=1) if output.ndim == 2 else output.astype(np.int64)
        per_class[class_names[int(label)]] = float(np.mean(classes == int(label)))
    return {"real_held_out": None if real_held_out is None else float(real_held_out),
            "generated": per_class,
            "generated_mean": float(np.mean(list(per_class.values())))}


def fidelity_table(fidelity):
    """Markdown: the classifier's accuracy on held-out real subjects and on each generated
    class."""
    rows = ["## Class fidelity", "", "| slices | classifier accuracy |", "| --- | ---: |"]
    if fidelity.get("real_held_out") is not None:
        rows.append(f"| real, held-out subjects (balanced) | {fidelity['real_held_out']:.3f} |")
    rows += [f"| generated as {name} | {accuracy:.3f} |"
             for name, accuracy in fidelity["generated"].items()]
    return "\n".join(rows) + "\n"
