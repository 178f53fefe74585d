"""Image and tissue-mask pairs: mask classes, pairs as one tensor, and which mask goes with
which image.

A slice with a mask of ``K`` classes travels as ONE float32 array ``(..., H, W, 1 + K)``:
channel 0 is the image in ``[-1, 1]``, channels ``1..K`` the mask as class probabilities (a
real mask is one-hot). Everything that moves images (cache, shuffle, batches, pooled views,
augmentation, a GAN's training step) then moves the pair as one sample.

Masks store classes as their own values: gray levels ``0/85/170/255`` in the OASIS PNG release,
integer labels in label volumes, ``0..3`` in the demo cohort. ``MaskClasses`` keeps those
values (class ``i`` is ``values[i]``), so generated masks can be written back in the source's
own values.

Where the mask of an image is (``masks`` of ``SliceOptions``):

* ``"demo"``: the demo cohort's tissue volumes (``data.demo.demo_masks``).
* a folder: each image pairs with the mask at the same path relative to the mask folder as
  the image's relative to its source folder; else with the mask whose folder is the same
  once the words ``seg``, ``mask`` and ``label`` are removed from folder names, and whose
  file name holds the same numbers (``case_001_slice_0.nii.png`` with
  ``seg_001_slice_0.nii.png``).
* a pattern, relative to each image's folder (or absolute), with the placeholders
  ``{name}`` (the image's file name) and ``{stem}`` (its name without the extension:
  ``.nii.gz``, ``.nii``, ``.hdr``, ``.png``, ...), and shell wildcards that must match
  exactly one file: ``"{stem}_seg.nii.gz"``, ``"../labels/{stem}*"``,
  ``"../../../FSL_SEG/{stem}_fseg.hdr"``.

This module holds the pure parts (numpy and paths); ``data.pipeline`` reads the files.
"""

import dataclasses
import glob
import re
from pathlib import Path

import numpy as np

from keras_mrigan.data.errors import DataError

PLACEHOLDERS = ("{name}", "{stem}")
# Words that name a folder of masks rather than what it holds: removed from folder names when
# a mask is looked up by the numbers in its name ("keras_png_slices_seg_train" holds the masks
# of "keras_png_slices_train").
MASK_WORDS = frozenset({"seg", "segs", "segmentation", "segmentations", "mask", "masks",
                        "label", "labels", "labelmap", "labelmaps"})
# Extensions that ``{stem}`` removes, longest first.
EXTENSIONS = (".nii.gz", ".nii", ".hdr", ".img", ".mgz", ".png", ".jpg", ".jpeg", ".tif",
              ".tiff", ".dcm")
# How many unmatched files an error lists before it only counts them.
LISTED = 10
# Masks whose values span fewer integers than this are counted and mapped through a table.
_TABLE_SIZE = 1 << 16


@dataclasses.dataclass(frozen=True)
class MaskClasses:
    """The classes of a source's masks.

    Attributes:
        values: the source's own value of each class (class ``i`` is stored as
            ``values[i]``): PNG gray levels, integer labels of a volume.
        names: a name per class (default ``str(value)``).
        counts: pixels of each class over the source's masks (for the one listing; zeros
            when unknown).
    """

    values: tuple
    names: tuple = ()
    counts: tuple = ()

    def __post_init__(self):
        try:
            values = tuple(_integer(v) for v in self.values)
        except (TypeError, ValueError):
            raise ValueError(f"Mask class values must be integers. Received: "
                             f"values={self.values!r}") from None
        if len(values) < 2 or len(set(values)) != len(values):
            raise ValueError("Masks need at least two classes (the background counts as one), "
                             f"each value once. Received: values={values!r}")
        names = tuple(str(n) for n in self.names) or tuple(str(v) for v in values)
        counts = tuple(int(c) for c in self.counts) or (0,) * len(values)
        if len(names) != len(values) or len(counts) != len(values):
            raise ValueError(f"`names` and `counts` must have one entry per class value. "
                             f"Received: values={values!r}, names={self.names!r}, "
                             f"counts={self.counts!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"Mask class names must differ. Received: names={names!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "counts", counts)

    @property
    def num_classes(self):
        return len(self.values)

    def with_counts(self, counts):
        """The same classes with ``counts`` pixels each."""
        return dataclasses.replace(self, counts=tuple(int(c) for c in counts))

    def to_indices(self, mask, path="mask"):
        """A mask in the source's values -> int32 class indices.

        Raises:
            DataError: the mask holds a value that is no class (naming ``path``).
        """
        mask = np.asarray(mask).astype(np.int64, copy=False)
        if mask.size == 0:
            return np.zeros(mask.shape, np.int32)
        low, high = int(mask.min()), int(mask.max())
        if high - low < _TABLE_SIZE:  # A lookup table: far faster than sorting every pixel.
            table = np.full(high - low + 1, -1, np.int32)
            for index, value in enumerate(self.values):
                if low <= value <= high:
                    table[value - low] = index
            indices = table[mask - low]
            unknown = np.unique(mask[indices < 0])
        else:
            values = np.asarray(self.values, dtype=np.int64)
            order = np.argsort(values)
            position = np.clip(np.searchsorted(values[order], mask), 0, len(values) - 1)
            indices = order[position].astype(np.int32)
            unknown = np.unique(mask[values[indices] != mask])
        if unknown.size:
            raise DataError(path, f"mask value(s) {_listing(unknown)} are not among the mask "
                            f"classes {self.describe_values()}; name every value with "
                            "--mask-classes (mask_classes)")
        return indices

    def to_values(self, indices):
        """Class indices -> the source's values (uint8 if every value fits, else int32)."""
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_classes):
            raise ValueError(f"Class indices must be in [0, {self.num_classes}). Received "
                             f"indices in [{indices.min()}, {indices.max()}]")
        dtype = np.uint8 if min(self.values) >= 0 and max(self.values) <= 255 else np.int32
        return np.asarray(self.values, dtype=dtype)[indices]

    def describe_values(self):
        return ", ".join(f"{v}={n}" if n != str(v) else str(v)
                         for v, n in zip(self.values, self.names, strict=True))

    def __str__(self):
        total = max(sum(self.counts), 1)
        rows = [f"{v} ({n}): {c} px ({100 * c / total:.1f} %)" if n != str(v)
                else f"{v}: {c} px ({100 * c / total:.1f} %)"
                for v, n, c in zip(self.values, self.names, self.counts, strict=True)]
        return f"{self.num_classes} mask classes: " + ", ".join(rows)

    def to_json(self):
        return {"values": list(self.values), "names": list(self.names),
                "counts": list(self.counts)}

    @classmethod
    def from_json(cls, data):
        if isinstance(data, cls):
            return data
        return cls(tuple(data["values"]), tuple(data.get("names", ())),
                   tuple(data.get("counts", ())))


def value_counts(mask):
    """The values of a mask and their pixel counts, ``(values, counts)``, in increasing
    order (``np.unique``, by counting when the values span a short range)."""
    mask = np.asarray(mask)
    if mask.size:
        low, high = int(mask.min()), int(mask.max())
        if high - low < _TABLE_SIZE:
            counts = np.bincount((mask.astype(np.int64, copy=False) - low).ravel())
            present = np.flatnonzero(counts)
            return present + low, counts[present]
    return np.unique(mask, return_counts=True)


def _integer(value):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(value)
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise ValueError(value)
    return int(value)


def _listing(values):
    values = [int(v) for v in np.asarray(values).ravel()]
    shown = ", ".join(map(str, values[:LISTED]))
    return shown + (f" and {len(values) - LISTED} more" if len(values) > LISTED else "")


def parse_mask_classes(text):
    """``"0=background,85=CSF,170=gray matter,255=white matter"`` -> ``MaskClasses``.

    Each item is ``VALUE=NAME`` or a bare ``VALUE`` (named by itself); class ``i`` is the
    ``i``-th item, so the first is the one padding fills squared slices with.

    Raises:
        ValueError: an item is not an integer value with an optional name, a value or name
            repeats, or fewer than two classes.
    """
    if isinstance(text, MaskClasses):
        return text
    example = "Expected e.g. '0=background,85=CSF,170=gray matter,255=white matter'."
    values, names = [], []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        value, sep, name = item.partition("=")
        name = name.strip() if sep else value.strip()
        try:
            values.append(_integer(value))
        except (TypeError, ValueError):
            raise ValueError(f"--mask-classes: {item!r} is not VALUE=NAME with an integer "
                             f"VALUE. {example} Received: mask_classes={text!r}") from None
        if not name:
            raise ValueError(f"--mask-classes: {item!r} has an empty name. {example} "
                             f"Received: mask_classes={text!r}")
        names.append(name)
    if len(values) < 2:
        raise ValueError(f"--mask-classes must name at least two classes (the background "
                         f"counts as one). {example} Received: mask_classes={text!r}")
    for kind, items in (("value", values), ("name", names)):
        repeated = sorted({str(v) for v in items if items.count(v) > 1})
        if repeated:
            raise ValueError(f"--mask-classes: each {kind} once; repeated: "
                             f"{', '.join(repeated)}. Received: mask_classes={text!r}")
    return MaskClasses(tuple(values), tuple(names))


def to_pair(images, indices, num_classes):
    """Images and class indices -> pairs ``(..., H, W, 1 + K)``: the image, then the mask
    one-hot.

    Args:
        images: float ``(..., H, W)`` or ``(..., H, W, 1)`` in ``[-1, 1]``.
        indices: integer class indices ``(..., H, W)`` in ``[0, num_classes)``.
        num_classes: ``K``, at least 2.

    Returns:
        float32 array ``(..., H, W, 1 + K)``.
    """
    images = np.asarray(images, dtype=np.float32)
    indices = np.asarray(indices)
    if images.shape[-1:] == (1,) and images.ndim == indices.ndim + 1:
        images = images[..., 0]
    if images.shape != indices.shape:
        raise ValueError(f"`images` (..., H, W[, 1]) and `indices` (..., H, W) must cover the "
                         f"same pixels. Received shapes {images.shape} and {indices.shape}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: "
                         f"num_classes={num_classes!r}")
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"`indices` must be integers. Received dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"`indices` must be in [0, {num_classes}). Received indices in "
                         f"[{indices.min()}, {indices.max()}]")
    pairs = np.empty((*images.shape, 1 + num_classes), dtype=np.float32)
    pairs[..., 0] = images
    pairs[..., 1:] = np.arange(num_classes) == indices[..., None]
    return pairs


def split_pair(pairs):
    """Pairs ``(..., H, W, 1 + K)`` -> ``(images (..., H, W, 1), indices int32 (..., H, W))``,
    each pixel's class the most probable one (ties: the lower index)."""
    pairs = np.asarray(pairs)
    if pairs.ndim < 3 or pairs.shape[-1] < 3:
        raise ValueError(f"`pairs` must be (..., H, W, 1 + K) with K >= 2 classes. Received "
                         f"shape {pairs.shape}")
    return pairs[..., :1], np.argmax(pairs[..., 1:], axis=-1).astype(np.int32)


# -- Which mask goes with which image ----------------------------------------------------------


def mask_kind(masks):
    """``"demo"``, ``"pattern"`` (it holds a placeholder or a shell wildcard) or
    ``"folder"``; ``None`` without masks.

    Raises:
        ValueError: not ``"demo"``, a pattern or an existing folder.
    """
    if masks is None:
        return None
    text = str(masks)
    if text == "demo":
        return "demo"
    unknown = set(re.findall(r"\{[^}]*\}", text)) - set(PLACEHOLDERS)
    if unknown:
        raise ValueError(f"--masks: unknown placeholder(s) {sorted(unknown)}; a pattern may "
                         f"hold {' and '.join(PLACEHOLDERS)}. Received: masks={text!r}")
    if any(p in text for p in PLACEHOLDERS) or has_wildcard(text):
        return "pattern"
    if Path(text).is_dir():
        return "folder"
    raise ValueError(
        f"--masks must be 'demo', a folder of masks, or a pattern relative to each image "
        f"holding {{stem}}, {{name}} or a wildcard (e.g. '{{stem}}_seg.nii.gz'); "
        f"{text!r} is neither an existing folder nor a pattern. Received: masks={text!r}")


def has_wildcard(text):
    """Whether a path pattern holds a shell wildcard (``*``, ``?`` or ``[``)."""
    return re.search(r"[*?[]", str(text)) is not None


def stem(path):
    """A file's name without its extension (``sub-01.nii.gz`` -> ``sub-01``); a DICOM
    series' folder name."""
    name = _name(path)
    lowered = name.lower()
    for extension in EXTENSIONS:
        if lowered.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)]
    return name


def _name(path):
    folder = getattr(path, "folder", None)  # A DICOM series is named by its folder.
    return Path(folder).name if folder is not None else Path(path).name


def _folder(path):
    folder = getattr(path, "folder", None)
    return Path(folder) if folder is not None else Path(path).parent


def pair_pattern(images, pattern):
    """Pairs images with the masks a pattern names (see the module docstring).

    Files that are some image's mask are not images themselves (a folder may hold
    ``sub-01.nii.gz`` beside ``sub-01_seg.nii.gz``).

    Returns:
        ``(images, masks)``: the images that are not masks, and the mask of each.

    Raises:
        DataError: images without a mask (listed), a pattern whose wildcards match several
            files.
    """
    found = [pattern_mask(image, pattern) for image in images]
    masks = {str(m) for m in found if m is not None}
    kept = [(i, m) for i, m in zip(images, found, strict=True) if str(i) not in masks]
    missing = [i for i, m in kept if m is None]
    check_unmatched(missing, [], sorted({_folder(i) for i in missing}),
                    f"at {pattern!r}", PATTERN_RULE)
    return [i for i, _ in kept], [m for _, m in kept]


def pattern_mask(image, pattern):
    """The mask of ``image`` under a pattern (see the module docstring).

    Returns:
        The mask's ``Path``, or ``None`` when no file matches.

    Raises:
        DataError: the pattern's wildcards match more than one file.
    """
    text = str(pattern).replace("{name}", _name(image)).replace("{stem}", stem(image))
    target = Path(text)
    if not target.is_absolute():
        target = _folder(image) / target
    if not has_wildcard(text):
        return target if target.is_file() else None
    found = sorted(Path(p) for p in glob.glob(str(target)) if Path(p).is_file()
                   and Path(p) != Path(str(image)))
    if len(found) > 1:
        listing = "\n  ".join(map(str, found[:LISTED]))
        raise DataError(image, f"the mask pattern {pattern!r} matches {len(found)} files, "
                        f"not one:\n  {listing}")
    return found[0] if found else None


def _relative(path, roots):
    """``path`` relative to the first of ``roots`` that holds it (else its name alone); a
    DICOM series is named by its folder."""
    folder = getattr(path, "folder", None)
    path = Path(folder) if folder is not None else Path(path)
    for root in roots:
        try:
            return path.relative_to(root)
        except ValueError:
            continue
    return Path(path.name)


def _folder_key(parts):
    """Folder names without the words that say they hold masks."""
    key = []
    for part in parts:
        words = [w for w in re.split(r"[_\-. ]+", part.lower()) if w and w not in MASK_WORDS]
        key.append("_".join(words))
    return tuple(key)


def number_key(relative):
    """What an image and its mask share when their names differ by a prefix: the folder
    (without mask words) and the numbers in the file name, as integers."""
    relative = Path(relative)
    numbers = tuple(int(n) for n in re.findall(r"\d+", relative.name))
    return _folder_key(relative.parts[:-1]), numbers


def pair_folder(images, roots, masks, mask_root, strict=True):
    """Pairs images with the masks of a folder (see the module docstring).

    Args:
        images: the source's image files.
        roots: the source's folders (or files), to which image paths are relative.
        masks: the mask files found under ``mask_root``.
        mask_root: the folder of masks.
        strict: masks without an image are an error too (else they are left alone).

    Returns:
        A list of mask paths, one per image.

    Raises:
        DataError: images without a mask, or (``strict``) masks without an image, listed; an
            image whose numbers match several masks.
    """
    roots = [Path(r) if Path(r).is_dir() else Path(r).parent for r in roots]
    mask_root = Path(mask_root)
    by_path, by_numbers = {}, {}
    for mask in masks:
        relative = _relative(mask, [mask_root])
        by_path[relative] = mask
        by_numbers.setdefault(number_key(relative), []).append(mask)
    found, missing = [], []
    for image in images:
        relative = _relative(image, roots)
        mask = by_path.get(relative)
        if mask is None:
            candidates = by_numbers.get(number_key(relative), [])
            if len(candidates) > 1:
                listing = "\n  ".join(map(str, candidates[:LISTED]))
                raise DataError(image, f"the numbers in its name match {len(candidates)} "
                                f"masks in {mask_root}; name masks after their images:\n  "
                                f"{listing}")
            mask = candidates[0] if candidates else None
        found.append(mask)
        if mask is None:
            missing.append(image)
    used = {str(m) for m in found if m is not None}
    extra = [m for m in masks if str(m) not in used] if strict else []
    check_unmatched(missing, extra, roots, f"in {mask_root}")
    return found


FOLDER_RULE = ("Masks pair by the same relative path, else by the same folder and the same "
               "numbers in the file name (case_001_slice_0.nii.png with "
               "seg_001_slice_0.nii.png).")
PATTERN_RULE = ("A pattern names each image's mask with {name} (its file name) and {stem} (its "
                "name without the extension), relative to the image's folder.")


def check_unmatched(missing, extra, roots, where, rule=FOLDER_RULE):
    """One error for images without a mask and masks without an image, listing the first
    few of each with their counts."""
    if not missing and not extra:
        return
    parts = []
    source = ", ".join(map(str, roots))
    if missing:
        parts.append(f"{len(missing)} image(s) of {source} have no mask {where}:\n  "
                     + _files(missing))
    if extra:
        parts.append(f"{len(extra)} mask(s) {where} have no image in {source}:\n  "
                     + _files(extra))
    raise DataError(roots[0] if roots else where, "\n".join(parts) + "\n" + rule)


def _files(paths):
    shown = "\n  ".join(map(str, paths[:LISTED]))
    more = len(paths) - LISTED
    return shown + (f"\n  ... and {more} more" if more > 0 else "")
