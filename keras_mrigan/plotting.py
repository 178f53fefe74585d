"""Pictures: image grids and figures written as PNG files.

Figures are drawn through matplotlib's object API (a ``Figure`` on its own Agg canvas), never
through ``pyplot``: the process's backend (a notebook's, say) is left as it is, and no figure
is registered with ``pyplot``'s figure manager.
"""

import math
from pathlib import Path

import numpy as np
from PIL import Image

from keras_mrigan.utils import atomic_path


def to_uint8(images):
    """Maps images in ``[-1, 1]`` to 8-bit gray levels (the inverse of the PNG scaling)."""
    images = np.asarray(images, dtype=np.float32)
    return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def image_grid(images, ncols=None, padding=2):
    """Tiles images into one 8-bit array.

    Args:
        images: array ``(N, H, W)`` or ``(N, H, W, 1)`` with values in ``[-1, 1]``.
        ncols: images per row; default: the smallest square that holds them all.
        padding: black pixels between tiles.

    Returns:
        uint8 array ``(rows * (H + padding) + padding, ncols * (W + padding) + padding)``.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(
            f"`images` must be a non-empty array (N, H, W) or (N, H, W, 1). "
            f"Received shape {images.shape}"
        )
    n, h, w = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.zeros((nrows * (h + padding) + padding, ncols * (w + padding) + padding), np.uint8)
    for i, tile in enumerate(to_uint8(images)):
        r, c = divmod(i, ncols)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y : y + h, x : x + w] = tile
    return grid


def pair_tiles(images, masks, num_classes):
    """Image and mask pairs as tiles to grid: each image followed by its mask, the mask's
    class ``k`` of ``num_classes`` drawn as the gray level ``k / (num_classes - 1)`` (class 0
    black, the last white).

    Args:
        images: ``(N, H, W[, 1])`` in ``[-1, 1]``.
        masks: class indices ``(N, H, W)``.
        num_classes: the number of mask classes K >= 2.

    Returns:
        float32 array ``(2N, H, W)`` in ``[-1, 1]``; with an even ``ncols``, ``image_grid``
        puts each pair side by side.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    masks = np.asarray(masks)
    if masks.shape != images.shape:
        raise ValueError(f"`masks` must be {images.shape} class indices, one per pixel. "
                         f"Received shape {masks.shape}")
    gray = masks.astype(np.float32) * (2.0 / (num_classes - 1)) - 1.0
    return np.stack([images, gray], axis=1).reshape(-1, *images.shape[1:])


def pair_grid_columns(n):
    """Columns of a grid of ``n`` pairs made by ``pair_tiles``: an even number, the pairs in
    about a square."""
    return 2 * math.ceil(math.sqrt(n / 2))


def save_image_grid(images, path, ncols=None, padding=2):
    """Writes images in ``[-1, 1]`` as one PNG grid (atomically) and returns its path."""
    path = Path(path)
    grid = image_grid(images, ncols=ncols, padding=padding)
    with atomic_path(path) as tmp:
        Image.fromarray(grid, mode="L").save(tmp, format="PNG")
    return path


def plot_history(history, path, title=None):
    """Draws the training curves of a GAN run as one PNG (written atomically).

    Args:
        history: mapping from metric name to its per-epoch values; ``d_loss``, ``g_loss`` and
            ``penalty`` go on the left panel, ``d_real`` and ``d_fake`` on the right one.
        path: PNG file to write.
        title: optional figure title.
    """
    path = Path(path)
    fig = new_figure(figsize=(10, 3.6), layout="constrained")
    losses, scores = fig.subplots(1, 2)
    for ax, names, label in (
        (losses, ("d_loss", "g_loss", "penalty"), "loss"),
        (scores, ("d_real", "d_fake"), "mean discriminator score"),
    ):
        for name in names:
            values = history.get(name)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:  # A panel whose metrics were not recorded has nothing to name.
            ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=100)


def plot_trial_grids(entries, path, ncols=4):
    """Draws sample-grid PNGs side by side with a caption each, into one PNG (atomically).

    Args:
        entries: ``[(png_path, caption), ...]``; missing files are drawn as blank panels.
        path: the PNG to write.
    """
    ncols = max(1, min(ncols, len(entries)))
    nrows = -(-len(entries) // ncols)
    fig = new_figure(figsize=(3.2 * ncols, 3.5 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (png, caption) in zip(axes.flat, entries, strict=False):
        if Path(png).exists():
            ax.imshow(np.asarray(Image.open(png).convert("L")), cmap="gray", vmin=0, vmax=255)
        ax.set_title(caption, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def save_panels(panels, path, size=(4.0, 4.3), fontsize=None):
    """Draws grayscale images side by side in one row, each under its title, and writes the
    PNG (as real slices beside generated ones in the benchmarks' pictures).

    Args:
        panels: ``(title, image)`` pairs, each image a 2-D array (e.g. from ``image_grid``).
        path: the PNG file.
        size: inches per panel, ``(width, height)``.
        fontsize: of the titles (default: matplotlib's).
    """
    figure = new_figure(figsize=(size[0] * len(panels), size[1]), layout="tight")
    for i, (title, image) in enumerate(panels):
        axis = figure.add_subplot(1, len(panels), i + 1)
        axis.imshow(image, cmap="gray")
        axis.set_title(title, fontsize=fontsize)
        axis.axis("off")
    return save_figure(figure, path, dpi=100)


def new_figure(**kwargs):
    """A matplotlib ``Figure`` with its own Agg canvas, outside ``pyplot``.

    Nothing global changes: no backend is selected and ``pyplot`` does not track the figure,
    so it is freed with its last reference (no ``close`` needed).

    Args:
        **kwargs: passed to ``matplotlib.figure.Figure`` (``figsize``, ``layout``, ...).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path, dpi=100):
    """Writes a figure as a PNG file (atomically) and returns its path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return path
