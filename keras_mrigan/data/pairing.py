"""Pairing the images of a source with their masks (``SliceOptions.masks``), read once.

``mask_pairs`` finds each image's mask (the rules are in ``keras_mrigan.data.masks``),
reads every mask once against its image and collects the classes; the ``MaskPairs`` it
returns turns a file's slices into image + mask pairs as the slices are read.
"""

import dataclasses
import logging
import warnings
from pathlib import Path

from keras_mrigan.data import masks as masks_module
from keras_mrigan.data import preprocess, readers
from keras_mrigan.data.demo import TISSUE_CLASSES, cohort_folder_settings, demo_masks
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.data.sources import resolve_source, slice_options, source_files

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class MaskPairs:
    """The images of a source with a mask each, and the masks' classes.

    Attributes:
        files: the images (``Path`` or ``DicomSeries``), in source order.
        masks: the mask ``Path`` of each image, by ``str(image)``.
        classes: a ``MaskClasses``, with each class's pixel count over the masks.
    """

    files: list
    masks: dict
    classes: MaskClasses

    def of(self, path):
        return self.masks[str(path)]

    def prepare(self, path, stack, resolution, min_foreground, options):
        """A file's slices (``read_stack``'s ``stack``) with its mask's, as pairs
        ``(n, resolution, resolution, 1 + K)`` that went through the same steps."""
        indices = readers.read_mask_stack(path, self.of(path), self.classes, options.axis,
                                          options.central_fraction, options.spacing)
        if indices.shape != stack.shape:  # Guards the readers' promise of equal slicing.
            raise readers.DataError(self.of(path), f"mask slices of shape {indices.shape} "
                                    f"differ from those of its image {path}: {stack.shape}")
        images, indices = preprocess.prepare_pairs(stack, indices, resolution, min_foreground,
                                                   options.square)
        return masks_module.to_pair(images, indices, self.classes.num_classes)


def mask_pairs(source, options=None):
    """Pairs every image of a source with its mask and reads the masks' classes, or ``None``
    without ``options.masks``.

    Every mask is read once here: its size (or voxel grid) against its image's and its
    values against ``options.mask_classes``, so that a bad pair stops the run before any
    slice is used. The classes found are logged once with their pixel counts.

    Args:
        source: path(s) or ``"demo"``.
        options: a ``SliceOptions``.

    Returns:
        A ``MaskPairs``.

    Raises:
        DataError: images without a mask or masks without an image (listed), a mask of
            another size or voxel grid, a value not in ``mask_classes``, fewer than two
            classes.
        ValueError: ``masks`` is not ``"demo"``, a folder or a pattern; masks with an array
            source, with ``include_masks``, or ``"demo"`` for another source.
    """
    options = slice_options(options, {})
    kind = masks_module.mask_kind(options.masks)
    if kind is None:
        return None
    if options.include_masks:
        raise ValueError("`masks` pairs each image with its mask; `include_masks` would read "
                         "the masks as images too. Use one or the other.")
    source = resolve_source(source)
    if not isinstance(source, (Path, list, tuple)):
        raise ValueError("`masks` pairs files with their masks; an array source cannot take "
                         "them (pass pairs (N, H, W, 1 + K) with `mask_classes` instead).")
    roots = [Path(r) for r in (source if isinstance(source, (list, tuple)) else [source])]
    files = source_files(source, options)
    classes = masks_module.parse_mask_classes(options.mask_classes) \
        if options.mask_classes is not None else None
    strict = options.pattern is None  # A pattern leaves out the masks of the images it skips.
    if kind == "pattern":
        files, found = masks_module.pair_pattern(files, options.masks)
    else:
        if kind == "demo":
            folder = _demo_masks(roots)
            classes = classes or MaskClasses((0, 1, 2, 3), TISSUE_CLASSES)
        else:
            folder = Path(options.masks)
        images = {str(f) for f in files}
        try:
            candidates = [m for m in readers.find_files(folder, include_masks=True)
                          if isinstance(m, Path) and str(m) not in images]
        except ValueError:  # No file at all: every image is listed as without a mask.
            candidates = []
        if folder.resolve() not in {r.resolve() for r in roots}:
            # A mask folder inside the source holds masks, not images.
            files = [f for f in files if not _inside(f, folder)]
        found = masks_module.pair_folder(files, roots, candidates, folder, strict=strict)
    return _read_mask_classes(files, found, classes, options)


def _inside(path, folder):
    try:
        Path(str(path)).resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _demo_masks(roots):
    """The tissue masks of the demo cohort a source is."""
    settings = cohort_folder_settings(roots)
    if settings is None:
        raise ValueError("--masks demo pairs the demo cohort with its tissue masks: use it "
                         "with --data demo (or demo:N).")
    return demo_masks(settings, directory=roots[0].parent)


def _read_mask_classes(files, found, classes, options):
    """Reads every mask once: checks it against its image, collects its values' pixel
    counts, and returns the ``MaskPairs`` (logging the classes once)."""
    counts, kept, bad = {}, [], []
    for image, mask in zip(files, found, strict=True):
        try:
            values = readers.check_mask(image, mask)
            present, number = masks_module.value_counts(values)
            if classes is not None:
                classes.to_indices(present, mask)  # A value not listed is an error.
        except readers.DataError as exc:
            if not options.skip_bad_files:
                raise
            bad.append(str(exc))
            continue
        for value, count in zip(present.tolist(), number.tolist(), strict=True):
            counts[value] = counts.get(value, 0) + count
        kept.append((image, mask))
    if bad:
        listing = "\n  ".join(bad)
        warnings.warn(f"Skipped {len(bad)} image(s) whose mask cannot be used:\n  {listing}",
                      stacklevel=3)
    if not kept:
        raise readers.DataError(options.masks, "no image with a usable mask")
    if classes is None:
        if len(counts) < 2:
            raise readers.DataError(kept[0][1], f"every mask holds the one value "
                                    f"{next(iter(counts))}: masks need at least two classes "
                                    "(the background counts as one)")
        classes = MaskClasses(tuple(sorted(counts)))
    classes = classes.with_counts([counts.get(v, 0) for v in classes.values])
    logger.info("Masks of %d image(s) from %s: %s", len(kept), options.masks, classes)
    return MaskPairs([i for i, _ in kept], {str(i): m for i, m in kept}, classes)
