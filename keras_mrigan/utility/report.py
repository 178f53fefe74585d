"""The study's report: ``utility.json``, a Markdown table and a bar chart (of a classification
or a segmentation study)."""

import json
from pathlib import Path

import numpy as np

from keras_mrigan.plotting import new_figure, save_figure
from keras_mrigan.utility.classifier import MEASURES
from keras_mrigan.utils import atomic_path


def write_report(study, out):
    """``utility.json``, ``utility.md`` and ``utility.png`` of a whole study.

    Args:
        study: the study's dict: ``regimes`` (``{fraction: summary}``), ``regime_info``,
            ``test_subjects``, ``seeds`` and ``class_names``.
        out: the folder to write to (created if missing).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "utility.json") as tmp:
        Path(tmp).write_text(json.dumps(study, indent=1) + "\n")
    if study.get("task") == "segmentation":
        lines = segmentation_table(study)
        with atomic_path(out / "utility.md") as tmp:
            Path(tmp).write_text("\n".join(lines))
        plot(study, out / "utility.png", measure="dice_mean")
        return
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


def _cell(entry):
    return f"{entry['mean']:.3f} ± {entry['std']:.3f}"


def _delta(entry):
    d = entry.get("difference")
    return "-" if d is None else f"{d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"


def _regime_title(study, regime):
    if study.get("task") == "segmentation":
        return ("every training subject" if regime == "all" else
                f"{regime} training subject{'s' if regime != '1' else ''}")
    return f"{float(regime):.0%} of training subjects"


def segmentation_table(study):
    """The Markdown lines of a segmentation study: per regime, the mean Dice over the
    foreground classes and each class's Dice (mean ± std over the seeds), and the paired
    difference of the mean Dice to ``real`` with its 95 % interval."""
    foreground = study["class_names"][1:]
    lines = [f"U-Net trained on each row, tested on the slices of "
             f"{len(study['test_subjects'])} held-out real subjects; Dice (mean ± std over "
             f"{len(study['seeds'])} seeds; mean: over {', '.join(foreground)}); Δ: paired "
             "difference of the mean Dice to `real` (95 % interval).", ""]
    for regime, summary in study["regimes"].items():
        info = study["regime_info"][regime]
        lines += [f"### {_regime_title(study, regime).capitalize()} ({info['subjects']} "
                  f"subjects, {info['slices']} slices)", "",
                  "| training data | mean Dice | " + " | ".join(foreground)
                  + " | Δ mean Dice |",
                  "| --- | ---: | " + "---: | " * len(foreground) + "---: |"]
        for row, measures in summary.items():
            cells = [_cell(measures["dice_mean"])]
            cells += [_cell(measures[f"dice_{name}"]) for name in foreground]
            lines.append(f"| {row} | " + " | ".join(cells + [_delta(measures["dice_mean"])])
                         + " |")
        lines.append("")
    return lines


def plot(study, path, measure="balanced_accuracy"):
    """Bars of ``measure`` (mean ± std) per row, one group per regime, as a PNG: balanced
    accuracy for a classification study, the mean Dice for a segmentation one."""
    regimes = list(study["regimes"])
    rows = list(next(iter(study["regimes"].values())))
    figure = new_figure(figsize=(8, 4.8))
    axis = figure.subplots()
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        means = [study["regimes"][r][row][measure]["mean"] for r in regimes]
        stds = [study["regimes"][r][row][measure]["std"] for r in regimes]
        axis.bar(np.arange(len(regimes)) + (i - (len(rows) - 1) / 2) * width, means, width,
                 yerr=stds, capsize=2, label=row, color=f"C{i}")
    if measure == "balanced_accuracy":
        axis.axhline(1 / len(study["class_names"]), color="gray", linestyle=":",
                     label="chance")
    axis.set_xticks(np.arange(len(regimes)), [_regime_title(study, r) for r in regimes])
    axis.set_ylabel({"balanced_accuracy": "balanced accuracy on held-out subjects",
                     "dice_mean": "mean Dice on held-out subjects"}.get(measure, measure))
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)
