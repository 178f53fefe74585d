"""What several benchmark scripts share: the ``keras-mrigan`` command of this interpreter, the
``--set NAME=VALUE`` parser, and scoring samples as the demo is scored.

It imports neither TensorFlow nor the package, so a script imports it before it chooses its
environment variables. Scripts run as ``python benchmarks/NAME.py`` find it beside them.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# The command line in a fresh process of this interpreter (the package's entry point, without
# relying on a console script being on PATH).
CLI = [sys.executable, "-c", "import keras_mrigan_cli, sys; sys.exit(keras_mrigan_cli.main())"]


def parse_setting(text):
    """``"NAME=VALUE"`` -> ``(NAME, value)``: the value read as JSON (numbers, ``true``,
    ``null``, lists), else kept as a string (``upsample=bilinear``)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE. Received: {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def evaluate_demo(generated, out, n, stats, flags=(), log=None):
    """``keras-mrigan evaluate --generated GENERATED --reference demo --n N`` in a fresh process,
    the reference's statistics kept in (and reused from) ``stats``: the report's metrics.

    ``generated`` is a run folder, a ``.keras`` file, a SavedModel or a folder of images;
    ``flags`` adds to the command (``--raw-generator``); ``log`` keeps its output. A failure
    raises with the end of its error output."""
    argv = ["evaluate", "--generated", str(generated), "--reference", "demo", "--n", str(n),
            "--reference-stats", str(stats), "--out", str(out), *flags]
    done = subprocess.run(CLI + argv, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if log is not None:
        Path(log).write_text(done.stdout + done.stderr)
    if done.returncode:
        raise RuntimeError(f"keras-mrigan {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return json.loads((Path(out) / "metrics.json").read_text())


def swd_ratio(metrics):
    """A report's mean SWD over the real-vs-real floor it measured."""
    return metrics["swd"]["mean"] / metrics["reference"]["swd"]["mean"]
