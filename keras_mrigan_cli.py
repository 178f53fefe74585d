"""The ``keras-mrigan`` command: hides TensorFlow's start-up lines unless asked for, then
runs ``keras_mrigan.cli.main``.

It lives beside the package rather than in it: importing anything of ``keras_mrigan``
imports TensorFlow (the package registers its Keras objects when imported), and TensorFlow
prints its start-up lines during that import, before any code of the command could run.
"""

import logging
import os
import re
import sys
import tempfile
import time

# TensorFlow's start-up lines: absl's notice, then info and warning lines such as
# "I0000 00:00:1795517787.921570    9051 port.cc:153] oneDNN custom operations are on".
_START_UP_LINE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]")


def quiet_tensorflow():
    """Hides TensorFlow's start-up lines (oneDNN and CUDA notices, absl warnings) and its
    later info, warning and error logs, unless the user chose a level with
    ``TF_CPP_MIN_LOG_LEVEL``.

    The level only silences what TensorFlow logs after its import: the lines of the import
    itself are decided by the environment the process started with. So TensorFlow is imported
    here with the process's standard error captured, and everything but those lines is
    written back.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines
                                     if not _START_UP_LINE.match(line)))



def enable_onednn(environ=None):
    """Turns TensorFlow's oneDNN kernels on unless the environment already chose
    (``TF_ENABLE_ONEDNN_OPTS``). TensorFlow reads the variable once, when it starts: on x86
    Linux its default is on only for CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, and
    elsewhere (AMD EPYC before Zen 4, for one) it runs its Eigen kernels, which ran the demo's
    float32 train step at 0.65x the speed of oneDNN held to the same AVX2 instructions."""
    environ = os.environ if environ is None else environ
    environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def main(argv=None):
    """Runs ``keras-mrigan`` with ``argv`` (default: the process's arguments); quiet unless
    ``--verbose``. The command's clock (the demo's time budget) starts here, before
    TensorFlow's import."""
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else list(argv)
    enable_onednn()
    if "--verbose" not in argv:
        quiet_tensorflow()
    from keras_mrigan.cli import main as run

    return run(argv, started=started)


if __name__ == "__main__":
    sys.exit(main())
