"""The error every reader raises for a data file it cannot use."""


class DataError(ValueError):
    """A data file that cannot be used, with the offending path in ``path``."""

    def __init__(self, path, message):
        self.path = str(path)
        super().__init__(f"{path}: {message}")
