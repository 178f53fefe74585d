"""Intensity normalization, empty-slice filtering, squaring and resizing of 2-D slices.

Every function works on numpy arrays: a *stack* is a float32 array of shape ``(n, H, W)``
holding ``n`` slices. Values produced here are always in ``[-1, 1]``, the range the paper's
networks are trained on (the generator ends in ``tanh``).
"""

import warnings

import numpy as np
from PIL import Image

MIN_RESOLUTION = 16
MAX_RESOLUTION = 1024

DEFAULT_CLIP_PERCENTILES = (0.5, 99.5)
# A pixel counts as foreground when it is above this fraction of the [-1, 1] range.
FOREGROUND_LEVEL = 0.1
# A volume slice is kept when at least this fraction of its pixels is foreground. This drops the
# slices above the head and below the cerebellum, where only a few specks of tissue remain.
DEFAULT_MIN_FOREGROUND = 0.08

SQUARE_MODES = ("pad", "crop")


def check_resolution(resolution, name="resolution"):
    """Validates an image side length: a power of two from 16 to 1024.

    Returns:
        The resolution as an ``int``.
    """
    valid = (
        isinstance(resolution, (int, np.integer))
        and not isinstance(resolution, bool)
        and MIN_RESOLUTION <= resolution <= MAX_RESOLUTION
        and (resolution & (resolution - 1)) == 0
    )
    if not valid:
        raise ValueError(
            f"`{name}` must be a power of two between {MIN_RESOLUTION} and {MAX_RESOLUTION} "
            f"(16, 32, 64, ...). Received: {name}={resolution!r}"
        )
    return int(resolution)


def scale_integer_image(image):
    """Scales an integer image from its dtype's full range to ``[-1, 1]``, as the paper does.

    An 8-bit value ``v`` becomes ``v / 127.5 - 1``; 16-bit images use 65535 instead of 255.
    Float images are assumed to be in ``[0, 1]``.
    """
    image = np.asarray(image)
    top = float(np.iinfo(image.dtype).max) if np.issubdtype(image.dtype, np.integer) else 1.0
    return (image.astype(np.float32) * (2.0 / top) - 1.0).clip(-1.0, 1.0)


def replace_non_finite(volume, name="array"):
    """Replaces NaN and infinite voxels by the volume's finite minimum, with a warning.

    Args:
        volume: the array to clean (not modified).
        name: how to name the source in the warning, usually its file path.
    """
    finite = np.isfinite(volume)
    bad = volume.size - int(np.count_nonzero(finite))
    if bad == 0:
        return volume
    if bad == volume.size:
        raise ValueError(f"{name}: every voxel is NaN or infinite; nothing to read.")
    fill = volume[finite].min()
    warnings.warn(
        f"{name}: replaced {bad} non-finite voxel(s) (NaN or Inf) by the volume minimum {fill:g}.",
        stacklevel=2,
    )
    return np.where(finite, volume, fill).astype(np.float32, copy=False)


def normalize_volume(volume, clip_percentiles=DEFAULT_CLIP_PERCENTILES, name="array"):
    """Clips a volume's intensities at two percentiles and scales them linearly to ``[-1, 1]``.

    Args:
        volume: array of any shape with raw scanner intensities.
        clip_percentiles: ``(low, high)`` percentiles, each in ``[0, 100]`` with ``low < high``.
        name: how to name the source in warnings and errors.

    Returns:
        float32 array of the same shape, with the low percentile at -1 and the high one at 1.
    """
    low, high = _check_percentiles(clip_percentiles)
    volume = replace_non_finite(np.asarray(volume, dtype=np.float32), name=name)
    lo, hi = np.percentile(volume, [low, high]).astype(np.float32)
    if hi <= lo:
        # A constant volume: nothing is foreground, every value maps to the background.
        return np.full(volume.shape, -1.0, dtype=np.float32)
    scaled = (volume - lo) * (np.float32(2.0) / (hi - lo)) - np.float32(1.0)
    return np.clip(scaled, -1.0, 1.0, out=scaled)


def _check_percentiles(clip_percentiles):
    try:
        low, high = (float(p) for p in clip_percentiles)
    except (TypeError, ValueError):
        raise ValueError(
            "`clip_percentiles` must be two numbers (low, high). "
            f"Received: clip_percentiles={clip_percentiles!r}"
        ) from None
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(
            "`clip_percentiles` must satisfy 0 <= low < high <= 100. "
            f"Received: clip_percentiles={clip_percentiles!r}"
        )
    return low, high


def foreground_fraction(stack, level=FOREGROUND_LEVEL):
    """Fraction of each slice's pixels above ``level`` of the ``[-1, 1]`` range.

    Returns:
        float array of shape ``(n,)``.
    """
    stack = np.asarray(stack)
    threshold = np.float32(-1.0 + 2.0 * level)
    return (stack > threshold).mean(axis=(-2, -1))


def drop_empty(stack, min_foreground=DEFAULT_MIN_FOREGROUND):
    """Keeps the slices whose foreground fraction is at least ``min_foreground``."""
    if not 0.0 <= min_foreground < 1.0:
        raise ValueError(
            f"`min_foreground` must be in [0, 1). Received: min_foreground={min_foreground!r}"
        )
    if min_foreground == 0.0:
        return stack
    return stack[foreground_fraction(stack) >= min_foreground]


def crop_or_pad_square(stack, mode="pad", fill=-1.0):
    """Makes slices square around their centre.

    Args:
        stack: array ``(n, H, W)``.
        mode: ``"pad"`` grows the short side with ``fill`` (keeps the whole field of view);
            ``"crop"`` cuts the long side.
        fill: value for padded pixels: the background, -1 after normalization.
    """
    if mode not in SQUARE_MODES:
        raise ValueError(f"`square` must be one of {SQUARE_MODES}. Received: square={mode!r}")
    n, h, w = stack.shape
    if h == w:
        return stack
    side = max(h, w) if mode == "pad" else min(h, w)
    out = np.full((n, side, side), fill, dtype=stack.dtype)
    # Offsets of the overlapping window in the source (s) and the target (t).
    sy, ty = max((h - side) // 2, 0), max((side - h) // 2, 0)
    sx, tx = max((w - side) // 2, 0), max((side - w) // 2, 0)
    ch, cw = min(h, side), min(w, side)
    out[:, ty : ty + ch, tx : tx + cw] = stack[:, sy : sy + ch, sx : sx + cw]
    return out


def resize(stack, resolution, nearest=False):
    """Resizes square slices to ``resolution`` x ``resolution``.

    Uses Pillow's bilinear filter, which widens its support when shrinking, so downsampling
    averages (no aliasing) and upsampling interpolates; neither overshoots ``[-1, 1]``.
    With ``nearest``, each output pixel takes the input pixel under its centre (masks: no
    new labels); the centres are those of the bilinear filter, so a mask stays aligned with
    its image.
    """
    n, h, w = stack.shape
    if h == resolution and w == resolution:
        return stack.astype(np.float32, copy=False)
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    out = np.empty((n, resolution, resolution), dtype=np.float32)
    for i in range(n):
        image = Image.fromarray(np.ascontiguousarray(stack[i], dtype=np.float32), mode="F")
        out[i] = np.asarray(image.resize((resolution, resolution), method))
    return out


def prepare_slices(stack, resolution, min_foreground=0.0, square="pad"):
    """The per-file preprocessing chain: drop empty slices, make square, resize.

    Args:
        stack: float array ``(n, H, W)`` already in ``[-1, 1]``.
        resolution: target side, a power of two from 16 to 1024.
        min_foreground: drop slices with less foreground than this (0 keeps all).
        square: ``"pad"`` or ``"crop"``, see ``crop_or_pad_square``.

    Returns:
        float32 array ``(m, resolution, resolution)`` with ``m <= n``.
    """
    resolution = check_resolution(resolution)
    stack = drop_empty(stack, min_foreground)
    if len(stack) == 0:
        return np.empty((0, resolution, resolution), dtype=np.float32)
    return resize(crop_or_pad_square(stack, mode=square), resolution)


def prepare_pairs(stack, indices, resolution, min_foreground=0.0, square="pad"):
    """``prepare_slices`` of slices and their masks alike.

    A slice dropped for its image's lack of foreground is dropped with its mask; masks are
    squared with class 0 (the first class: the background) where images get background, and
    resized with nearest-neighbour interpolation.

    Args:
        stack: float array ``(n, H, W)`` in ``[-1, 1]``.
        indices: integer class indices ``(n, H, W)``.

    Returns:
        ``(images, indices)``: float32 ``(m, resolution, resolution)`` and int32 of the same
        shape.
    """
    resolution = check_resolution(resolution)
    if np.shape(stack) != np.shape(indices):
        raise ValueError(f"Slices and masks must have the same shape. Received "
                         f"{np.shape(stack)} and {np.shape(indices)}")
    if not 0.0 <= min_foreground < 1.0:
        raise ValueError(
            f"`min_foreground` must be in [0, 1). Received: min_foreground={min_foreground!r}"
        )
    if min_foreground > 0.0:
        keep = foreground_fraction(stack) >= min_foreground
        stack, indices = stack[keep], indices[keep]
    if len(stack) == 0:
        empty = np.empty((0, resolution, resolution), dtype=np.float32)
        return empty, empty.astype(np.int32)
    images = resize(crop_or_pad_square(stack, mode=square), resolution)
    labels = crop_or_pad_square(np.asarray(indices, dtype=np.float32), mode=square, fill=0.0)
    return images, np.rint(resize(labels, resolution, nearest=True)).astype(np.int32)
