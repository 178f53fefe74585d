import numpy as np
import pytest
from PIL import Image

from keras_mrigan.plotting import (
    image_grid,
    pair_grid_columns,
    pair_tiles,
    save_image_grid,
    to_uint8,
)


def test_to_uint8_inverts_png_scaling():
    np.testing.assert_array_equal(to_uint8([-1.0, 0.0, 1.0, 2.0]), [0, 128, 255, 255])


def test_grid_layout():
    images = np.stack([np.full((4, 6), v, np.float32) for v in (-1.0, 1.0, 0.0)])
    grid = image_grid(images, ncols=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 7 + 1)
    assert grid[1, 1] == 0 and grid[1, 8] == 255 and grid[6, 1] == 128
    assert grid[6, 8] == 0  # The empty fourth tile stays black.


def test_save_is_atomic(tmp_path, monkeypatch):
    path = save_image_grid(np.full((4, 8, 8, 1), -1.0), tmp_path / "grid.png")
    assert Image.open(path).size == (2 * 10 + 2, 2 * 10 + 2)

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image_grid(np.ones((1, 8, 8)), tmp_path / "grid.png")
    # The earlier file is intact and no temporary file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]
    assert np.asarray(Image.open(tmp_path / "grid.png")).max() == 0


def test_bad_images():
    with pytest.raises(ValueError, match="non-empty array"):
        image_grid(np.zeros((0, 4, 4)))


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    path = save_image_grid(np.zeros((1, 4, 4)), tmp_path / "g.png")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def _backend_state():
    """matplotlib's configured backend (without resolving it) and whether pyplot is loaded."""
    import sys

    import matplotlib

    return dict.__getitem__(matplotlib.rcParams, "backend"), "matplotlib.pyplot" in sys.modules


def test_plot_history_draws_through_the_object_api(tmp_path):
    from keras_mrigan.plotting import plot_history

    before = _backend_state()
    history = {"d_loss": [1.0, 0.5, 0.25], "g_loss": [2.0, 1.0, 1.5], "d_real": [0.1, 0.2, 0.3],
               "d_fake": [-0.1, -0.2, -0.3]}
    path = plot_history(history, tmp_path / "curves.png", title="run")
    assert path == tmp_path / "curves.png"
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape == (360, 1000)  # figsize (10, 3.6) at 100 dpi.
    # Curves and axes are drawn on a white background.
    assert image.max() == 255 and (image < 128).mean() > 0.005
    assert _backend_state() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_plot_trial_grids_places_each_panel(tmp_path):
    from keras_mrigan.plotting import plot_trial_grids

    before = _backend_state()
    grids = [save_image_grid(np.full((1, 8, 8), v), tmp_path / f"{i}.png")
             for i, v in enumerate((-1.0, 1.0))]
    path = plot_trial_grids([(grids[0], "dark"), (grids[1], "bright"),
                             (tmp_path / "missing.png", "none")], tmp_path / "trials.png",
                            ncols=2)
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape == (700, 640)  # 2 x 2 panels of (3.2, 3.5) inches at 100 dpi.
    # Each panel's centre shows its grid's tile: dark, bright, and blank for a missing file.
    centres = [image[y - 10 : y + 10, x - 10 : x + 10] for y, x in
               ((175, 160), (175, 480), (525, 160), (525, 480))]
    assert centres[0].max() == 0
    assert centres[1].min() == 255
    assert centres[2].min() == 255 and centres[3].min() == 255
    assert image[:350, :320].mean() < image[:350, 320:].mean()
    assert _backend_state() == before


def test_new_figure_is_not_tracked_by_pyplot(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from keras_mrigan.plotting import new_figure, save_figure

    figure = new_figure(figsize=(2, 1))
    assert isinstance(figure.canvas, FigureCanvasAgg)
    figure.subplots().plot([0, 1], [0, 1])
    path = save_figure(figure, tmp_path / "f.png", dpi=50)
    assert Image.open(path).size == (100, 50)


def test_pairs_are_tiled_image_then_mask_side_by_side():
    images = np.full((3, 2, 2, 1), 0.5, np.float32)
    masks = np.array([[[0, 1], [2, 3]]] * 3)
    tiles = pair_tiles(images, masks, num_classes=4)
    assert tiles.shape == (6, 2, 2)
    np.testing.assert_allclose(tiles[0], 0.5)
    np.testing.assert_allclose(tiles[1], [[-1, -1 / 3], [1 / 3, 1]], atol=1e-6)
    assert [pair_grid_columns(n) for n in (1, 2, 8, 9, 36)] == [2, 2, 4, 6, 10]
    grid = image_grid(tiles, ncols=pair_grid_columns(3), padding=0)
    assert grid.shape == (4, 8)  # Two rows of two pairs: image, mask, image, mask.
    assert grid[0, :4].tolist() == [191, 191, 0, 85]
    with pytest.raises(ValueError, match=r"`masks` must be \(3, 2, 2\) class indices"):
        pair_tiles(images, masks[:, :1], 4)


def test_save_panels_draws_every_panel_side_by_side(tmp_path):
    from keras_mrigan.plotting import save_panels

    # Not constant, so that imshow's scaling keeps each panel's dark and light apart.
    dark, light = np.zeros((40, 40), np.uint8), np.full((40, 40), 255, np.uint8)
    dark[0, 0], light[0, 0] = 255, 0
    path = save_panels([("dark", dark), ("light", light), ("dark", dark)],
                       tmp_path / "panels.png", size=(2.0, 2.5))
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape == (250, 600)  # 100 dpi: 2.5 x (3 x 2.0) inches.
    # The centre of each third: black, white, black.
    centres = [image[110:150, i * 200 + 80:i * 200 + 120].mean() for i in range(3)]
    assert centres[1] > 250 and centres[0] < 5 and centres[2] < 5
    assert not list(tmp_path.glob(".*.tmp*"))
