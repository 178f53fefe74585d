"""Mean, spread and paired differences of the study's measures over seeds."""

import numpy as np
from scipy import stats


def summarize(results):
    """Mean +- std of every row and measure, and each row's paired difference to ``real``
    with a 95 % t-interval over the seeds.

    Args:
        results: ``{row: {measure: [value per seed]}}``, as ``run_regime`` returns.

    Returns:
        ``{row: {measure: {"mean", "std", "values"[, "difference": {"mean", "ci95"}]}}}``.
    """
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
