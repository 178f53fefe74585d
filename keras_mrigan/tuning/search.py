"""The ``tune`` entry point: run or resume a search and write its report."""

import os
from pathlib import Path

from keras_mrigan.tuning.hypermodel import GANHyperModel
from keras_mrigan.tuning.report import best_results, write_results
from keras_mrigan.tuning.space import TUNABLE, load_space
from keras_mrigan.tuning.tuners import make_tuner

REFERENCE_STATS = "reference_stats.npz"


def is_worker():
    """Whether this process is a worker of a distributed search (``KERASTUNER_TUNER_ID`` set
    to anything but ``chief``)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    return bool(os.environ.get("KERASTUNER_ORACLE_IP")) and tuner_id not in (None, "chief")


def tune(config, out, tuner="random", max_trials=10, space=None, objective="swd",
         metrics_n=256, overwrite=False, seed=0, verbose=1, top=4, default_space=True,
         fixed=None):
    """Runs (or resumes) a search and writes its report.

    Args:
        config: the base ``RunConfig`` of an unconditional GAN (its ``epochs`` is each
            trial's length).
        out: the search folder.
        tuner, max_trials, seed: see ``make_tuner``.
        space: a search space (see ``GANHyperModel``) or the path of its JSON file.
        fixed: settings held at these values in the search (``{name: value}``; those that
            are not tunable are ignored: they are the base config's already).
        objective, metrics_n, default_space: see ``GANHyperModel``.
        overwrite: start afresh instead of resuming ``out``.
        verbose: 1: Keras Tuner's trial summaries and Keras' progress bars; 2: a line per
            epoch; 0: silent.
        top: trials shown in ``best_trials.png``.

    In a distributed search (Keras Tuner's ``KERASTUNER_*`` variables) the chief serves the
    oracle (``search`` returns when the workers are done) and writes the report; workers only
    run trials.

    Returns:
        The tuner.
    """
    if config.data.labels:
        raise ValueError("A search tunes unconditional GANs: `labels` is not supported here. "
                         "Tune without labels, then train the conditional GAN with the best "
                         f"settings and labels. Received: labels={config.data.labels!r}")
    if isinstance(space, (str, os.PathLike)):
        space = load_space(space)
    space = {**(space or {}),
             **{name: value for name, value in (fixed or {}).items() if name in TUNABLE}}
    out = Path(out)
    hypermodel = GANHyperModel(config, space=space, objective=objective, metrics_n=metrics_n,
                               stats_path=out / REFERENCE_STATS, default_space=default_space)
    search = make_tuner(hypermodel, tuner, max_trials=max_trials, directory=out,
                        overwrite=overwrite, seed=seed)
    search.search(verbose=verbose)
    if not is_worker():
        rows = write_results(search, out, top=top)
        if rows and not best_results(rows, hypermodel.objective):
            failures = [search.oracle.trials[r.trial_id].message for r in rows]
            last = next((m for m in reversed(failures) if m), "")
            raise ValueError(f"No trial of the search in {out} completed (see results.md). "
                             f"The last failure: {last.strip().splitlines()[-1] if last else '?'}")
    return search
