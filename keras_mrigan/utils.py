"""Small helpers shared across the package."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, directory=False):
    """Yields a temporary path beside ``path``; renames it onto ``path`` when the block succeeds.

    Readers never see a half-written file: the temporary lives in the same folder (so the rename
    is atomic on POSIX file systems) and is removed if the block raises.

    Args:
        path: the final file or folder.
        directory: create the temporary as an (empty) folder instead of reserving a file name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        # The temporary keeps the final suffixes: some writers (Keras, nibabel's ".nii.gz")
        # pick the format from them.
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes[-2:])}",
            dir=path.parent,
        )
        os.close(fd)
        tmp = Path(name)
    # mkstemp/mkdtemp make private files; give the result the usual permissions instead.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)
    try:
        yield tmp
        if directory and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def cache_dir():
    """The user's cache folder for this package.

    ``$KERAS_MRIGAN_CACHE`` if set, else ``$XDG_CACHE_HOME/keras_mrigan``, else
    ``~/.cache/keras_mrigan``.
    """
    if os.environ.get("KERAS_MRIGAN_CACHE"):
        return Path(os.environ["KERAS_MRIGAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras_mrigan"


class Progress:
    """A minimal text progress bar on stderr for long loops outside ``model.fit``.

    On a terminal the bar redraws in place; elsewhere (logs, CI) it prints a line at every
    tenth of the work, so logs stay short.
    """

    def __init__(self, total, description, stream=None, width=30):
        import sys

        self.total = max(int(total), 1)
        self.description = description
        self.stream = stream or sys.stderr
        self.width = width
        self.count = 0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_tenth = -1

    def update(self, n=1):
        self.count = min(self.count + n, self.total)
        done = self.count / self.total
        if self._tty:
            filled = int(self.width * done)
            bar = "=" * filled + "." * (self.width - filled)
            end = "\n" if self.count == self.total else ""
            self.stream.write(f"\r{self.description} [{bar}] {self.count}/{self.total}{end}")
        elif int(done * 10) > self._last_tenth:
            self._last_tenth = int(done * 10)
            self.stream.write(f"{self.description}: {self.count}/{self.total}\n")
        self.stream.flush()


def format_duration(seconds):
    """``seconds`` for people: ``"40 s"``, ``"6 min 5 s"``, ``"2 h 14 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
