"""The report of a search: results table, best trials' sample grids and the best run."""

import csv
import dataclasses
import io
import json
import math
import shutil
from pathlib import Path

from keras_mrigan.plotting import plot_trial_grids
from keras_mrigan.tuning.hypermodel import TRIAL_INFO, trial_values
from keras_mrigan.utils import atomic_path

BEST_RUN = "best_run"


@dataclasses.dataclass
class TrialResult:
    """One row of the results table."""

    trial_id: str
    status: str
    score: float | None
    seconds: float | None
    hyperparameters: dict
    run_dir: Path


def trial_results(tuner):
    """Every trial of a tuner's project, in trial order."""
    rows = []
    for trial_id in sorted(tuner.oracle.trials):
        trial = tuner.oracle.trials[trial_id]
        run_dir = tuner.trial_run_dir(trial_id)
        info_path = run_dir / TRIAL_INFO
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        rows.append(TrialResult(trial_id, str(trial.status), trial.score, info.get("seconds"),
                                trial_values(trial.hyperparameters), run_dir))
    return rows


def best_results(rows, objective, n=None):
    """The completed trials with a finite score, best first."""
    done = [r for r in rows if r.status == "COMPLETED" and r.score is not None
            and math.isfinite(r.score)]
    done.sort(key=lambda r: r.score, reverse=objective.direction == "max")
    return done[:n]


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_results(tuner, out, top=4):
    """Writes the search's report into ``out``: ``results.csv`` and ``results.md`` (trial,
    status, objective, seconds, hyperparameters), ``best_trials.png`` (the last sample grid of
    the ``top`` best trials) and ``best_run/`` (a copy of the best trial's run folder).

    Returns:
        The rows, in trial order.
    """
    out = Path(out)
    objective = tuner.oracle.objective
    rows = trial_results(tuner)
    names = sorted({name for row in rows for name in row.hyperparameters})
    header = ["trial", "status", objective.name, "seconds", *names]
    table = [[row.trial_id, row.status, row.score, row.seconds,
              *(row.hyperparameters.get(name, "") for name in names)] for row in rows]
    text = io.StringIO()
    csv.writer(text).writerows([header, *table])
    with atomic_path(out / "results.csv") as tmp:
        tmp.write_text(text.getvalue())
    best = best_results(rows, objective)
    lines = [f"Objective: {objective.name} ({objective.direction}imize). "
             f"{len(best)} of {len(rows)} trials completed.", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row, cells in zip(rows, table, strict=True):
        cells = ["" if c is None else _format(c) for c in cells]
        if best and row is best[0]:
            cells[0] += " (best)"
        lines.append("| " + " | ".join(cells) + " |")
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    if best:
        plot_trial_grids(
            [(r.run_dir / "samples" / "latest.png",
              f"trial {r.trial_id}: {objective.name} {r.score:.4g}") for r in best[:top]],
            out / "best_trials.png")
        with atomic_path(out / BEST_RUN, directory=True) as tmp:
            shutil.copytree(best[0].run_dir, tmp, dirs_exist_ok=True)
    return rows

