"""The study's report: ``utility.json``, a Markdown table and a bar chart."""

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
    """Bars of balanced accuracy (mean ± std) per row, one group per regime, as a PNG."""
    regimes = list(study["regimes"])
    rows = list(next(iter(study["regimes"].values())))
    figure = new_figure(figsize=(8, 4.8))
    axis = figure.subplots()
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
    return save_figure(figure, path, dpi=110)
