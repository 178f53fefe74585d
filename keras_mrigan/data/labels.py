"""One class label per file: from class folders, from a table (CSV), or the demo cohort's own.

* ``"folders"``: the Keras convention of ``image_dataset_from_directory``: every file lies
  below a class folder of the source (``data/AD/...``, ``data/CN/...``), classes sorted by
  name.
* a CSV path: an ID column and a label column; each file takes the row whose ID occurs in its
  path (the longest such ID). The OASIS-1 clinical table is the model: ``ID``
  (``OAS1_0001_MR1``) and ``CDR`` (0, 0.5, 1, 2, or empty for young subjects). A label map
  (``"0=control,0.5=dementia,1=dementia,2=dementia"``) turns values into classes; without
  one every distinct value is a class.
* ``"demo"``: the demo cohort's classes, "control" and "atrophy" (see
  ``data.demo.subject_classes``).

Files without a label (an empty cell, no matching row) are an error listing them, or are
dropped with a count when ``drop_unlabelled`` is set.
"""

import csv
import dataclasses
import math
import warnings
from pathlib import Path

from keras_mrigan.data.demo import CLASSES, cohort_folder_settings, subject_classes
from keras_mrigan.data.errors import DataError
from keras_mrigan.deprecation import moved

KINDS = ("folders", "demo")

# One helper for data and models, in ``keras_mrigan.layers.conditioning``.
__getattr__ = moved(__name__, ("class_index",), "keras_mrigan.layers.conditioning")


@dataclasses.dataclass(frozen=True)
class LabelOptions:
    """Where the labels come from (see the module docstring).

    Attributes:
        labels: ``"folders"``, ``"demo"`` or the path of a CSV table.
        label_column: the table's label column (required for a table).
        id_column: the table's ID column.
        label_map: ``"value=class,value=class"`` (a table's values to class names); numbers
            compare as numbers (``0`` matches ``0.0``).
        drop_unlabelled: drop files without a label (with a warning counting them) instead
            of failing.
    """

    labels: str
    label_column: str | None = None
    id_column: str = "ID"
    label_map: str | None = None
    drop_unlabelled: bool = False


# The names of ``LabelOptions``' fields: the run settings that say where labels come from.
LABEL_SETTINGS = tuple(field.name for field in dataclasses.fields(LabelOptions))


@dataclasses.dataclass
class FileLabels:
    """The labelled files of a source: ``files`` in source order, ``classes`` their class
    indices into ``class_names``, and ``dropped`` the unlabelled files left out."""

    files: list
    classes: list
    class_names: tuple
    dropped: list = dataclasses.field(default_factory=list)

    def of(self, path):
        return self._index[str(path)]

    def __post_init__(self):
        self._index = {str(f): c for f, c in zip(self.files, self.classes, strict=True)}


def label_options(labels, **settings):
    """A ``LabelOptions`` from a kind or table path and its settings (``None``: no labels)."""
    if labels is None or isinstance(labels, LabelOptions):
        return labels
    return LabelOptions(str(labels), **{k: v for k, v in settings.items() if v is not None})


def assign(files, roots, options):
    """Labels every file.

    Args:
        files: the source's files (``readers.find_files``), in order.
        roots: the source's folders or files, for class folders and the demo cohort.
        options: a ``LabelOptions``.

    Returns:
        A ``FileLabels``.

    Raises:
        DataError, ValueError: a class folder without images, a file outside every class
            folder, a table without the named columns or whose IDs match no file, a value
            without a class in the label map, unlabelled files (without
            ``drop_unlabelled``).
    """
    roots = [Path(r) for r in (roots if isinstance(roots, (list, tuple)) else [roots])]
    if options.labels == "folders":
        names, found = _from_folders(files, roots)
    elif options.labels == "demo":
        names, found = _from_demo(files, roots)
    else:
        names, found = _from_table(files, options)
    missing = [f for f, c in zip(files, found, strict=True) if c is None]
    if missing and not options.drop_unlabelled:
        listing = "\n  ".join(map(str, missing[:20])) + (
            f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise ValueError(
            f"{len(missing)} of {len(files)} file(s) have no label in {options.labels}:\n  "
            f"{listing}\nLabel them, or drop them with --drop-unlabelled "
            "(drop_unlabelled=True)."
        )
    if missing:
        warnings.warn(f"Dropped {len(missing)} of {len(files)} file(s) without a label in "
                      f"{options.labels}.", stacklevel=3)
    kept = [(f, c) for f, c in zip(files, found, strict=True) if c is not None]
    if not kept:
        raise ValueError(f"No file has a label in {options.labels}.")
    return FileLabels([f for f, _ in kept], [c for _, c in kept], tuple(names), missing)


def _from_folders(files, roots):
    """Class = the first folder below the root a file lies in."""
    per_file, classes = [], set()
    for file in files:
        for root in roots:
            try:
                parts = Path(str(file)).relative_to(root).parts
            except ValueError:
                continue
            if len(parts) < 2:
                raise DataError(file, f"not inside a class folder of {root} (with labels "
                                "from folders, every file lies in ROOT/CLASS/...)")
            per_file.append(parts[0])
            classes.add((root, parts[0]))
            break
        else:
            raise DataError(file, "with labels from folders, the source must be folders of "
                            "class folders")
    for root in roots:
        if not root.is_dir():
            raise DataError(root, "with labels from folders, the source must be a folder of "
                            "class folders")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()
                             and not p.name.startswith(".")):
            if (root, folder.name) not in classes:
                raise DataError(folder, "class folder without any image or volume")
    names = sorted({name for _, name in classes})
    if len(names) < 2:
        raise DataError(roots[0], f"labels from folders need at least two class folders; "
                        f"found {names}")
    index = {name: i for i, name in enumerate(names)}
    return names, [index[name] for name in per_file]


def _from_demo(files, roots):
    settings = cohort_folder_settings(roots)
    if settings is None:
        raise ValueError("--labels demo labels the demo cohort only: use it with --data demo "
                         "(or demo:N).")
    classes = subject_classes(settings)
    return list(CLASSES), [classes.get(Path(str(f)).name) for f in files]


def parse_label_map(text):
    """``"0=control,0.5=dementia"`` -> ``[("0", "control"), ("0.5", "dementia")]``."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        value, sep, name = item.partition("=")
        if not sep or not value.strip() or not name.strip():
            raise ValueError(f"--label-map: {item!r} is not VALUE=CLASS. Expected e.g. "
                             "'0=control,0.5=dementia,1=dementia'.")
        pairs.append((value.strip(), name.strip()))
    if not pairs:
        raise ValueError("--label-map is empty. Expected e.g. '0=control,0.5=dementia'.")
    return pairs


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _same(a, b):
    x, y = _number(a), _number(b)
    return x == y if x is not None and y is not None else a == b


def _from_table(files, options):
    table = Path(options.labels)
    if not table.is_file():
        raise FileNotFoundError(f"Label table {table} does not exist (--labels expects "
                                f"'folders', 'demo' or a CSV file).")
    if not options.label_column:
        raise ValueError(f"--labels {table}: name the label column with --label-column.")
    with open(table, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for column, flag in ((options.id_column, "--id-column"),
                             (options.label_column, "--label-column")):
            if column not in columns:
                raise DataError(table, f"no column {column!r} ({flag}); its columns are "
                                f"{columns}")
        rows = [(row[options.id_column].strip(), (row[options.label_column] or "").strip())
                for row in reader if (row[options.id_column] or "").strip()]
    mapping = parse_label_map(options.label_map) if options.label_map else None
    # Longest IDs first, so that OAS1_0001_MR1 wins over a shorter ID it contains.
    ordered = sorted(rows, key=lambda row: -len(row[0]))
    matches = [next((r for r in ordered if r[0] in str(file)), None) for file in files]
    if rows and not any(matches):
        raise DataError(table, f"none of its {len(rows)} IDs (column {options.id_column!r}, "
                        f"e.g. {rows[0][0]!r}) occurs in the path of any of the "
                        f"{len(files)} file(s), e.g. {str(files[0])!r}")
    if mapping:
        names = list(dict.fromkeys(name for _, name in mapping))
    else:  # Every value of the files' rows is a class, in numeric order if all are numbers.
        values = {row[1] for row in matches if row and row[1]}
        numeric = all(_number(v) is not None for v in values)
        names = sorted(values, key=_number if numeric else None)
    index = {name: i for i, name in enumerate(names)}

    def class_of(identifier, value):
        if not value:
            return None
        if mapping is None:
            return index[value]
        for key, name in mapping:
            if _same(key, value):
                return index[name]
        raise DataError(table, f"value {value!r} of column {options.label_column!r} (row "
                        f"{identifier}) has no class in the label map {options.label_map!r}")

    found = [None if row is None else class_of(*row) for row in matches]
    return names, found
